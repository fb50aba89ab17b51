"""The batch job's folder is kept like a database's: a run that says complete has every
record exactly once, from the job its manifest names (../shared/repro S2-S6, D7-D13)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from newsum.pipeline.cli import app
from newsum.pipeline.core.errors import NewsumError
from newsum.pipeline.core.layout import LOCK, MARKER
from newsum.pipeline.job.jobdir import Lock
from tests.fixtures.jobs import NEWSUM, articles, invoke, kill_9_when, shard_lines, write_jsonl

LEAD = ["--summarizer", "lead-2", "--translator", "", "--shard-size", "50"]


def dispatches(n: int, start: int = 0) -> list[dict]:
    return [
        {"id": f"d{i:03d}", "text": f"Dépêche {i}. Le maire a parlé mardi devant le conseil "
                                    f"municipal numéro {i}. Les élus ont voté le budget {i}."}
        for i in range(start, start + n)
    ]  # fmt: skip


@pytest.fixture
def c300(tmp_path) -> Path:
    return write_jsonl(tmp_path / "c300.jsonl", dispatches(300))


@pytest.fixture
def reference(tmp_path, c300) -> list[str]:
    """The lines of an uninterrupted run of the same job."""
    out = tmp_path / "reference"
    assert invoke(c300, "-o", out, *LEAD, "-q").exit_code == 0
    return shard_lines(out)


def manifest(out: Path, name: str = "manifest.json") -> dict:
    return json.loads((out / name).read_text(encoding="utf-8"))


def files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


# ---- S2, D7, D8: damaged shards, manifest and cache --------------------------------------


def _delete(out: Path) -> None:
    (out / "shards/part-00002.jsonl").unlink()


def _truncate(out: Path) -> None:
    path = out / "shards/part-00003.jsonl"
    path.write_text("".join(path.read_text().splitlines(keepends=True)[:25]))


def _torn_byte(out: Path) -> None:
    with open(out / "shards/part-00001.jsonl", "ab") as f:
        f.write(b"\xff")


def _altered_line(out: Path) -> None:
    path = out / "shards/part-00004.jsonl"
    path.write_text(path.read_text().replace("Dépêche", "Dépéche", 1))  # same size


def _torn_manifest(out: Path) -> None:
    path = out / "manifest.json"
    path.write_bytes(path.read_bytes()[:300])


def _deleted_manifest(out: Path) -> None:
    (out / "manifest.json").unlink()


def _manifest_not_json_object(out: Path) -> None:
    (out / "manifest.json").write_text("[]")


def _shard_dropped_with_torn_cache(out: Path) -> None:
    # A power loss in the middle of shard 5: its cache ends inside a UTF-8 character.
    data = manifest(out)
    data["shards"].pop("part-00005")
    (out / "manifest.json").write_text(json.dumps(data))
    (out / "shards/part-00005.jsonl").unlink()
    (out / ".cache").mkdir(exist_ok=True)
    (out / ".cache/part-00005.jsonl").write_bytes(b'{"key": "k", "summary": "caf\xc3')


def _stray_temporary_files(out: Path) -> None:
    (out / "shards/.part-00002.jsonl.999.0a1b2c3d.tmp").write_text("half a shard")
    (out / ".manifest.json.999.0a1b2c3d.tmp").write_text("{")
    (out / ".notes.tmp").write_text("the user's, kept")


DAMAGE = {
    "deleted shard": (_delete, "part-00002.jsonl is missing"),
    "truncated shard": (_truncate, "truncated or altered"),
    "torn byte": (_torn_byte, "truncated or altered"),
    "altered line": (_altered_line, "does not match its checksum"),
    "torn manifest": (_torn_manifest, "manifest.json was damaged"),
    "deleted manifest": (_deleted_manifest, "manifest.json is missing"),
    "manifest not an object": (_manifest_not_json_object, "manifest.json was not a manifest"),
    "torn cache": (_shard_dropped_with_torn_cache, "dropped 1 damaged line"),
    "temporary files": (_stray_temporary_files, None),
}


@pytest.mark.parametrize("damage", DAMAGE, ids=list(DAMAGE))
def test_resume_repairs_any_damage_and_ends_with_the_uninterrupted_records(
    tmp_path, c300, reference, damage
):
    out = tmp_path / "out"
    assert invoke(c300, "-o", out, *LEAD, "-q").exit_code == 0
    harm, said = DAMAGE[damage]
    harm(out)
    result = invoke(c300, "-o", out, *LEAD, "--resume")
    assert result.exit_code == 0, result.output
    assert "This is a bug" not in result.stderr
    if said:
        assert said in result.stderr  # it says what it did
    assert "300 ok" in result.stderr
    assert shard_lines(out) == reference
    done = manifest(out)
    assert done["status"] == "complete" and done["counts"]["ok"] == 300
    assert [p.name for p in out.rglob("*.tmp")] == (
        [".notes.tmp"] if damage == "temporary files" else []
    )


def test_resume_of_a_complete_run_checks_and_changes_nothing(tmp_path, c300, reference):
    out = tmp_path / "out"
    assert invoke(c300, "-o", out, *LEAD, "-q").exit_code == 0
    shards = {name: entry["sha256"] for name, entry in manifest(out)["shards"].items()}
    result = invoke(c300, "-o", out, *LEAD, "--resume")
    assert result.exit_code == 0 and "note:" not in result.stderr
    assert shard_lines(out) == reference
    assert {name: entry["sha256"] for name, entry in manifest(out)["shards"].items()} == shards
    entry = manifest(out)["shards"]["part-00000"]
    assert entry["records"] == 50 and len(entry["sha256"]) == 64 and entry["bytes"] > 0


# ---- S3: merge checks the shard files -----------------------------------------------------


def test_merge_refuses_a_missing_shard_and_names_the_slice_to_rerun(tmp_path, c300, reference):
    out = tmp_path / "array"
    for i in range(3):
        result = invoke(c300, "-o", out, *LEAD, "--shard", f"{i}/3", "--resume", "-q")
        assert result.exit_code == 0, result.output
    (out / "shards/part-00004.jsonl").unlink()  # written by slice 1/3
    merged = CliRunner().invoke(app, ["merge", str(out)])
    assert merged.exit_code == 1
    assert "part-00004" in merged.stderr and "slice 1/3" in merged.stderr
    assert not (out / "manifest.json").exists()
    # The slice's resume redoes it; then the merge is the single run.
    assert invoke(c300, "-o", out, *LEAD, "--shard", "1/3", "--resume", "-q").exit_code == 0
    assert CliRunner().invoke(app, ["merge", str(out), "-q"]).exit_code == 0
    assert shard_lines(out) == reference
    assert manifest(out)["counts"]["ok"] == 300


# ---- S4: the inputs are part of the job ---------------------------------------------------


def test_resume_with_other_or_edited_inputs_is_refused(tmp_path, c300):
    out = tmp_path / "out"
    assert invoke(c300, "-o", out, *LEAD, "-q").exit_code == 0
    before = files(out)
    other = write_jsonl(tmp_path / "other.jsonl", dispatches(1, start=900))
    result = invoke(other, "-o", out, *LEAD, "--resume")
    assert result.exit_code == 2
    assert "other.jsonl: added" in result.stderr and "c300.jsonl: removed" in result.stderr
    # Ten records put in front: every shard would shift by ten.
    write_jsonl(c300, dispatches(10, start=500) + dispatches(300))
    result = invoke(c300, "-o", out, *LEAD, "--resume")
    assert result.exit_code == 2 and "c300.jsonl.bytes" in result.stderr
    assert files(out) == before  # refused before anything was touched


@pytest.mark.slow
def test_standard_input_that_changed_is_caught_record_by_record(tmp_path):
    out = tmp_path / "out"
    args = [*NEWSUM, "run", "-", "-o", str(out), *LEAD, "-q"]
    first = "".join(json.dumps(r) + "\n" for r in dispatches(120))
    subprocess.run(args, input=first, text=True, check=True, timeout=120)
    changed = "".join(json.dumps(r) + "\n" for r in dispatches(10, 500) + dispatches(110))
    result = subprocess.run(
        [*args, "--resume"], input=changed, text=True, capture_output=True, timeout=120
    )
    assert result.returncode == 2
    assert "part-00000" in result.stderr and "input is not what it was" in result.stderr


# ---- S5, D13: one schema for flags and config files --------------------------------------


@pytest.mark.parametrize(
    "toml, named",
    [
        ("shard_size = 0", "shard_size"),
        ('shard_size = "many"', "shard_size"),
        ("shard_size = true", "shard_size"),
        ('format = "csv"', "format"),
        ('executor = "slurm"', "executor"),
        ('fields = ["title"]', "fields"),
        ('shard = "3/2"', "--shard"),
        ("[clean]\nmax_chars = -5", "[clean] max_chars"),
        ('[clean]\ndedup_threshold = "high"', "[clean] dedup_threshold"),
        ("[generation]\nnum_beams = 0", "[generation] num_beams"),
        ('[generation]\nmax_new_tokens = "64"', "[generation] max_new_tokens"),
        ("[read]\nkeep_html = 1", "[read] keep_html"),
        ("clean = 5", "[clean] must be a table"),
    ],
)
def test_config_values_are_checked_and_named(tmp_path, toml, named):
    source = write_jsonl(tmp_path / "a.jsonl", dispatches(2))
    config = tmp_path / "job.toml"
    config.write_text(f'summarizer = "lead-3"\ntranslator = ""\n{toml}\n')
    out = tmp_path / "out"
    result = invoke(source, "-o", out, "--config", config)
    assert result.exit_code == 2
    assert named in result.stderr and "job.toml" in result.stderr
    assert not out.exists()


# ---- S6, D12: whose folder it is ----------------------------------------------------------


def test_a_folder_newsum_did_not_write_is_never_resumed_overwritten_or_deleted(tmp_path):
    home = tmp_path / "home"
    (home / ".cache/huggingface").mkdir(parents=True)
    (home / ".cache/huggingface/model.safetensors").write_text("weights")
    (home / "shards").mkdir()
    (home / "shards/mine.txt").write_text("mine")
    (home / "manifest-old.json").write_text("{}")
    before = files(home)
    source = write_jsonl(tmp_path / "a.jsonl", dispatches(3))
    for flag in ("--overwrite", "--resume", "-q"):
        result = invoke(source, "-o", home, *LEAD, flag)
        assert result.exit_code == 2 and "not written by `newsum run`" in result.stderr
        assert files(home) == before


def test_overwrite_deletes_only_what_newsum_wrote(tmp_path):
    source = write_jsonl(tmp_path / "a.jsonl", dispatches(120))
    out = tmp_path / "out"
    assert invoke(source, "-o", out, *LEAD, "-q").exit_code == 0
    (out / "notes.txt").write_text("the user's")
    (out / "shards/keep.txt").write_text("the user's")
    (out / ".cache").mkdir()
    (out / ".cache/other-tool").write_text("the user's")
    smaller = write_jsonl(tmp_path / "b.jsonl", dispatches(60))
    result = invoke(smaller, "-o", out, *LEAD, "--overwrite", "-q")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (out / "shards").iterdir()) == [
        "keep.txt",
        "part-00000.jsonl",
        "part-00001.jsonl",
    ]
    assert (out / "notes.txt").exists() and (out / ".cache/other-tool").exists()
    assert len(shard_lines(out)) == 60


def test_a_start_that_fails_leaves_nothing_behind(tmp_path):
    source = write_jsonl(tmp_path / "a.jsonl", dispatches(3))
    for args in (
        ["missing.jsonl", "-o", tmp_path / "fs", *LEAD],
        [source, "-o", tmp_path / "fs", "--summarizer", str(tmp_path / "no-model")],
        [source, "-o", tmp_path / "fs", *LEAD, "--executor", "nope"],
    ):
        result = invoke(*args)
        assert result.exit_code == 2
        assert not (tmp_path / "fs").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    assert invoke("missing.jsonl", "-o", empty, *LEAD).exit_code == 2
    assert list(empty.iterdir()) == []
    # The corrected command needs neither --resume nor --overwrite.
    assert invoke(source, "-o", tmp_path / "fs", *LEAD, "-q").exit_code == 0
    assert (tmp_path / "fs" / MARKER).is_file()


# ---- D10: one run at a time ---------------------------------------------------------------

HOLD = """
import sys, time
from pathlib import Path
from newsum.pipeline.job.jobdir import Lock
lock = Lock(Path(sys.argv[1]))
lock.acquire(Path(sys.argv[1]).parent)
print("held", flush=True)
time.sleep(300)
"""


def test_a_folder_in_use_is_refused_and_a_dead_holder_does_not_block(tmp_path, c300):
    out = tmp_path / "out"
    assert invoke(c300, "-o", out, *LEAD, "-q").exit_code == 0
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(out / LOCK)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        for args in (["--resume"], ["--overwrite"], ["--shard", "0/2", "--resume"]):
            result = invoke(c300, "-o", out, *LEAD, *args)
            assert result.exit_code == 2, args
            assert "in use by another newsum run" in result.stderr
            assert f"pid {holder.pid}" in result.stderr
        merged = CliRunner().invoke(app, ["merge", str(out)])
        assert merged.exit_code == 2 and "in use" in merged.stderr
    finally:
        holder.kill()  # as kill -9: the kernel drops its lock
        holder.wait()
    result = invoke(c300, "-o", out, *LEAD, "--resume")
    assert result.exit_code == 0, result.output
    assert f"took over the lock left by pid {holder.pid}" in result.stderr


def test_slices_of_a_job_array_share_the_folder_but_not_a_slice(tmp_path):
    shared = Lock(tmp_path / LOCK, shared=True)
    assert shared.acquire(tmp_path) is None
    try:
        other = Lock(tmp_path / LOCK, shared=True)
        assert other.acquire(tmp_path) is None  # another slice
        other.release()
        whole = Lock(tmp_path / LOCK)
        with pytest.raises(NewsumError, match="slices of a job array"):
            whole.acquire(tmp_path)
    finally:
        shared.release()


@pytest.mark.slow
def test_two_real_runs_never_mix(tmp_path, tiny_models):
    source = write_jsonl(tmp_path / "in.jsonl", articles(200))
    out = tmp_path / "out"
    model = ["--summarizer", tiny_models["marian"], "--translator", tiny_models["marian"]]
    slow = subprocess.Popen(
        [
            *NEWSUM,
            "run",
            str(source),
            "-o",
            str(out),
            *model,
            "--max-new-tokens",
            "8",
            "--shard-size",
            "20",
            "-q",
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 120
    while time.time() < deadline and not list((out / "shards").glob("part-*.jsonl")):
        time.sleep(0.05)
    other = invoke(source, "-o", out, "--summarizer", "lead-3", "--translator", "",
                   "--shard-size", "20", "--resume")  # fmt: skip
    assert other.exit_code == 2 and "in use" in other.stderr
    assert slow.wait(timeout=600) == 0
    records = [json.loads(line) for line in shard_lines(out)]
    assert len(records) == 200 and all(r.get("summary_en") for r in records)


# ---- D11: a full disk ---------------------------------------------------------------------

FULL_DISK = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # then a write past the limit fails: EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[1]), int(sys.argv[1])))
from newsum.pipeline.cli import main
sys.argv = ["newsum", *sys.argv[2:]]
main()
"""


@pytest.mark.slow
def test_a_full_disk_is_a_clear_error_that_leaves_no_debris_and_resumes(tmp_path, reference):
    source = tmp_path / "c300.jsonl"
    out = tmp_path / "out"
    args = ["run", str(source), "-o", str(out), *LEAD]
    # Room for the marker and the manifest, not for a shard (15 kB each).
    full = subprocess.run(
        [sys.executable, "-c", FULL_DISK, "10000", *args], capture_output=True, text=True
    )
    assert full.returncode == 2, full.stderr
    assert "cannot write" in full.stderr and "File too large" in full.stderr
    assert "Traceback" not in full.stderr and "bug" not in full.stderr
    assert not list(out.rglob("*.tmp"))
    resumed = invoke(source, "-o", out, *LEAD, "--resume", "-q")
    assert resumed.exit_code == 0, resumed.output
    assert shard_lines(out) == reference


# ---- exit status --------------------------------------------------------------------------


def test_exit_status_1_when_no_record_is_ok(tmp_path):
    english = [{"id": "en", "text": "The mayor spoke on Tuesday. The council voted the budget."}]
    source = write_jsonl(tmp_path / "en.jsonl", english)
    result = invoke(source, "-o", tmp_path / "out", *LEAD)
    assert result.exit_code == 1
    assert "0 ok, 1 skipped, 0 error" in result.stderr and "none of the 1 records" in result.stderr
    assert manifest(tmp_path / "out")["status"] == "complete"


def test_version():
    from newsum.pipeline import __version__

    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.strip() == f"newsum {__version__}"


# ---- progress is saved after every model batch --------------------------------------------


@pytest.mark.slow
def test_an_interrupted_shard_keeps_every_finished_model_batch(tmp_path, tiny_models):
    source = write_jsonl(tmp_path / "in.jsonl", articles(40))
    model = ["--summarizer", tiny_models["marian"], "--translator", tiny_models["marian"],
             "--max-new-tokens", "6", "--max-batch-size", "4", "--shard-size", "40"]  # fmt: skip
    reference = tmp_path / "reference"
    assert invoke(source, "-o", reference, *model, "-q").exit_code == 0
    out = tmp_path / "out"
    cache = out / ".cache/part-00000.jsonl"
    command = [*NEWSUM, "run", str(source), "-o", str(out), *model, "-q"]
    kill_9_when(command, lambda: len(_lines(cache)) >= 8, timeout=120)
    kept = len(_lines(cache))
    # Two batches of four were saved while the shard (one for all 40) was still running.
    assert kept >= 8 and not (out / "shards/part-00000.jsonl").exists()
    result = invoke(source, "-o", out, *model, "--resume", "-q")
    assert result.exit_code == 0, result.output
    assert shard_lines(out) == shard_lines(reference)


def _lines(path: Path) -> list[bytes]:
    try:
        return [line for line in path.read_bytes().split(b"\n")[:-1]]
    except FileNotFoundError:
        return []


# ---- D9: one typed Parquet schema for every shard -----------------------------------------


def test_parquet_shards_have_one_schema_and_read_back_whole(tmp_path):
    import pandas
    import pyarrow.parquet as pq
    from datasets import load_dataset

    from newsum.pipeline.core.writers import RECORD_SCHEMA

    rows = dispatches(11)
    rows[0].update(meta=1, author="Claire Dubois", date="2024-03-12", source="Le Progrès")
    rows[1]["meta"] = "x"  # the same free-form field, another type
    rows[5]["meta"] = {"nested": [1, 2]}
    rows[7] = dict(rows[0], id="copy")  # a near-duplicate: duplicate_of in shard 1 only
    source = write_jsonl(tmp_path / "mix.jsonl", rows)
    out = tmp_path / "pq"
    args = ["--summarizer", "lead-2", "--translator", "", "--shard-size", "4"]
    assert invoke(source, "-o", out, *args, "--format", "parquet", "-q").exit_code == 0
    assert invoke(source, "-o", out, *args, "--format", "parquet", "--resume", "-q").exit_code == 0
    paths = sorted((out / "parquet").glob("*.parquet"))
    assert [p.name for p in paths] == [
        "part-00000.parquet",
        "part-00001.parquet",
        "part-00002.parquet",
    ]
    assert all(pq.read_schema(p).equals(RECORD_SCHEMA) for p in paths)
    jsonl = [json.loads(line) for line in shard_lines(out)]
    table = pq.read_table(out / "parquet")  # the folder, whole
    assert table.num_rows == len(jsonl) == 11
    for row, record in zip(table.to_pylist(), jsonl, strict=True):
        extra = json.loads(row["extra"]) if row["extra"] else {}
        for key, value in record.items():
            assert (row[key] if key in table.column_names else extra[key]) == value, key
    assert table.column("author").to_pylist()[0] == "Claire Dubois"
    assert table.column("duplicate_of").to_pylist()[7] == "d000"
    assert len(pandas.read_parquet(out / "parquet")) == 11
    dataset = load_dataset(
        "parquet", data_dir=str(out / "parquet"), split="train", cache_dir=str(tmp_path / "hf")
    )
    assert dataset["id"] == [r["id"] for r in jsonl]
    # A shard's Parquet file is checked like its JSONL: a damaged one is redone.
    paths[1].write_bytes(paths[1].read_bytes()[:100])
    result = invoke(source, "-o", out, *args, "--format", "parquet", "--resume")
    assert result.exit_code == 0 and "Parquet file part-00001.parquet" in result.stderr
    assert pq.read_table(out / "parquet").to_pylist() == table.to_pylist()


def test_strict_run_turns_cleaning_warnings_into_errors_with_their_stage(tmp_path):
    source = write_jsonl(tmp_path / "a.jsonl", dispatches(1))  # a short dispatch: body-short
    out = tmp_path / "out"
    result = invoke(source, "-o", out, *LEAD, "--strict")
    assert result.exit_code == 1 and "0 ok, 0 skipped, 1 error" in result.stderr
    (error,) = [json.loads(line) for line in (out / "errors.jsonl").read_text().splitlines()]
    assert error["stage"] == "strict" and "body-short" in error["reason"]
