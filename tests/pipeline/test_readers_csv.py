"""CSV inputs keep every row: a malformed row is one error record, the rows after it
survive (reproduction S1), and an ambiguous header is refused (D18)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from newsum.pipeline.core.readers import ReadOptions, read_inputs
from newsum.pipeline.core.record import ERROR, OK, Record

BODY = "Le conseil municipal de Rennes a voté mardi soir le budget de l'année prochaine."


def read(*paths: Path, **options) -> list[Record]:
    return list(read_inputs([str(p) for p in paths], ReadOptions(**options)))


def test_a_stray_quote_costs_one_row_not_the_rest_of_the_file(tmp_path: Path) -> None:
    # Reproduction S1: 100 rows, row 3 opens a quote that never closes.
    lines = ["id,text"]
    quote = {2: '"'}
    lines += [f"r{i},{quote.get(i, '')}Article {i}. Le maire a parlé mardi." for i in range(100)]
    path = tmp_path / "q.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    records = read(path)

    assert len(records) == 100  # as many records as rows
    broken = records[2]
    assert (broken.id, broken.status) == ("q-3", ERROR)
    assert "row 3 (line 4)" in broken.reason and "never closes" in broken.reason
    rest = [records[i] for i in range(100) if i != 2]
    assert all(r.status == OK for r in rest)
    assert [r.id for r in rest] == [f"r{i}" for i in range(100) if i != 2]
    assert records[3].text == "Article 3. Le maire a parlé mardi."


def test_a_quote_that_closes_mid_cell_is_one_error_record(tmp_path: Path) -> None:
    path = tmp_path / "mal.csv"
    path.write_text(
        f'id,text\nm1,"{BODY}\nr2,Le maire a dit "oui" hier\nr3,{BODY}\n', encoding="utf-8"
    )

    first, second, third = read(path)

    assert (first.id, first.status) == ("mal-1", ERROR)
    assert "line 2" in first.reason
    # A quote inside a cell that does not start with one is text, as in every CSV reader.
    assert (second.id, second.text, second.status) == ("r2", 'Le maire a dit "oui" hier', OK)
    assert (third.id, third.text) == ("r3", BODY)


def test_quoted_cells_may_span_lines(tmp_path: Path) -> None:
    path = tmp_path / "multi.csv"
    path.write_text(
        f'id,text,title\na,"{BODY}\n\nDeuxième paragraphe, avec ""guillemets"".",Budget\n'
        f"b,{BODY},Autre\n",
        encoding="utf-8",
    )

    first, second = read(path)

    assert first.status == OK and first.title == "Budget"
    assert first.text == f'{BODY}\n\nDeuxième paragraphe, avec "guillemets".'
    assert (second.id, second.status) == ("b", OK)


def test_a_row_that_swallows_lines_into_the_wrong_shape_is_refused(tmp_path: Path) -> None:
    # The stray quote of line 2 closes cleanly on line 4 (`27",`): the joined "row" has 4
    # cells where the header has 3. Only line 2 is lost.
    path = tmp_path / "shape.csv"
    path.write_text(
        f'id,text,title\nx1,{BODY},"Titre un\nx2,{BODY},Titre deux\nx3,Écran de 27",Titre trois\n',
        encoding="utf-8",
    )

    records = read(path)

    assert [r.status for r in records] == [ERROR, OK, OK]
    assert "over 3 lines" in records[0].reason and "header has 3" in records[0].reason
    assert [(r.id, r.title) for r in records[1:]] == [("x2", "Titre deux"), ("x3", "Titre trois")]
    assert records[2].text == 'Écran de 27"'


def test_cells_beyond_the_header_are_not_dropped_in_silence(tmp_path: Path) -> None:
    path = tmp_path / "virgule.csv"
    path.write_text("id,text\nv1,Bonjour, le maire a parlé\nv2,Bonsoir\n", encoding="utf-8")

    first, second = read(path)

    assert first.status == ERROR
    assert "3 cells, but the header has 2" in first.reason
    assert (second.id, second.status) == ("v2", OK)


def test_a_row_over_the_limit_is_an_error_and_the_next_rows_survive(tmp_path: Path) -> None:
    path = tmp_path / "long.csv.gz"
    long = "x" * 5000
    path.write_bytes(gzip.compress(f"id,text\nl1,{long}\nl2,{BODY}\n".encode()))

    first, second = read(path, max_bytes=1000)

    assert (first.id, first.status) == ("long-1", ERROR)
    assert "1,000-byte limit" in first.reason
    assert (second.id, second.text) == ("l2", BODY)


def test_an_unclosed_quote_is_bounded_by_the_limit(tmp_path: Path) -> None:
    # A quote that never closes on a file far bigger than the limit: the reader gives up
    # after `max_bytes`, not at the end of the file, and goes on after the broken line.
    rows = [f"r{i},Ligne {i} du fichier." for i in range(2000)]
    rows[1] = 'r1,"Une citation jamais fermée'
    path = tmp_path / "big.csv"
    path.write_text("id,text\n" + "\n".join(rows) + "\n", encoding="utf-8")

    records = read(path, max_bytes=2000)

    assert len(records) == 2000
    assert records[1].status == ERROR and "still open after 2,000" in records[1].reason
    assert all(r.status == OK for i, r in enumerate(records) if i != 1)


@pytest.mark.parametrize(
    ("header", "options", "column"),
    [
        ("id,text,text", {}, "text"),
        ("id,id,text", {}, "id"),
        ("id,titre,text,titre", {"title_field": "titre"}, "titre"),
        ("guid,corps,corps", {"text_field": "corps", "id_field": "guid"}, "corps"),
    ],
)
def test_a_repeated_column_that_matters_is_refused(
    tmp_path: Path, header: str, options: dict, column: str
) -> None:
    # Reproduction D18: `id,text,text` used to keep the second text, silently.
    width = header.count(",") + 1
    path = tmp_path / "dc.csv"
    path.write_text(f"{header}\n" + ",".join(f"cell{i}" for i in range(width)) + "\n")

    [record] = read(path, **options)

    assert record.status == ERROR
    assert f"the column {column!r} appears 2 times" in record.reason
    assert "row 1" in record.reason
    # Both values are kept: nothing is lost, the user renames a column and reads again.
    values = set(record.to_dict().values())
    assert {f"cell{i}" for i in range(width)} <= values
    assert f"{column}~2" in record.to_dict()


def test_other_repeated_columns_keep_every_value(tmp_path: Path) -> None:
    path = tmp_path / "notes.csv"
    path.write_text(f"id,note,text,note\nn1,première,{BODY},seconde\n")

    [record] = read(path)

    assert record.status == OK
    assert record.extra == {"note": "première", "note~2": "seconde"}


def test_csv_in_windows_1252_and_utf_16_is_decoded(tmp_path: Path) -> None:
    content = f"id,title,text\nw1,Élu à Besançon,{BODY}\n"
    (tmp_path / "ancien.csv").write_bytes(content.encode("cp1252"))
    (tmp_path / "excel.csv").write_bytes(content.encode("utf-16"))  # with a BOM
    (tmp_path / "sans-bom.csv").write_bytes(content.encode("utf-16-le"))

    records = read(tmp_path / "ancien.csv", tmp_path / "excel.csv", tmp_path / "sans-bom.csv")

    for record in records:
        assert (record.title, record.text, record.status) == ("Élu à Besançon", BODY, OK)


def test_a_stray_windows_1252_line_in_a_utf_8_csv_is_not_replaced(tmp_path: Path) -> None:
    path = tmp_path / "mixte.csv"
    path.write_bytes(f"id,text\nu1,{BODY}\n".encode() + "c2,Réunion à Besançon.\n".encode("cp1252"))
    first, second = read(path)
    assert first.text == BODY
    assert second.text == "Réunion à Besançon."
