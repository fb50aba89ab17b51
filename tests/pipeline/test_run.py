"""`newsum run`: the batch job end to end, shards, manifest, resume after kill -9."""

from __future__ import annotations

import json
import signal
import subprocess
import time

import pytest
from typer.testing import CliRunner

from newsum.pipeline.cli import app
from tests.fixtures.jobs import (
    NEWSUM,
    articles,
    invoke,
    kill_9_when,
    shard_lines,
    shards_done,
    write_jsonl,
)


@pytest.fixture
def models_args(tiny_models):
    return [
        "--summarizer",
        tiny_models["marian"],
        "--translator",
        tiny_models["marian"],
        "--max-new-tokens",
        "6",
        "--max-input-tokens",
        "64",
        "-q",
    ]


def test_run_writes_shards_manifest_and_errors(tmp_path, models_args):
    rows = [*articles(25), {"id": "vide", "text": ""}, {"id": "nombre", "text": 42}]
    source = write_jsonl(tmp_path / "in.jsonl", rows)
    out = tmp_path / "out"
    result = invoke(source, "-o", out, "--shard-size", "10", *models_args)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (out / "shards").iterdir()) == [
        "part-00000.jsonl",
        "part-00001.jsonl",
        "part-00002.jsonl",
    ]
    records = [json.loads(line) for line in shard_lines(out)]
    assert [r["id"] for r in records] == [r["id"] for r in rows]  # order kept, none lost
    ok = [r for r in records if r["status"] == "ok"]
    assert len(ok) == 25 and all(r["summary"] and r["summary_en"] for r in ok)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    warned = sum(1 for r in records if r.get("warnings"))
    assert manifest["counts"] == {"ok": 25, "skipped": 1, "error": 1, "warnings": warned}
    assert set(manifest["shards"]) == {"part-00000", "part-00001", "part-00002"}
    assert manifest["models"]["summarizer"]["id"] == models_args[1]
    assert "torch" in manifest["libraries"] and manifest["started"] and manifest["ended"]
    # The models were loaded once, in this process, and ran on its CPU.
    assert manifest["model_loads"] == 1
    assert manifest["workers"] == [{"device": "cpu", "model_loads": 1}]
    errors = [json.loads(line) for line in (out / "errors.jsonl").read_text().splitlines()]
    assert [(e["id"], e["stage"]) for e in errors] == [("nombre", "input")]
    assert "not a string" in errors[0]["reason"]


def test_a_non_empty_outdir_needs_resume_or_overwrite(tmp_path):
    source = write_jsonl(tmp_path / "in.jsonl", articles(3))
    out = tmp_path / "out"
    assert (
        invoke(source, "-o", out, "--summarizer", "lead-3", "--translator", "", "-q").exit_code == 0
    )
    again = invoke(source, "-o", out, "--summarizer", "lead-3", "--translator", "")
    assert again.exit_code == 2 and "--resume" in again.stderr and "--overwrite" in again.stderr
    assert (
        invoke(
            source, "-o", out, "--summarizer", "lead-3", "--translator", "", "--overwrite", "-q"
        ).exit_code
        == 0
    )


def test_config_file_and_flag_precedence(tmp_path):
    config = tmp_path / "job.toml"
    config.write_text(
        'preset = "extractive"\nshard_size = 7\n[generation]\nnum_beams = 3\n'
        "[clean]\ndedup = false\n"
    )
    result = invoke(
        "in.jsonl", "-o", "o", "--config", config, "--shard-size", "9", "--print-config"
    )
    assert result.exit_code == 0, result.output
    printed = result.stdout
    assert "shard_size = 9" in printed  # the flag wins
    assert 'preset = "extractive"' in printed and "num_beams = 3" in printed
    assert "dedup = false" in printed
    # what --print-config prints is a config file that gives the same config back
    (tmp_path / "printed.toml").write_text(printed)
    again = invoke("--config", tmp_path / "printed.toml", "--print-config")
    assert again.exit_code == 0 and again.stdout == printed
    bad = tmp_path / "bad.toml"
    bad.write_text("shard_sise = 3\n")
    result = invoke("in.jsonl", "-o", "o", "--config", bad)
    assert result.exit_code == 2 and "shard_sise" in result.stderr


def test_resuming_another_job_is_refused_with_what_changed(tmp_path):
    source = write_jsonl(tmp_path / "in.jsonl", articles(12))
    out = tmp_path / "out"
    lead3 = ["--summarizer", "lead-3", "--translator", ""]
    assert invoke(source, "-o", out, *lead3, "-q").exit_code == 0
    before = shard_lines(out)
    changes = {
        "models.summarizer.id": ["--summarizer", "lead-1", "--translator", ""],
        "shard_size": [*lead3, "--shard-size", "5"],
        "clean.dedup": [*lead3, "--no-dedup"],
        "generation.num_beams": [*lead3, "--num-beams", "2"],
    }
    for named, args in changes.items():
        result = invoke(source, "-o", out, *args, "--resume")
        assert result.exit_code == 2, named
        assert "another job" in result.stderr and named in result.stderr
        assert "--overwrite" in result.stderr
        assert shard_lines(out) == before  # nothing mixed in
    # Starting again with the other summarizer redoes everything with it.
    result = invoke(source, "-o", out, "--summarizer", "lead-1", "--translator", "", "--overwrite")
    assert result.exit_code == 0, result.output
    summaries = [json.loads(line)["summary"] for line in shard_lines(out)]
    assert summaries != [json.loads(line)["summary"] for line in before]
    assert all(s.count(".") == 1 for s in summaries)


def test_shards_of_a_job_array_merge_into_the_single_run(tmp_path):
    source = write_jsonl(tmp_path / "in.jsonl", articles(30) + articles(3))  # 3 duplicates
    common = ["--summarizer", "lead-2", "--translator", "", "--shard-size", "5", "-q"]
    single, array = tmp_path / "single", tmp_path / "array"
    assert invoke(source, "-o", single, *common).exit_code == 0
    for i in range(3):
        result = invoke(source, "-o", array, "--shard", f"{i}/3", *common, "--resume")
        assert result.exit_code == 0, result.output
    assert not (array / "manifest.json").exists()
    merged = CliRunner().invoke(app, ["merge", str(array), "-q"])
    assert merged.exit_code == 0, merged.output
    assert shard_lines(array) == shard_lines(single)  # duplicates flagged the same way too
    manifest = json.loads((array / "manifest.json").read_text())
    assert manifest["counts"] == json.loads((single / "manifest.json").read_text())["counts"]
    assert manifest["model_loads"] == len(manifest["workers"]) == 3  # one load a slice


def test_merge_refuses_an_incomplete_array(tmp_path):
    source = write_jsonl(tmp_path / "in.jsonl", articles(10))
    args = ["--summarizer", "lead-2", "--translator", "", "--shard-size", "5", "-q"]
    assert invoke(source, "-o", tmp_path / "a", "--shard", "0/2", *args).exit_code == 0
    result = CliRunner().invoke(app, ["merge", str(tmp_path / "a")])
    assert result.exit_code == 2 and "1/2" in result.stderr


@pytest.mark.slow
def test_kill_9_then_resume_gives_the_uninterrupted_result(tmp_path, tiny_models):
    rows = articles(320)
    source = write_jsonl(tmp_path / "in.jsonl", rows)
    args = [
        str(source),
        "--summarizer",
        tiny_models["marian"],
        "--translator",
        tiny_models["marian"],
        "--max-new-tokens",
        "8",
        "--max-input-tokens",
        "64",
        "--shard-size",
        "20",
        "-q",
    ]
    reference = tmp_path / "reference"
    subprocess.run([*NEWSUM, "run", *args, "-o", str(reference)], check=True, timeout=600)

    killed = tmp_path / "killed"
    kill_9_when([*NEWSUM, "run", *args, "-o", str(killed)], lambda: shards_done(killed) >= 3)
    assert 3 <= shards_done(killed) < 16, "the kill must land mid-run"

    resumed = subprocess.run([*NEWSUM, "run", *args, "-o", str(killed), "--resume"], timeout=600)
    assert resumed.returncode == 0
    lines = shard_lines(killed)
    ids = [json.loads(line)["id"] for line in lines]
    assert ids == [r["id"] for r in rows]  # every id exactly once, in order
    assert lines == shard_lines(reference)  # identical to the uninterrupted run
    manifest = json.loads((killed / "manifest.json").read_text())
    assert manifest["status"] == "complete" and len(manifest["resumed"]) == 1
    assert not list((killed / "shards").glob(".*"))  # no temporary file left


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_and_says_how_to_resume(tmp_path, tiny_models):
    source = write_jsonl(tmp_path / "in.jsonl", articles(200))
    out = tmp_path / "out"
    args = [
        *NEWSUM,
        "run",
        str(source),
        "-o",
        str(out),
        "--summarizer",
        tiny_models["marian"],
        "--translator",
        "",
        "--max-new-tokens",
        "8",
        "--shard-size",
        "20",
    ]
    proc = subprocess.Popen(args, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    while time.time() < deadline and len(list((out / "shards").glob("part-*.jsonl"))) < 2:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    stderr = proc.communicate(timeout=120)[1]
    assert proc.returncode == 130
    assert "--resume" in stderr and "--translator ''" in stderr and "Traceback" not in stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "interrupted" and len(manifest["shards"]) >= 2
    resumed = subprocess.run([*args, "--resume", "-q"], timeout=600)
    assert resumed.returncode == 0
    assert [json.loads(line)["id"] for line in shard_lines(out)] == [
        f"a{i:04d}" for i in range(200)
    ]


def test_wire_copies_reuse_the_original_summary_in_their_shard(tmp_path, models_args):
    rows = articles(12)
    copy = dict(rows[2], id="copie-a0002")  # the same dispatch on another site
    copy["text"] = rows[2]["text"] + " Source : AFP."
    late = dict(rows[1], id="copie-a0001")  # a copy that lands in the next shard
    rows = [*rows[:6], copy, *rows[6:], late]
    source = write_jsonl(tmp_path / "in.jsonl", rows)
    out, fresh = tmp_path / "out", tmp_path / "fresh"
    assert invoke(source, "-o", out, "--shard-size", "8", *models_args).exit_code == 0
    args = ["--shard-size", "8", "--no-reuse-duplicates", *models_args]
    assert invoke(source, "-o", fresh, *args).exit_code == 0
    records = {r["id"]: r for r in map(json.loads, shard_lines(out))}
    assert records["copie-a0002"]["duplicate_of"] == "a0002"
    for field in ("summary", "summary_en", "chunks"):
        assert records["copie-a0002"][field] == records["a0002"][field]
    assert [w["code"] for w in records["copie-a0002"]["warnings"]][-1] == "reused"
    # Across shards a copy is generated: each shard decides alone, so slices and resumes agree.
    assert records["copie-a0001"]["duplicate_of"] == "a0001"
    assert "reused" not in [w["code"] for w in records["copie-a0001"].get("warnings", [])]
    reused = [r for r in records.values() if "reused" in [w["code"] for w in r.get("warnings", [])]]
    assert json.loads((out / "manifest.json").read_text())["reused"] == len(reused)
    # Without reuse the same records, each generated: no reused warning, nothing counted.
    generated = {r["id"]: r for r in map(json.loads, shard_lines(fresh))}
    assert set(generated) == set(records)
    assert not any(w["code"] == "reused" for r in generated.values() for w in r.get("warnings", []))
    assert json.loads((fresh / "manifest.json").read_text())["reused"] == 0
    assert generated["a0002"] == records["a0002"]
