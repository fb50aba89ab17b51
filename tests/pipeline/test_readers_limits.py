"""Reading is bounded: a gzip bomb costs time, not memory (reproduction D4)."""

from __future__ import annotations

import functools
import gzip
import json
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from newsum.pipeline.core.errors import NewsumError
from newsum.pipeline.core.readers import ReadOptions, read_inputs
from newsum.pipeline.core.record import ERROR, OK, Record

BODY = "Le gouvernement a annoncé mardi une réforme des retraites. Les syndicats ont réagi."
BOMB_MB = 200


def read(*paths: Path, **options) -> list[Record]:
    return list(read_inputs([str(p) for p in paths], ReadOptions(**options)))


@functools.cache
def zeros_member() -> bytes:
    """200 MB of zeros as one gzip member, about 1 MB."""
    block = zlib.compressobj(1, zlib.DEFLATED, 31)  # 31: with a gzip header and trailer
    chunk = b"\0" * (1 << 20)
    return b"".join(block.compress(chunk) for _ in range(BOMB_MB)) + block.flush()


def gzip_bomb(path: Path, before: bytes = b"", after: bytes = b"") -> Path:
    """`before`, 200 MB of zeros, then `after`: gzip members, one after the other, read
    back as one stream (as `cat a.gz b.gz` is)."""
    path.write_bytes(gzip.compress(before) + zeros_member() + gzip.compress(after))
    return path


PEAK = """
import json, resource, sys
from newsum.pipeline.core.readers import ReadOptions, read_inputs
options = ReadOptions(max_bytes=1_000_000)
list(read_inputs([sys.argv[1]], options))  # the imports a first read does
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
records = list(read_inputs(sys.argv[2:], options))
growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
print(json.dumps({"growth_mb": growth / 1024, "records": [r.to_dict() for r in records]}))
"""


def test_a_gzip_bomb_is_one_error_record_read_in_bounded_memory(tmp_path: Path) -> None:
    warm = tmp_path / "warm"
    warm.mkdir()
    (warm / "w.txt").write_text(BODY)
    (warm / "w.jsonl").write_text(json.dumps({"text": BODY}) + "\n")
    (warm / "w.csv").write_text(f"id,text\nw,{BODY}\n")
    line = json.dumps({"id": "after", "text": BODY}).encode() + b"\n"
    bombs = [
        gzip_bomb(tmp_path / "bomb.jsonl.gz", after=b"\n" + line),
        gzip_bomb(tmp_path / "bomb.txt.gz"),
        gzip_bomb(tmp_path / "bomb.csv.gz", before=b"id,text\n", after=f"\nc2,{BODY}\n".encode()),
    ]
    assert all(bomb.stat().st_size < 2_000_000 for bomb in bombs)

    result = subprocess.run(
        [sys.executable, "-c", PEAK, str(warm), *map(str, bombs)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )

    out = json.loads(result.stdout)
    # The old reader held a whole bomb (200 MB, then its decoded copy) in memory.
    assert out["growth_mb"] < 50, out["growth_mb"]
    records = out["records"]
    assert [(r["id"], r["status"]) for r in records] == [
        ("bomb-1", ERROR),
        ("after", OK),  # the line after the bomb survives
        ("bomb", ERROR),
        ("bomb-1~2", ERROR),  # the JSONL bomb's default id came first
        ("c2", OK),
    ]
    for record in (records[0], records[2], records[3]):
        assert "over the 1,000,000-byte limit (max_bytes)" in record["reason"]


def test_files_and_lines_over_the_limit_are_error_records(tmp_path: Path) -> None:
    (tmp_path / "long.txt").write_text("x" * 2000)
    (tmp_path / "long.html").write_text(f"<html><body><p>{'x' * 2000}</p></body></html>")
    (tmp_path / "long.json").write_text(json.dumps([{"text": "x" * 2000}]))
    (tmp_path / "lines.jsonl").write_text(
        json.dumps({"text": "x" * 2000}) + "\n" + json.dumps({"text": BODY}) + "\n"
    )
    (tmp_path / "short.txt").write_text(BODY)
    names = ["long.txt", "long.html", "long.json", "lines.jsonl", "short.txt"]

    records = read(*(tmp_path / name for name in names), max_bytes=1000)

    assert [(r.id, r.status) for r in records] == [
        ("long", ERROR),
        ("long~2", ERROR),
        ("long~3", ERROR),
        ("lines-1", ERROR),
        ("lines-2", OK),
        ("short", OK),
    ]
    assert all("1,000-byte limit" in r.reason for r in records if r.status == ERROR)
    assert "use JSONL for big inputs" in records[2].reason


def test_the_default_limit_leaves_room_for_the_default_max_chars(tmp_path: Path) -> None:
    text = "é" * 500_000  # the longest text `clean` takes by default, 1 MB in UTF-8
    (tmp_path / "a.txt").write_text(text)
    (tmp_path / "a.jsonl").write_text(json.dumps({"text": text}) + "\n")  # \u00e9: 3 MB
    assert [r.status for r in read(tmp_path / "a.txt", tmp_path / "a.jsonl")] == [OK, OK]
    assert ReadOptions().max_bytes == 4_000_000


@pytest.mark.parametrize("value", [0, -5, "big", 1.5])
def test_max_bytes_is_checked_like_every_option(value) -> None:
    with pytest.raises(NewsumError, match="max_bytes must be an integer >= 1"):
        ReadOptions(max_bytes=value)


def test_a_truncated_gzip_still_ends_with_an_error_record(tmp_path: Path) -> None:
    data = gzip.compress(("id,text\n" + "".join(f"r{i},{BODY}\n" for i in range(3000))).encode())
    (tmp_path / "coupe.csv.gz").write_bytes(data[: len(data) // 2])
    *rows, broken = read(tmp_path / "coupe.csv.gz")
    assert rows and broken.status == ERROR and "cannot read" in broken.reason
