"""Ids are unique within a run and the same on every run (reproduction D5)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from typer.testing import CliRunner

from newsum.pipeline.clean import clean
from newsum.pipeline.cli import app
from newsum.pipeline.core.readers import ReadOptions, read_inputs
from newsum.pipeline.core.record import OK, Record

BODY = "Le gouvernement a annoncé mardi une réforme des retraites. Les syndicats ont réagi."


def read(*specs: str | Path, **options) -> list[Record]:
    return list(read_inputs([str(s) for s in specs], ReadOptions(**options)))


def jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))
    return path


def test_files_that_differ_only_by_their_format_keep_their_whole_name(tmp_path: Path) -> None:
    # Reproduction D5: all four were `a`, and one was flagged `duplicate_of` itself.
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "a.txt").write_text(f"{BODY} un")
    (folder / "a.TXT").write_text(f"{BODY} deux")
    (folder / "a.html").write_text(
        f"<html><body><article><p>{BODY} trois</p></article></body></html>"
    )
    (folder / "a.txt.gz").write_bytes(gzip.compress(f"{BODY} quatre".encode()))
    (folder / "b.txt").write_text(f"{BODY} cinq")

    records = read(folder)

    assert [r.id for r in records] == ["a.TXT", "a.html", "a.txt", "a.txt.gz", "b"]
    assert all(not r.warnings for r in records)
    assert [r.id for r in read(folder)] == [r.id for r in records]  # the same on every run
    cleaned = list(clean(iter(records)))
    assert all(r.duplicate_of != r.id for r in cleaned)
    assert {r.duplicate_of for r in cleaned} <= {None, *(r.id for r in cleaned)}


def test_two_folders_with_the_same_paths_get_their_names_as_prefixes(tmp_path: Path) -> None:
    for site in ("ouest", "sud"):
        day = tmp_path / site / "2024-10-02"
        day.mkdir(parents=True)
        (day / "index.html").write_text(
            f"<html><body><article><p>{BODY} {site}</p></article></body></html>"
        )

    records = read(tmp_path / "ouest", tmp_path / "sud")
    alone = read(tmp_path / "ouest")

    assert [r.id for r in records] == ["ouest/2024-10-02/index", "sud/2024-10-02/index"]
    assert [r.id for r in alone] == ["2024-10-02/index"]  # one folder: no prefix


def test_a_repeated_id_is_renamed_and_reported(tmp_path: Path) -> None:
    first = jsonl(
        tmp_path / "a.jsonl",
        [{"id": "x", "text": BODY}, {"id": "x~2", "text": BODY}, {"id": "y", "text": BODY}],
    )
    second = jsonl(tmp_path / "b.jsonl", [{"id": "x", "text": BODY}, {"id": "x", "text": BODY}])
    third = tmp_path / "c.csv"
    third.write_text(f"id,text\ny,{BODY}\n")

    records = read(first, second, third)

    assert [r.id for r in records] == ["x", "x~2", "y", "x~3", "x~4", "y~2"]
    assert all(r.status == OK for r in records)
    assert [r.warnings for r in records[:3]] == [[], [], []]
    [warning] = records[3].warnings
    assert warning["code"] == "repeated-id"
    assert f"'x' was first used by {first} line 1" in warning["message"]
    assert f"({second} line 1) is 'x~3'" in warning["message"]
    assert f"'y' was first used by {first} line 3" in records[5].warnings[0]["message"]
    assert f"{third} row 1" in records[5].warnings[0]["message"]
    # Stable: the same inputs, the same ids.
    assert [r.id for r in read(first, second, third)] == [r.id for r in records]


def test_an_id_taken_by_a_renamed_record_is_renamed_in_turn(tmp_path: Path) -> None:
    path = jsonl(
        tmp_path / "a.jsonl",
        [{"id": "x", "text": BODY}, {"id": "x", "text": BODY}, {"id": "x~2", "text": BODY}],
    )
    assert [r.id for r in read(path)] == ["x", "x~2", "x~2~2"]


def test_ids_from_names_that_collide_across_inputs(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    (tmp_path / "x" / "page.txt").write_text(BODY)
    (tmp_path / "y" / "page.txt").write_text(BODY)

    records = read(tmp_path / "x" / "page.txt", tmp_path / "y" / "page.txt")

    assert [r.id for r in records] == ["page", "page~2"]
    assert records[1].warnings[0]["code"] == "repeated-id"


def test_repeated_ids_can_be_passed_on_for_a_caller_that_counts_them(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "p.jsonl", [{"id": "r", "text": BODY}, {"id": "r", "text": BODY}])
    records = list(read_inputs([str(path)], unique_ids=False))
    assert [(r.id, r.warnings) for r in records] == [("r", []), ("r", [])]


def test_newsum_clean_never_flags_a_record_as_its_own_duplicate(tmp_path: Path) -> None:
    rows = [{"id": "dup", "text": BODY}, {"id": "dup", "text": BODY}]
    path = jsonl(tmp_path / "in.jsonl", rows)
    out = tmp_path / "out.jsonl"

    result = CliRunner().invoke(app, ["clean", str(path), "-o", str(out)])

    assert result.exit_code == 0, result.stderr
    first, second = (json.loads(line) for line in out.read_text().splitlines())
    assert (first["id"], second["id"]) == ("dup", "dup~2")
    assert second["duplicate_of"] == "dup"
    assert second["warnings"][0]["code"] == "repeated-id"
