"""Output writing: the format follows the name, one typed Parquet schema for every record,
and a failure to write (full disk, file too large) is a clear error that leaves no file.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import subprocess
import sys
import threading
from dataclasses import fields
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from newsum.pipeline.cli import app
from newsum.pipeline.core.errors import NewsumError
from newsum.pipeline.core.record import ERROR, Record
from newsum.pipeline.core.writers import (
    RECORD_SCHEMA,
    dumps,
    from_row,
    output_format,
    to_row,
    write_parquet,
    write_records,
)
from tests.fixtures.texts import BODY, BODY2, BODY3

# The D9 input: a field of mixed types, and fields some records have and others lack.
MIXED = [
    {"id": "1", "text": BODY, "meta": 1, "author": "Claire Dubois", "date": "2024-03-12"},
    {"id": "2", "text": BODY2, "meta": "x"},
    {"id": "3", "text": BODY},  # a duplicate of "1"
    {"id": "4", "text": BODY3, "meta": {"k": [1, 2]}, "tags": ["a", "b"]},
    {"id": "5", "text": 42},  # an error record, whose text is kept as it came
]

runner = CliRunner()


def invoke(*args: str | Path):
    return runner.invoke(app, [str(a) for a in args])


def write_lines(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))
    return path


def jsonl(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def parquet_objects(path: Path) -> list[dict]:
    """The JSON objects a Parquet file of RECORD_SCHEMA holds, checking its schema."""
    table = pq.read_table(path)
    assert table.schema.equals(RECORD_SCHEMA)
    return [from_row(row) for row in table.to_pylist()]


def no_traceback(result) -> None:
    assert "Traceback" not in result.stderr and "bug in newsum" not in result.stderr


# ---- the format follows the name -------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "read"),
    [
        ("out.jsonl", lambda p: jsonl(p.read_text())),
        ("out.ndjson", lambda p: jsonl(p.read_text())),
        ("out.jsonl.gz", lambda p: jsonl(gzip.decompress(p.read_bytes()).decode())),
        ("out.NDJSON.GZ", lambda p: jsonl(gzip.decompress(p.read_bytes()).decode())),
        ("out.parquet", parquet_objects),
    ],
)
def test_clean_writes_the_format_its_output_name_says(tmp_path: Path, name: str, read) -> None:
    source = write_lines(tmp_path / "in.jsonl", MIXED)
    expected = invoke("clean", source, "-o", "-")
    out = tmp_path / "sub" / name

    result = invoke("clean", source, "-o", out)

    assert result.exit_code == 0, result.stderr
    warned = sum(1 for r in jsonl(expected.stdout) if r.get("warnings"))  # short bodies
    assert result.stderr == f"4 ok, 0 skipped, 1 error ({warned} with warnings)\n"
    assert read(out) == jsonl(expected.stdout)
    assert sorted(p.name for p in out.parent.iterdir()) == [name]  # no temporary file left


@pytest.mark.parametrize("name", ["out.txt", "out", "out.json", "out.gz", "out.parquet.gz"])
def test_an_output_name_of_no_known_format_is_refused(tmp_path: Path, name: str) -> None:
    source = write_lines(tmp_path / "in.jsonl", MIXED)

    result = invoke("clean", source, "-o", tmp_path / name)

    assert result.exit_code == 2
    assert "unknown output format" in result.stderr and ".jsonl.gz" in result.stderr
    assert ".parquet" in result.stderr
    no_traceback(result)
    assert [p.name for p in tmp_path.iterdir()] == ["in.jsonl"]


def test_summarize_refuses_the_output_name_before_loading_the_model(tmp_path: Path) -> None:
    source = write_lines(tmp_path / "in.jsonl", MIXED)

    result = invoke("summarize", source, "-o", tmp_path / "out.csv", "--model", "no/such-model")

    assert result.exit_code == 2
    assert "unknown output format" in result.stderr and "such-model" not in result.stderr


def test_summarize_writes_parquet(tmp_path: Path) -> None:
    source = write_lines(tmp_path / "in.jsonl", MIXED)
    out = tmp_path / "summaries.parquet"

    result = invoke("summarize", source, "-o", out, "--model", "lead-1")

    assert result.exit_code == 0, result.stderr
    records = parquet_objects(out)
    assert [r["summary"] for r in records[:2]] == [
        BODY.split(". ")[0] + ".",
        BODY2.split(". ")[0] + ".",
    ]
    assert records[1]["meta"] == "x" and records[4]["text"] == 42


def test_a_command_whose_every_record_failed_exits_1(tmp_path: Path) -> None:
    source = write_lines(tmp_path / "in.jsonl", [{"id": "a", "texte": BODY}])
    out = tmp_path / "out.parquet"

    result = invoke("clean", source, "-o", out)

    assert result.exit_code == 1
    assert "0 ok, 0 skipped, 1 error" in result.stderr
    assert [r["status"] for r in parquet_objects(out)] == [ERROR]  # still written


def test_a_special_file_is_written_directly_as_jsonl(tmp_path: Path) -> None:
    source = write_lines(tmp_path / "in.jsonl", MIXED)
    assert output_format("/dev/null") == "jsonl"
    assert invoke("clean", source, "-o", "/dev/null").exit_code == 0
    fifo = tmp_path / "pipe.parquet"  # a FIFO is a stream, whatever its name
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()

    result = invoke("clean", source, "-o", fifo)

    reader.join(timeout=30)
    assert result.exit_code == 0, result.stderr
    assert [r["id"] for r in jsonl(received[0].decode())] == ["1", "2", "3", "4", "5"]
    assert fifo.is_fifo()


def test_gzip_output_is_the_same_bytes_for_the_same_records(tmp_path: Path) -> None:
    records = [Record(id=str(i), text=BODY) for i in range(3)]
    write_records(records, tmp_path / "a.jsonl.gz")
    write_records(records, tmp_path / "b.jsonl.gz")
    assert (tmp_path / "a.jsonl.gz").read_bytes() == (tmp_path / "b.jsonl.gz").read_bytes()


# ---- one typed Parquet schema ----------------------------------------------------------


def test_the_schema_lists_every_record_field_in_order() -> None:
    assert RECORD_SCHEMA.names == [f.name for f in fields(Record)]


def test_mixed_fields_keep_every_value_in_parquet(tmp_path: Path) -> None:
    source = write_lines(tmp_path / "in.jsonl", MIXED)
    assert invoke("clean", source, "-o", tmp_path / "out.jsonl").exit_code == 0
    assert invoke("clean", source, "-o", tmp_path / "out.parquet").exit_code == 0
    from_jsonl = jsonl((tmp_path / "out.jsonl").read_text())
    rows = pq.read_table(tmp_path / "out.parquet").to_pylist()

    for expected, row in zip(from_jsonl, rows, strict=True):
        got = from_row(row)
        for name in expected.keys() | got.keys():
            assert got.get(name) == expected.get(name), (expected["id"], name)

    assert [json.loads(row["extra"]) if row["extra"] else None for row in rows] == [
        {"meta": 1},
        {"meta": "x"},
        None,
        {"meta": {"k": [1, 2]}, "tags": ["a", "b"]},
        {"text": 42},  # the original of a value its column could not hold as is
    ]
    assert [row["author"] for row in rows] == ["Claire Dubois", None, None, None, None]
    assert [row["duplicate_of"] for row in rows] == [None, None, "1", None, None]
    assert rows[4]["text"] == "42" and rows[4]["status"] == ERROR
    assert all(row["removed"] == [] or row["removed"][0].keys() == {"rule", "text"} for row in rows)


ODD = {
    "text 42": Record(id="a", text=42),
    "text dict": Record(id="a", text={"corps": [1, "deux"]}),
    "text list": Record(id="a", text=["un", None]),
    "text bool": Record(id="a", text=True),
    "title lone surrogate": Record(id="a", text=BODY, title="Titre \ud800 isolé"),
    "lang_score int": Record(id="a", lang_score=1),
    "lang_score bool": Record(id="a", lang_score=True),
    "lang_score str": Record(id="a", lang_score="0.9"),
    "lang_score NaN": Record(id="a", lang_score=float("nan")),
    "lang_score huge": Record(id="a", lang_score=10**400),
    "lang_score big int": Record(id="a", lang_score=2**60 + 1),
    "chunks str": Record(id="a", chunks="2"),
    "chunks float": Record(id="a", chunks=2.0),
    "chunks bool": Record(id="a", chunks=False),
    "chunks over 64 bits": Record(id="a", chunks=2**70),
    "removed odd items": Record(
        id="a",
        removed=[
            {"rule": "share", "text": "Partager"},
            {"rule": 3, "text": None},
            {"rule": "byline"},
            {"rule": "x", "text": "y", "note": 1},
            "juste du texte",
            7,
        ],
    ),
    "removed not a list": Record(id="a", removed={"rule": "share", "text": "Partager"}),
    "warnings odd items": Record(id="a", warnings=["body shrunk", {"code": "x"}, 3, None]),
    "warnings a string": Record(id="a", warnings="une seule"),
    "extra odd values": Record(
        id="a",
        text=BODY,
        extra={"grand": 2**70, "nan": float("nan"), "seul": "\udc80", "octets": b"caf\xc3\xa9"},
    ),
    "extra named like a field": Record(id="a", text=BODY, extra={"extra": {"a": 1}}),
}


@pytest.mark.parametrize("record", ODD.values(), ids=ODD.keys())
def test_any_record_fits_the_schema_and_loses_nothing(record: Record) -> None:
    row = to_row(record)

    batch = pa.RecordBatch.from_pylist([row], schema=RECORD_SCHEMA)  # fits: no error

    assert batch.schema.equals(RECORD_SCHEMA)
    back = from_row(batch.to_pylist()[0])
    assert back == json.loads(dumps(record))  # the same object as the JSONL line
    if row["extra"] is not None:
        row["extra"].encode("utf-8")  # valid UTF-8 even around a lone surrogate


def test_values_that_do_not_fit_their_column_are_simple_to_read() -> None:
    assert to_row(ODD["text 42"])["text"] == "42"
    assert to_row(ODD["text dict"])["text"] == '{"corps":[1,"deux"]}'
    assert to_row(ODD["title lone surrogate"])["title"] == "Titre \\ud800 isolé"
    row = to_row(ODD["lang_score int"])
    assert row["lang_score"] == 1.0 and row["extra"] is None  # an exact float: nothing kept
    assert to_row(ODD["lang_score str"])["lang_score"] is None
    assert to_row(ODD["lang_score NaN"])["lang_score"] is None  # null, as in JSONL
    assert to_row(ODD["chunks float"])["chunks"] is None
    assert to_row(ODD["removed odd items"])["removed"] == [
        {"rule": "share", "text": "Partager"},
        {"rule": "3", "text": None},
        {"rule": "byline", "text": None},
        {"rule": "x", "text": "y"},
        {"rule": None, "text": "juste du texte"},
        {"rule": None, "text": "7"},
    ]
    assert to_row(ODD["warnings odd items"])["warnings"] == [
        {"code": None, "message": "body shrunk"},
        {"code": "x", "message": None},
        {"code": None, "message": "3"},
        {"code": None, "message": None},
    ]
    assert to_row(Record(id="a"))["removed"] == [] and to_row(Record(id="a"))["extra"] is None


def test_parquet_files_written_apart_read_back_as_one_table(tmp_path: Path) -> None:
    folder = tmp_path / "parquet"
    parts = [
        [Record(id="a", text=BODY, author="Claire Dubois", lang_score=0.99, extra={"meta": 1})],
        [],  # an empty shard still has the schema
        [Record(id="b", text=7, chunks="trois", extra={"meta": "x", "autre": [1]})],
        [Record(id="c", text=BODY3, removed=[{"rule": "share", "text": "Partager"}], chunks=2)],
    ]
    for i, records in enumerate(parts):
        write_parquet(records, folder / f"part-{i:05d}.parquet")
    expected = [json.loads(dumps(r)) for records in parts for r in records]

    table = pq.read_table(folder)
    assert table.schema.equals(RECORD_SCHEMA)
    assert [from_row(row) for row in table.to_pylist()] == expected

    pandas = pytest.importorskip("pandas")
    frame = pandas.read_parquet(folder)
    assert list(frame["id"]) == ["a", "b", "c"] and list(frame.columns) == RECORD_SCHEMA.names
    datasets = pytest.importorskip("datasets")
    loaded = datasets.load_dataset(
        "parquet",
        data_files=str(folder / "*.parquet"),
        split="train",
        cache_dir=str(tmp_path / "hf-cache"),
    )
    assert [from_row(row) for row in loaded] == expected


def test_parquet_is_written_in_row_groups(tmp_path: Path) -> None:
    target = tmp_path / "big.parquet"
    tally = write_parquet((Record(id=str(i), text=BODY) for i in range(2500)), target)
    assert tally["ok"] == 2500
    assert pq.ParquetFile(target).metadata.num_row_groups == 3


@pytest.mark.parametrize("name", ["out.parquet", "out.jsonl.gz", "out.jsonl"])
def test_a_failed_stream_leaves_no_file_and_keeps_the_previous_one(tmp_path: Path, name) -> None:
    def failing():
        yield Record(id="a", text=BODY)
        raise RuntimeError("the stream broke")

    target = tmp_path / name
    with pytest.raises(RuntimeError, match="the stream broke"):
        write_records(failing(), tmp_path / "new" / name)
    assert list((tmp_path / "new").iterdir()) == []
    target.write_bytes(b"previous run")
    with pytest.raises(RuntimeError):
        write_records(failing(), target)
    assert target.read_bytes() == b"previous run"
    assert [p.name for p in tmp_path.iterdir() if p.is_file()] == [name]


def test_writing_into_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(NewsumError, match="is a directory"):
        write_parquet([Record(id="a", text=BODY)], tmp_path)


# ---- a failure to write ----------------------------------------------------------------


def test_a_full_device_is_a_clear_error(tmp_path: Path) -> None:
    source = write_lines(tmp_path / "in.jsonl", MIXED)

    result = invoke("clean", source, "-o", "/dev/full")

    assert result.exit_code == 2
    assert "cannot write /dev/full: No space left on device" in result.stderr
    no_traceback(result)


def many_records(path: Path, n: int = 300) -> Path:
    """Varied texts, so that even gzipped they outgrow the size limit below."""
    rows = []
    for i in range(n):
        noise = hashlib.sha256(str(i).encode()).hexdigest() * 3
        rows.append({"id": f"r{i}", "text": f"{BODY} Référence {noise}."})
    return write_lines(path, rows)


def run_with_file_size_limit(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess:
    """newsum in a process that may write no file over 8 KiB: past it, a write fails with
    EFBIG ("File too large") as it would on a full disk (root ignores chmod; not this)."""
    code = (
        "import resource, signal\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (8192, resource.RLIM_INFINITY))\n"
        "from newsum.pipeline.cli import main\n"
        "main()\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )


@pytest.mark.slow
@pytest.mark.parametrize("name", ["out.jsonl", "out.jsonl.gz", "out.parquet"])
def test_a_file_too_large_is_a_clear_error_and_leaves_no_file(tmp_path: Path, name) -> None:
    source = many_records(tmp_path / "in.jsonl")
    out = tmp_path / "out"

    result = run_with_file_size_limit("clean", source, "-o", out / name, cwd=tmp_path)

    assert result.returncode == 2, result.stderr
    assert f"cannot write {out / name}: File too large" in result.stderr
    assert "Traceback" not in result.stderr and "bug in newsum" not in result.stderr
    assert list(out.iterdir()) == []  # neither the output nor its temporary file


@pytest.mark.slow
def test_an_eval_report_too_large_is_a_clear_error_and_leaves_no_file(tmp_path: Path) -> None:
    source = many_records(tmp_path / "in.jsonl", n=100)
    report = tmp_path / "reports" / "r.json"  # tens of KiB, with its per-record scores

    result = run_with_file_size_limit(
        "eval", source, "--references", source, "-o", report,
        "--pred-field", "text", "--ref-field", "text", "-q", cwd=tmp_path,
    )  # fmt: skip

    assert result.returncode == 2, result.stderr
    assert f"cannot write {report}: File too large" in result.stderr
    assert "Traceback" not in result.stderr
    assert list(report.parent.iterdir()) == []
