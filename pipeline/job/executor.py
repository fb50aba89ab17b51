"""Executors: the model stages over a shard. The shard loop is written once, here.

`Executor.generate_shard` decides which records are generated (a near-duplicate may take
its original's outputs) and `process_shard` is the loop: it cuts the shard into units of
work (pipeline.job.cache.work_units, one model batch each), restores those the cache
holds, hands the others to `generate`, and puts each unit's outputs on the shard's
records, caches and reports it as it arrives, in whatever order units finish.

Executors differ only in `generate`, where a batch of model work runs:

- LocalExecutor: in this process, through the stages the driver loaded, one unit after
  the other.
- RayExecutor (pipeline.job.ray_executor): on a pool of Ray actors that live for the
  whole run.

While it waits for the models, an executor may call `idle()`, the driver's work that can
go on meanwhile (the run cleans the next shard there); `idle()` returns False when it has
nothing left to do. The local executor never waits, so never calls it.

`workers()` says how the models ran, for the manifest: one entry per copy of the model
stages that generated (its device and how many times it loaded them).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from newsum.pipeline.core.record import Record
from newsum.pipeline.core.step import chain
from newsum.pipeline.core.writers import Tally

from .cache import ShardCache, model_outputs, work_units
from .jobdir import OutDir
from .models import Models
from .options import RunOptions

Report = Callable[[str, int], None]  # progress: (stage, records done)
Outputs = list[dict[str, Any]]  # model_outputs() of each record of a unit, in order


class Executor(ABC):
    """Runs the model stages over shards: the shard loop, for every executor."""

    def __init__(
        self, options: RunOptions, models: Models, idle: Callable[[], bool] | None = None
    ) -> None:
        self.models = models
        self.reuse_duplicates = options.reuse_duplicates
        self.idle = idle or (lambda: False)

    @abstractmethod
    def generate(self, name: str, units: list[list[Record]]) -> Iterator[tuple[int, Outputs]]:
        """(index in `units`, its outputs) for every unit of shard `name`, in any order."""

    def workers(self) -> list[dict[str, Any]]:
        """Each copy of the model stages that generated: its device and how many loads."""
        return [{"device": self.models.device, "model_loads": 1}]  # the driver's own

    def describe(self) -> dict[str, Any]:
        """What the manifest keeps of how the models ran. `model_loads` counts the loads of
        the copies that generate: not the Ray driver's, which only plans the units."""
        workers = self.workers()
        return {"model_loads": sum(w["model_loads"] for w in workers), "workers": workers}

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
        try:
            units = []
            for unit in work_units(records, self.models):
                if cache.restore(unit):
                    report("generated", len(unit))
                else:
                    units.append(unit)
            for index, outputs in self.generate(name, units):
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
    """The model stages in this process, a unit after the other."""

    def generate(self, name: str, units: list[list[Record]]) -> Iterator[tuple[int, Outputs]]:
        for index, unit in enumerate(units):
            yield index, run_unit(self.models, unit)


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
