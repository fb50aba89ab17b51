"""`newsum run --executor ray`: the model stages on the actors of a local Ray (4 logical
CPUs: two actors), same result as local, the models loaded once per actor for the run."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections import Counter
from pathlib import Path

import pytest

from newsum.models.options import GenerationOptions
from newsum.pipeline.core.errors import NewsumError
from newsum.pipeline.core.layout import CACHE_DIR
from newsum.pipeline.core.record import SKIPPED, Record
from newsum.pipeline.job.cache import cache_line
from newsum.pipeline.job.jobdir import OutDir
from newsum.pipeline.job.models import load_models
from newsum.pipeline.job.options import RunOptions
from newsum.pipeline.job.ray_executor import RayExecutor, _actors
from tests.fixtures import jobs
from tests.fixtures.jobs import NEWSUM, articles, invoke, shard_lines, write_jsonl

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.slow  # a Ray takes seconds to start, its actors to load models


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    """One Ray for the module (starting one takes seconds); the executor leaves it running.
    Four logical CPUs make two actors of two CPUs each: units really go to a pool."""
    ray.init(num_cpus=4, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    yield
    ray.shutdown()


ACTORS = 2


def manifest(outdir: Path) -> dict:
    return json.loads((outdir / "manifest.json").read_text())


def run_both(tmp_path: Path, source: Path, *args: str) -> tuple[Path, Path]:
    outdirs = []
    for executor in ("local", "ray"):
        out = tmp_path / executor
        result = invoke(source, "-o", out, "--executor", executor, *args)
        assert result.exit_code == 0, result.output
        outdirs.append(out)
    return outdirs[0], outdirs[1]


def test_ray_writes_what_the_local_executor_writes(tmp_path, tiny_models):
    rows = [
        *articles(30),
        {"id": "a0003", "text": "Un autre article sous le même identifiant, à sa place."},
        {"id": "vide", "text": ""},  # skipped and {"text": 42} an error: not sent to Ray
        {"id": "nombre", "text": 42},
        *articles(2),  # near-duplicates: flagged, and summarized all the same
    ]
    source = write_jsonl(tmp_path / "in.jsonl", rows)
    marian = tiny_models["marian"]
    local, on_ray = run_both(
        tmp_path, source, "--summarizer", marian, "--translator", marian,
        "--max-new-tokens", "6", "--max-input-tokens", "64", "--shard-size", "8",
        "--max-batch-size", "4", "-q",  # five shards of two model batches: units for each actor
    )  # fmt: skip
    lines = shard_lines(on_ray)
    repeated = {"a0003": "a0003~2", "a0000": "a0000~2", "a0001": "a0001~2"}  # unique ids
    expected_ids = [r["id"] for r in rows[:30]]
    expected_ids += [repeated[r["id"]] if r["id"] in repeated else r["id"] for r in rows[30:]]
    assert [json.loads(line)["id"] for line in lines] == expected_ids
    for path in sorted((local / "shards").iterdir()):
        assert (on_ray / "shards" / path.name).read_bytes() == path.read_bytes()
    assert (on_ray / "errors.jsonl").read_bytes() == (local / "errors.jsonl").read_bytes()
    manifests = [json.loads((out / "manifest.json").read_text()) for out in (local, on_ray)]
    warned = sum(1 for line in lines if json.loads(line).get("warnings"))
    expected = {"ok": 33, "skipped": 1, "error": 1, "warnings": warned}
    assert manifests[1]["counts"] == manifests[0]["counts"] == expected
    assert manifests[1]["shards"] == manifests[0]["shards"]
    assert manifests[1]["config"]["executor"] == "ray"
    # Each actor loaded the models once for all five shards, on its own process's CPU.
    workers = manifests[1]["workers"]
    assert len(manifests[1]["shards"]) == 5 and len(workers) == ACTORS
    assert manifests[1]["model_loads"] == ACTORS
    assert all(w["model_loads"] == 1 and w["device"] == "cpu" for w in workers)
    assert len({w["pid"] for w in workers} | {os.getpid()}) == ACTORS + 1
    ok = [json.loads(line) for line in lines if json.loads(line)["status"] == "ok"]
    assert all(r["summary"] and r["summary_en"] for r in ok)
    assert not (on_ray / CACHE_DIR).exists()


def test_extractive_summaries_on_ray(tmp_path):
    source = write_jsonl(tmp_path / "in.jsonl", articles(12))
    local, on_ray = run_both(
        tmp_path, source, "--summarizer", "lead-2", "--translator", "", "--shard-size", "6", "-q"
    )
    assert shard_lines(on_ray) == shard_lines(local)
    assert all(json.loads(line)["summary"] for line in shard_lines(on_ray))


def test_cached_units_are_not_generated_again(tmp_path):
    options = RunOptions(summarizer="lead-1", translator="", executor="ray")
    models = load_models(options)
    text = "Première phrase de l'article {}. Deuxième phrase."

    def shard():
        records = [Record(id=f"r{i}", text=text.format(i), lang="fr") for i in range(5)]
        return [*records, Record(id="dup", text="Déjà vu.").mark(SKIPPED, "near-duplicate")]

    folder = OutDir(tmp_path)
    (tmp_path / CACHE_DIR).mkdir()
    cache = folder.cache("part-00000")

    offered: list[int] = []

    def idle() -> bool:  # the driver's own work, offered while the actors generate
        offered.append(1)
        return False  # nothing to do: the executor then waits

    def process(records) -> tuple[Counter, list[int]]:
        reported: list[int] = []
        executor = RayExecutor(options, models, idle=idle)
        try:
            counts = executor.process_shard(
                folder, "part-00000", records, lambda _, n: reported.append(n)
            )
        finally:
            executor.close()
        assert ray.is_initialized()  # the executor did not start this Ray, so leaves it be
        return counts, reported

    # A unit (here the five `ok` records: an extractive model batches nothing) whose
    # outputs are all in the cache is restored, not generated.
    records = shard()
    for record in records[:5]:
        record.summary, record.chunks = f"Tirée du cache {record.id}.", 1
    cache.write_text("".join(cache_line(r, models.fingerprint) + "\n" for r in records[:5]))
    records = shard()
    counts, reported = process(records)
    assert [r.summary for r in records[:5]] == [f"Tirée du cache r{i}." for i in range(5)]
    assert records[-1].summary is None and counts == {"ok": 5, "skipped": 1}
    assert sum(reported) == len(records)
    assert len(cache.read_text(encoding="utf-8").splitlines()) == 5  # nothing appended

    # A unit the cache holds only in part is generated whole, as the first time.
    cache.write_text(cache.read_text(encoding="utf-8").splitlines()[1] + "\n")
    records = shard()
    counts, reported = process(records)
    assert [r.summary for r in records[:3]] == [
        "Première phrase de l'article 0.",
        "Première phrase de l'article 1.",
        "Première phrase de l'article 2.",
    ]
    assert sum(reported) == len(records)
    assert len(cache.read_text(encoding="utf-8").splitlines()) == 6  # 1 left + 5 generated
    assert offered  # the driver was offered its own work while the actors generated


def test_without_ray_the_error_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    source = write_jsonl(tmp_path / "in.jsonl", articles(2))
    args = ["--summarizer", "lead-3", "--translator", "", "--executor", "ray"]
    result = invoke(source, "-o", tmp_path / "out", *args)
    assert result.exit_code == 2
    assert "pip install 'newsum[ray]'" in result.stderr


def test_actors_one_per_gpu_or_per_two_cpus():
    neural = {"preset": "default", "summarizer": {"id": "m"}, "translator": {"id": "t"}}
    extractive = {"preset": "extractive", "summarizer": {"id": "lead-3", "kind": "extractive"}}
    auto = RunOptions(generation=GenerationOptions())
    cpu = RunOptions(generation=GenerationOptions(device="cpu"))
    cuda = RunOptions(generation=GenerationOptions(device="cuda"))
    cluster = {"CPU": 16.0, "GPU": 4.0}

    def models(info):
        return type("M", (), {"info": info})()

    assert _actors(auto, models(neural), cluster) == (4, {"num_gpus": 1})
    assert _actors(cpu, models(neural), cluster) == (8, {"num_gpus": 0, "num_cpus": 2})
    assert _actors(auto, models(extractive), cluster) == (8, {"num_gpus": 0, "num_cpus": 2})
    assert _actors(auto, models(neural), {"CPU": 2.0}) == (1, {"num_gpus": 0, "num_cpus": 2})
    with pytest.raises(NewsumError, match="no GPU"):
        _actors(cuda, models(neural), {"CPU": 2.0})


def test_a_ray_failure_names_the_shard(tmp_path):
    options = RunOptions(summarizer="lead-1", translator="", executor="ray")
    models = load_models(options)
    records = [Record(id=f"r{i}", text=f"Phrase {i}. Autre phrase.", lang="fr") for i in range(3)]
    folder = OutDir(tmp_path)
    (tmp_path / CACHE_DIR).mkdir()
    executor = RayExecutor(options, models)
    try:
        for actor in executor.actors:
            ray.kill(actor)
        with pytest.raises(
            NewsumError, match="Ray could not run the model stages of shard part-00007"
        ):
            executor.process_shard(folder, "part-00007", records, lambda _, n: None)
    finally:
        executor.close()
    assert ray.is_initialized()


def test_kill_9_of_a_ray_run_then_resume_gives_the_uninterrupted_result(tmp_path, tiny_models):
    rows = articles(120)
    source = write_jsonl(tmp_path / "in.jsonl", rows)
    marian = tiny_models["marian"]
    args = ["--summarizer", marian, "--translator", marian, "--max-new-tokens", "8",
            "--max-input-tokens", "64", "--max-batch-size", "4", "--shard-size", "10",
            "-q"]  # fmt: skip
    reference = tmp_path / "reference"
    assert invoke(source, "-o", reference, *args).exit_code == 0

    # The killed run is a driver of its own on this module's Ray; its actors die with it.
    killed = tmp_path / "killed"
    address = ray.get_runtime_context().gcs_address
    command = [*NEWSUM, "run", str(source), "-o", str(killed), *args]
    command += ["--executor", "ray", "--ray-address", address]
    jobs.kill_9_when(command, lambda: jobs.shards_done(killed) >= 2)
    assert 2 <= jobs.shards_done(killed) < 12, "the kill must land mid-run"

    resumed = invoke(source, "-o", killed, *args, "--executor", "ray", "--resume")
    assert resumed.exit_code == 0, resumed.output
    assert shard_lines(killed) == shard_lines(reference)  # identical to the uninterrupted run
    resumed_manifest = manifest(killed)
    assert resumed_manifest["status"] == "complete" and len(resumed_manifest["resumed"]) == 1
    assert resumed_manifest["model_loads"] == ACTORS  # this run's loads: once per actor
    assert not list((killed / "shards").glob(".*"))  # no temporary file left
