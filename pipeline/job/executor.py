"""Executors: the model stages over a shard. The shard loop is written once, here.

`Executor.generate_shard` decides which records are generated (a near-duplicate may take
its original's outputs) and `process_shard` is the loop: it cuts the shard into units of
work (pipeline.job.cache.work_units, one model batch each), restores those the cache
holds, hands the others to `generate`, and puts each unit's outputs on the shard's
records, caches and reports it as it arrives, in whatever order units finish. The units
are planned lazily, as `generate` draws them, so the first can start before the whole
shard is planned.

Executors differ only in `generate`, where a batch of model work runs:

- LocalExecutor: in this process, through the stages the driver loaded.
- RayExecutor (pipeline.job.ray_executor): on a pool of Ray actors that live for the
  whole run.

While it waits for the models, an executor may call `idle()`, the driver's work that can
go on meanwhile (the run cleans the next shard there); `idle()` returns False when it has
nothing left to do.

The local executor keeps an accelerator busy (`in_flight` > 1, the default off the CPU:
see pipeline.job.run.run): the CPU work of the job runs while the device generates, not
between its batches. On the CPU the models already use every core, so units run one
after the other.

- `in_flight` worker threads each run a whole unit through the model stages. They take
  turns (models.engine.TURNS): one batch on the device at a time, and one thread at a
  time doing the stages' CPU work (splitting, chunking, tokenizing, decoding), handed
  over while its holder is on the device. So while unit k is in `backend.generate`,
  unit k+1 is tokenized and waits at the device, and unit k-1 is decoded. torch and
  CTranslate2 release the GIL while they generate, so on a GPU the threads overlap; the
  turns keep the stages' state (a tokenizer's source language, pending results) as safe
  as in one thread, and each unit's batches, hence its bytes, the same as in sequence.
- This thread (the run's) draws and plans the units (under the CPU turn: it tokenizes),
  restores what the cache holds, hands at most `in_flight` units to the workers, and as
  each comes back puts its outputs on the records, caches it (appended and fsync'ed)
  and reports it: it does not wait for the device to save. When nothing is back yet it
  cleans the next shard (`idle()`), a record at a time; then it waits.
- The shard file is written when all its units are back, in record order, as before:
  the shards are byte-identical to a sequential run. A kill -9 loses at most the units
  in flight; a resume restores every unit cached.
- An exception in a worker ends the shard with that same exception, raised here once the
  unit comes back; the other workers stop after their unit. Ctrl-C reaches this thread,
  which stops at once: the workers are daemon threads that take no new unit, and what
  they finish is not saved (a resume redoes it).

`in_flight=1` is the sequential executor: each unit runs in this thread, one after the
other, with no cleaning ahead (what benchmarks/bench_device.py compares against).

`workers()` says how the models ran, for the manifest: one entry per copy of the model
stages that generated (its device and how many times it loaded them).
"""

from __future__ import annotations

import queue
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from newsum.models.engine import TURNS
from newsum.pipeline.core.record import Record
from newsum.pipeline.core.step import chain
from newsum.pipeline.core.writers import Tally

from .cache import ShardCache, model_outputs, work_units
from .jobdir import OutDir
from .models import Models
from .options import RunOptions

Report = Callable[[str, int], None]  # progress: (stage, records done)
Outputs = list[dict[str, Any]]  # model_outputs() of each record of a unit, in order

#: Units the local executor runs at once: one on the device, one being tokenized or
#: decoded, one ready behind them (a kill -9 loses at most these).
IN_FLIGHT = 3


class Executor(ABC):
    """Runs the model stages over shards: the shard loop, for every executor."""

    def __init__(
        self, options: RunOptions, models: Models, idle: Callable[[], bool] | None = None
    ) -> None:
        self.models = models
        self.reuse_duplicates = options.reuse_duplicates
        self.idle = idle or (lambda: False)

    @abstractmethod
    def generate(self, name: str, units: Iterable[list[Record]]) -> Iterator[tuple[int, Outputs]]:
        """(index in `units`, its outputs) for every unit of shard `name`, in any order.
        `units` are planned as they are drawn: draw them under the CPU turn."""

    def workers(self) -> list[dict[str, Any]]:
        """Each copy of the model stages that generated: its device and how many loads."""
        return [{"device": self.models.device, "model_loads": 1}]  # the driver's own

    def describe(self) -> dict[str, Any]:
        """What the manifest keeps of how the models ran. `model_loads` counts the loads of
        the copies that generate: not the Ray driver's, which only plans the units."""
        workers = self.workers()
        out = {"model_loads": sum(w["model_loads"] for w in workers), "workers": workers}
        # Copies of weights the driver's stages hold: 1 when an LLM both summarizes and
        # translates (the stages share its backend).
        out["weights_loaded"] = len({id(engine.backend) for engine in self.models.engines()})
        usage = self.models.usage()  # requests to a server, one-call fallbacks
        if usage:
            out["usage"] = usage
        return out

    def close(self) -> None:  # noqa: B027 (most executors hold nothing to let go of)
        """Let go of what the executor holds (Ray actors); called once the run ends."""

    def generate_shard(
        self, folder: OutDir, name: str, records: list[Record], report: Report
    ) -> int:
        """Run the model stages over a shard; returns how many records reused a
        near-duplicate's outputs instead of being generated.

        A near-duplicate (`duplicate_of`) whose original is in the same shard and came out
        `ok` takes the original's summary and translation, with a `reused` warning. Only in
        the same shard: every run of the job (whole, resumed, a slice of a job array, on
        Ray) then decides alike, and nothing is held beyond the shard. A duplicate whose
        original did not come out ok is generated after all."""
        originals = {}
        if self.reuse_duplicates and self.models.engines():
            first = {}
            for record in records:
                original = first.get(record.duplicate_of) if record.ok else None
                if original is not None and original.ok:
                    # A copy of a copy takes the outputs of the first, which is generated.
                    originals[id(record)] = originals.get(id(original), original)
                first.setdefault(record.id, record)
        self.process_shard(folder, name, [r for r in records if id(r) not in originals], report)
        retry = []
        for record in records:
            original = originals.get(id(record))
            if original is None:
                continue
            if not original.ok:
                retry.append(record)
                continue
            _reuse(record, original)
        report("generated", len(originals) - len(retry))
        if retry:
            self.process_shard(folder, name, retry, report)
        return len(originals) - len(retry)

    def process_shard(
        self, folder: OutDir, name: str, records: list[Record], report: Report
    ) -> Tally:
        """The model stages over `records`, unit by unit, each cached as soon as it is done."""
        cache = ShardCache.open(folder, name, self.models.fingerprint)
        report("generated", sum(1 for r in records if not r.ok))
        units: list[list[Record]] = []  # those handed to generate(), as it draws them

        def todo() -> Iterator[list[Record]]:
            for unit in work_units(records, self.models):
                if cache.restore(unit):
                    report("generated", len(unit))
                else:
                    units.append(unit)
                    yield unit

        try:
            for index, outputs in self.generate(name, todo()):
                unit = units[index]
                for record, values in zip(unit, outputs, strict=True):
                    for field_name, value in values.items():
                        setattr(record, field_name, value)
                cache.save(unit)
                report("generated", len(unit))
        finally:
            cache.close()
        return tally(records)


class LocalExecutor(Executor):
    """The model stages in this process: `in_flight` units at a time on worker threads
    that take turns at the device, or one after the other in this thread (1)."""

    def __init__(
        self,
        options: RunOptions,
        models: Models,
        idle: Callable[[], bool] | None = None,
        in_flight: int = IN_FLIGHT,
    ) -> None:
        super().__init__(options, models, idle)
        self.in_flight = max(1, in_flight)

    def generate(self, name: str, units: Iterable[list[Record]]) -> Iterator[tuple[int, Outputs]]:
        if self.in_flight == 1:
            for index, unit in enumerate(units):
                yield index, run_unit(self.models, unit)
            return
        todo: queue.SimpleQueue = queue.SimpleQueue()  # (index, unit), None: stop
        done: queue.SimpleQueue = queue.SimpleQueue()  # (index, outputs, exception)
        stop = threading.Event()
        workers = [
            threading.Thread(
                target=self._work, args=(todo, done, stop), name=f"newsum-unit-{n}", daemon=True
            )
            for n in range(self.in_flight)
        ]
        for worker in workers:
            worker.start()
        drawn = iter(units)
        index = running = 0
        more = True
        try:
            while True:
                while more and running < self.in_flight:
                    with TURNS.cpu():  # planning tokenizes
                        unit = next(drawn, None)
                    if unit is None:
                        more = False
                    else:
                        todo.put((index, unit))
                        index, running = index + 1, running + 1
                if not running:
                    return
                unit_index, outputs, error = self._next_done(done)
                running -= 1
                if error is not None:
                    raise error
                yield unit_index, outputs
        finally:
            stop.set()  # the workers take no new unit; none is waited for
            for _ in workers:
                todo.put(None)

    def _next_done(self, done: queue.SimpleQueue) -> tuple:
        """The next unit back; meanwhile the driver's idle work (cleaning ahead)."""
        while True:
            try:
                return done.get_nowait()
            except queue.Empty:
                pass
            if self.idle():
                continue
            try:
                return done.get(timeout=0.5)  # a timeout: Ctrl-C is seen while waiting
            except queue.Empty:
                continue

    def _work(self, todo: queue.SimpleQueue, done: queue.SimpleQueue, stop) -> None:
        while (item := todo.get()) is not None and not stop.is_set():
            index, unit = item
            try:
                with TURNS.cpu():
                    outputs = run_unit(self.models, unit)
            except BaseException as exc:  # raised again by the run's thread
                done.put((index, None, exc))
                return
            done.put((index, outputs, None))


def run_unit(models: Models, unit: list[Record]) -> Outputs:
    """One unit of work through the model stages; the outputs of its records."""
    for _ in chain(unit, models.steps):
        pass
    return [model_outputs(record) for record in unit]


def _reuse(record: Record, original: Record) -> None:
    for field_name in ("summary", "chunks", "summary_en", "text_en"):
        setattr(record, field_name, getattr(original, field_name))
    record.warnings.extend(
        w for w in original.warnings if not (isinstance(w, dict) and w.get("code") == "reused")
    )
    record.warn(
        "reused",
        f"summary and translation reused from {original.id!r}, of which this article is "
        "a near-duplicate (--no-reuse-duplicates generates them anew)",
    )


def tally(records: Iterable[Record]) -> Tally:
    counts = Tally()
    for record in records:
        counts.add(record)
    return counts
