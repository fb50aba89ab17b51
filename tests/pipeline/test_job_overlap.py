"""The local executor keeps the device busy: CPU work overlaps the device's batches, and
every guarantee of the sequential job holds (pipeline.job.executor)."""

from __future__ import annotations

import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from newsum.models.engine import TURNS
from newsum.models.options import GenerationOptions
from newsum.models.stages import Stage
from newsum.pipeline.core.errors import NewsumError
from newsum.pipeline.core.record import Record
from newsum.pipeline.core.step import Step
from newsum.pipeline.job.executor import IN_FLIGHT, LocalExecutor
from newsum.pipeline.job.models import Models
from newsum.pipeline.job.options import RunOptions
from newsum.pipeline.job.run import Interrupted, run
from tests.fixtures.jobs import articles, shard_lines, write_jsonl

sys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks"))
import bench_device
from bench_clean import write_corpus

ARMS = {"sequential": 1, "overlapped": IN_FLIGHT}


def options(source: Path, out: Path, tiny_models=None, **extra) -> RunOptions:
    models = {}
    if tiny_models is not None:
        generation = GenerationOptions(max_new_tokens=6, max_input_tokens=64, max_batch_size=4)
        models = dict(summarizer=tiny_models["marian"], translator=tiny_models["marian"],
                      generation=generation)  # fmt: skip
    return RunOptions(inputs=(str(source),), output=str(out), **models, **extra)


def shard_files(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((out / "shards").iterdir())}


@pytest.mark.slow
def test_overlapped_shards_are_byte_identical_with_tiny_models(tmp_path, tiny_models):
    source = write_jsonl(tmp_path / "in.jsonl", articles(30))
    written = {}
    for arm, in_flight in ARMS.items():
        opts = options(source, tmp_path / arm, tiny_models, shard_size=12)
        manifest = run(opts, in_flight=in_flight)
        assert manifest["status"] == "complete" and manifest["counts"]["ok"] == 30
        written[arm] = shard_files(tmp_path / arm)
    assert list(written["overlapped"]) == ["part-00000.jsonl", "part-00001.jsonl",
                                           "part-00002.jsonl"]  # fmt: skip
    assert written["overlapped"] == written["sequential"]


def test_the_simulated_device_runs_one_batch_at_a_time_while_the_cpu_works(tmp_path, tiny_models):
    source = tmp_path / "in.jsonl"
    write_corpus(source, 16)
    folders = {"t5": Path(tiny_models["t5"]), "marian": Path(tiny_models["marian"])}
    busy = bench_device.Busy()
    models = bench_device.simulated_models(folders, busy, batch=4, latency_s=0.05, step_s=0)
    encodes: list[tuple[float, float]] = []
    engine = models.engines()[0]
    plain = engine.encode

    def timed_encode(texts, special=True):  # when each encoding ran, on which thread
        start = time.perf_counter()
        try:
            return plain(texts, special)
        finally:
            encodes.append((start, time.perf_counter()))

    engine.encode = timed_encode
    results = {}
    for arm, in_flight in ARMS.items():
        encodes.clear()
        results[arm] = bench_device.run_job(source, tmp_path / arm, models, busy, in_flight, 8)
        assert results[arm]["most_batches_at_once"] == 1
        overlapped = [(a, b) for a, b in encodes for s, e in busy.intervals if s < a and b < e]
        # Sequential: no encoding while a batch is on the device; overlapped: some are.
        assert bool(overlapped) == (in_flight > 1), arm
    assert bench_device.shards_identical(tmp_path / "sequential", tmp_path / "overlapped")
    assert results["overlapped"]["batches"] == results["sequential"]["batches"]


class Boom(Step):
    """Fails the whole unit that holds record `bad`, as no per-record error can."""

    name = "boom"

    def __init__(self, bad: str) -> None:
        super().__init__()
        self.bad = bad

    def __call__(self, records):
        records = list(records)
        if any(r.id == self.bad for r in records):
            raise NewsumError(f"the device fell over on {self.bad}")
        time.sleep(0.01)
        for record in records:
            record.summary = record.text[:10]
        yield from records


def boom_models(bad: str) -> Models:
    return Models([Stage(Boom(bad), None, {"id": "boom"})], {}, fingerprint="boom")


def test_an_exception_in_a_worker_is_the_same_error_and_nothing_hangs(tmp_path):
    units = [[Record(f"r{i}-{j}", text=f"texte {i} {j}") for j in range(3)] for i in range(12)]
    errors = {}
    for arm, in_flight in ARMS.items():
        executor = LocalExecutor(RunOptions(), boom_models("r5-1"), in_flight=in_flight)
        with ThreadPoolExecutor(1) as pool:  # a hang fails the test instead of blocking it
            future = pool.submit(lambda e=executor: list(e.generate("part-00000", iter(units))))
            with pytest.raises(NewsumError) as caught:
                future.result(timeout=60)
        errors[arm] = str(caught.value)
    assert errors["overlapped"] == errors["sequential"] == "the device fell over on r5-1"
    # No worker is left holding a turn: the next user gets both at once.
    assert TURNS._cpu.acquire(timeout=5)
    TURNS._cpu.release()


def test_the_job_ends_with_the_workers_error_as_the_sequential_one_does(tmp_path):
    source = write_jsonl(tmp_path / "in.jsonl", articles(30))
    messages = []
    for arm, in_flight in ARMS.items():
        opts = options(source, tmp_path / arm, shard_size=10)
        with pytest.raises(NewsumError) as caught:
            run(opts, models=boom_models("a0013"), in_flight=in_flight)
        messages.append(str(caught.value))
        # The shard before the failing one is complete; the failing one is not.
        assert sorted(p.name for p in (tmp_path / arm / "shards").iterdir()) == ["part-00000.jsonl"]
    assert messages == ["the device fell over on a0013"] * 2


def test_workers_stop_after_their_unit_when_the_run_stops(tmp_path):
    units = [[Record(f"r{i}", text="texte")] for i in range(40)]

    def workers() -> set[threading.Thread]:  # the executor's threads (not other tests')
        return {t for t in threading.enumerate() if t.name.startswith("newsum-unit-")}

    before = workers()  # threads of earlier tests, which may still be ending
    executor = LocalExecutor(RunOptions(), boom_models("none"), in_flight=3)
    stream = executor.generate("part-00000", iter(units))
    next(stream)
    assert len(workers() - before) == 3
    stream.close()  # the run's thread stops (Ctrl-C, or an error of its own)
    deadline = time.time() + 10
    while workers() - before and time.time() < deadline:
        time.sleep(0.01)
    assert not workers() - before


@pytest.mark.slow
def test_ctrl_c_mid_shard_keeps_the_finished_units_and_resumes_to_the_same_bytes(
    tmp_path, tiny_models
):
    source = write_jsonl(tmp_path / "in.jsonl", articles(40))
    reference = tmp_path / "reference"
    run(options(source, reference, tiny_models, shard_size=40), in_flight=1)
    out = tmp_path / "out"
    generated = 0

    def progress(stage: str, n: int) -> None:  # Ctrl-C once three units are saved
        nonlocal generated
        if stage == "generated":
            generated += n
            if generated >= 12:
                raise KeyboardInterrupt

    with pytest.raises(Interrupted):
        run(options(source, out, tiny_models, shard_size=40), progress=progress)
    cache = (out / ".cache/part-00000.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(cache) >= 12 and not (out / "shards/part-00000.jsonl").exists()
    manifest = run(options(source, out, tiny_models, shard_size=40), resume=True)
    assert manifest["status"] == "complete"
    assert shard_lines(out) == shard_lines(reference)
