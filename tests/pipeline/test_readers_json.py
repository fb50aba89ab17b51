"""JSON, JSONL and Parquet inputs keep every record and every field exactly: big integer
ids (reproduction D1), a field named `extra` (D2), absurd nesting (D3), repeated keys and
columns (D18)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from newsum.pipeline.clean import clean
from newsum.pipeline.core.readers import ReadOptions, read_inputs
from newsum.pipeline.core.record import ERROR, OK, Record
from newsum.pipeline.core.writers import dumps, write_jsonl

BODY = "Le gouvernement a annoncé mardi une réforme des retraites. Les syndicats ont réagi."


def read(*paths: Path, **options) -> list[Record]:
    return list(read_inputs([str(p) for p in paths], ReadOptions(**options)))


def test_integer_ids_of_any_size_are_read_exactly(tmp_path: Path) -> None:
    # Reproduction D1: orjson read these as the same float, so two articles shared an id.
    path = tmp_path / "big.jsonl"
    path.write_text(
        f'{{"id": 12345678901234567890123, "text": "{BODY}", "n": 18446744073709551617}}\n'
        f'{{"id": 12345678901234567890124, "text": "{BODY} B"}}\n'
        f'{{"id": -9223372036854775809, "text": "{BODY} C"}}\n'
        f'{{"id": 42, "text": "{BODY} D"}}\n'
    )

    records = read(path)

    assert [r.id for r in records] == [
        "12345678901234567890123",
        "12345678901234567890124",
        "-9223372036854775809",
        "42",
    ]
    assert all(r.status == OK and not r.warnings for r in records)
    # Other big integers stay exact too, through to the output line.
    assert records[0].extra == {"n": 18446744073709551617}
    assert json.loads(dumps(records[0]))["n"] == 18446744073709551617


def test_an_input_field_named_extra_is_kept(tmp_path: Path) -> None:
    # Reproduction D2: the field disappeared from the output.
    path = tmp_path / "x.jsonl"
    path.write_text(json.dumps({"id": "x", "text": BODY, "extra": {"k": 1}}) + "\n")

    [record] = read(path)
    out = tmp_path / "out.jsonl"
    write_jsonl(clean([record]), out)

    assert record.extra == {"extra": {"k": 1}}
    assert json.loads(out.read_text())["extra"] == {"k": 1}


def nested(depth: int) -> str:
    return (
        json.dumps({"id": "d", "text": BODY}).rstrip("}")
        + ', "m": '
        + "[" * depth
        + "]" * depth
        + "}"
    )


def test_a_line_nested_thousands_deep_is_one_error_record(tmp_path: Path) -> None:
    # Reproduction D3: a RecursionError stopped the whole run, at every resume.
    path = tmp_path / "deep.jsonl"
    lines = [json.dumps({"id": "a", "text": BODY}), nested(5000), nested(1000), nested(50)]
    lines.append(json.dumps({"id": "z", "text": BODY}))
    path.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out.jsonl"

    tally = write_jsonl(clean(read_inputs([str(path)])), out)

    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in records] == ["a", "deep-2", "deep-3", "d", "z"]
    for record in records[1:3]:
        assert record["status"] == ERROR
        assert "nested more than 500 levels deep" in record["reason"]
        assert "line" in record["reason"]
    assert records[3]["status"] == OK  # 50 levels are fine, and written back whole
    assert records[3]["m"] == json.loads("[" * 50 + "]" * 50)
    assert tally[OK] == 3 and tally[ERROR] == 2


def test_a_json_file_nested_too_deep_is_one_error_record(tmp_path: Path) -> None:
    (tmp_path / "deep.json").write_text("[" * 5000 + "]" * 5000)
    (tmp_path / "deep-item.json").write_text("[" + nested(800) + "]")

    too_deep, deep_item = read(tmp_path / "deep.json", tmp_path / "deep-item.json")

    assert (too_deep.id, too_deep.status) == ("deep", ERROR)
    assert "nested more than 500 levels deep" in too_deep.reason
    assert (deep_item.id, deep_item.status) == ("deep-item", ERROR)


def test_a_json_object_that_repeats_the_text_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "keys.jsonl"
    path.write_text(
        f'{{"id": "k1", "text": "{BODY}", "text": "second"}}\n'
        f'{{"id": "k2", "text": "{BODY}", "note": 1, "note": 2}}\n'
        # the key only inside a value: not a repeated key
        f'{{"id": "k3", "text": "{BODY} \\"text\\"", "titre": "le \\"text\\""}}\n'
    )

    first, second, third = read(path)

    assert first.status == ERROR and "the column 'text' appears 2 times" in first.reason
    assert (first.text, first.extra) == (BODY, {"text~2": "second"})  # both kept
    assert second.status == OK and second.extra == {"note": 2}  # JSON's usual last value
    assert third.status == OK and third.text == f'{BODY} "text"'


def test_a_parquet_file_with_a_repeated_column(tmp_path: Path) -> None:
    path = tmp_path / "dup.parquet"
    table = pa.Table.from_arrays(
        [pa.array(["p1"]), pa.array([BODY]), pa.array(["second"]), pa.array([1]), pa.array([2])],
        names=["id", "text", "text", "n", "n"],
    )
    pq.write_table(table, path)

    [record] = read(path)

    assert record.status == ERROR and "the column 'text' appears 2 times" in record.reason
    assert record.text == BODY
    assert record.extra == {"text~2": "second", "n": 1, "n~2": 2}
