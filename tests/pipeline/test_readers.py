"""Readers (every input format, bad input, laziness) and the JSONL writer."""

from __future__ import annotations

import datetime
import gzip
import io
import json
import os
import sys
from collections.abc import Iterator
from itertools import islice
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from newsum.pipeline.clean import clean
from newsum.pipeline.clean.metadata import ExtractTitle
from newsum.pipeline.core import readers, writers
from newsum.pipeline.core.errors import NewsumError
from newsum.pipeline.core.readers import ReadOptions, read_inputs
from newsum.pipeline.core.record import ERROR, OK, Record
from newsum.pipeline.core.step import BATCH_SIZE
from newsum.pipeline.core.writers import dumps, write_jsonl
from tests.fixtures.texts import BODY, BODY2

HTML = f"""<!DOCTYPE html>
<html lang="fr"><head><title>Budget voté à Rennes</title>
<meta name="author" content="Jeanne Martin"></head>
<body><nav><a href="/">Accueil</a> <a href="/politique">Politique</a></nav>
<article><h1>Budget voté à Rennes</h1>
<p>{BODY}</p>
<p>Le maire a défendu des choix difficiles mais nécessaires pour les finances de la ville,
qui doit aussi financer la rénovation de plusieurs écoles du centre.</p>
</article>
<footer>© 2024 Ouest Journal. Tous droits réservés.</footer></body></html>
"""


def write_jsonl_lines(path: Path, rows: list) -> Path:
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))
    return path


def read(*specs: str | Path, **options: str) -> list[Record]:
    return list(read_inputs([str(s) for s in specs], ReadOptions(**options)))


# ---- one format at a time -----------------------------------------------------------


def test_txt_first_line_becomes_the_title_when_it_looks_like_one(tmp_path: Path) -> None:
    titled = tmp_path / "budget.txt"
    titled.write_text(f"Budget voté à Rennes\n{BODY}\n{BODY2}\n", encoding="utf-8")
    untitled = tmp_path / "secheresse.txt"
    untitled.write_text(f"{BODY2}\n{BODY}\n", encoding="utf-8")

    assert all(r.title is None for r in read(titled, untitled))  # the cleaner's to find
    first, second = ExtractTitle()(read(titled, untitled))

    assert (first.id, first.title, first.status) == ("budget", "Budget voté à Rennes", OK)
    assert first.text.strip() == f"{BODY}\n{BODY2}"
    assert (second.id, second.title) == ("secheresse", None)
    assert second.text.strip() == f"{BODY2}\n{BODY}"


def test_txt_in_windows_1252_is_decoded(tmp_path: Path) -> None:
    path = tmp_path / "ancien.txt"
    path.write_bytes(BODY.encode("cp1252"))
    assert read(path)[0].text == BODY


def test_ids_keep_every_part_of_the_file_name_but_the_format(tmp_path: Path) -> None:
    for name in ("le.monde.2024-03-14.txt", "le.monde.2024-03-15.txt", "v1.2.jsonl.gz"):
        data = BODY.encode() if name.endswith(".txt") else b'{"text": "x"}\n'
        (tmp_path / name).write_bytes(gzip.compress(data) if name.endswith(".gz") else data)

    ids = [r.id for r in read(tmp_path)]

    assert ids == ["le.monde.2024-03-14", "le.monde.2024-03-15", "v1.2-1"]


def test_html_goes_through_trafilatura(tmp_path: Path) -> None:
    (tmp_path / "page.html").write_text(HTML, encoding="utf-8")
    (tmp_path / "vide.htm").write_text("<html><head><title>Vide</title></head><body></body></html>")

    page, empty = read(tmp_path / "page.html", tmp_path / "vide.htm")

    assert page.status == OK
    assert page.title == "Budget voté à Rennes"
    assert BODY in page.text
    assert "Accueil" not in page.text and "Tous droits réservés" not in page.text
    assert page.html is None  # dropped after extraction unless asked
    assert (empty.id, empty.status) == ("vide", ERROR)
    assert "no main text" in empty.reason


def test_html_is_kept_when_asked(tmp_path: Path) -> None:
    (tmp_path / "page.html").write_text(HTML, encoding="utf-8")
    [page] = read(tmp_path / "page.html", keep_html=True)
    assert page.html == HTML


def test_jsonl_json_and_csv(tmp_path: Path) -> None:
    lines = write_jsonl_lines(
        tmp_path / "a.jsonl", [{"id": "j1", "text": BODY, "rubrique": "politique"}, {"text": BODY2}]
    )
    (tmp_path / "b.json").write_text(json.dumps([{"text": BODY}, {"id": 7, "text": BODY2}]))
    (tmp_path / "c.json").write_text(json.dumps({"text": BODY, "title": "Seul"}))
    (tmp_path / "d.csv").write_text(
        f'id,title,text\nc1,Budget,"{BODY}"\nc2,Sécheresse,"{BODY2}\nsur deux lignes"\n',
        encoding="utf-8",
    )

    records = read(lines, tmp_path / "b.json", tmp_path / "c.json", tmp_path / "d.csv")

    assert [r.id for r in records] == ["j1", "a-2", "b-1", "7", "c", "c1", "c2"]
    assert all(r.status == OK for r in records)
    assert records[0].extra == {"rubrique": "politique"}  # unknown fields are kept
    assert records[4].title == "Seul"
    assert (records[5].title, records[5].text) == ("Budget", BODY)
    assert records[6].text == f"{BODY2}\nsur deux lignes"


def test_column_mapping(tmp_path: Path) -> None:
    path = write_jsonl_lines(
        tmp_path / "corpus.jsonl",
        [{"article": BODY, "guid": "g-1", "headline": "Budget", "text": "le chapeau"}],
    )
    [record] = read(path, text_field="article", id_field="guid", title_field="headline")
    assert (record.id, record.title, record.text) == ("g-1", "Budget", BODY)


def test_missing_text_column_names_the_columns_and_the_option(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(f'guid,article\ng1,"{BODY}"\n')
    [record] = read(path)
    assert record.status == ERROR
    assert "row 1" in record.reason and "article" in record.reason
    assert "--text-field" in record.reason
    [mapped] = read(path, text_field="article", id_field="guid")
    assert (mapped.id, mapped.text, mapped.status) == ("g1", BODY, OK)


def test_parquet_with_timestamps_and_missing_values(tmp_path: Path) -> None:
    path = tmp_path / "lot.parquet"
    table = pa.table(
        {
            "id": [10, 11],
            "text": [BODY, BODY2],
            "title": ["Budget", None],
            "date": [datetime.datetime(2024, 3, 14, 10, 5), None],
            "score": [float("nan"), 0.5],
        }
    )
    pq.write_table(table, path)

    first, second = read(path)

    assert (first.id, first.text, first.title) == ("10", BODY, "Budget")
    assert first.date == "2024-03-14T10:05:00"  # a string, like every other date
    assert (second.id, second.title, second.date) == ("11", None, None)
    # The whole row reaches the output as valid JSON (NaN is not JSON).
    assert json.loads(dumps(first))["score"] is None


def test_metadata_from_tables_is_text_so_cleaning_works(tmp_path: Path) -> None:
    # pandas writes a missing title as NaN; the title step must not fail on it.
    path = tmp_path / "pandas.parquet"
    pq.write_table(pa.table({"text": [f"{BODY}\n{BODY2}"], "title": [float("nan")]}), path)
    [record] = clean(read_inputs([str(path)]))
    assert record.status == OK, record.reason
    assert record.title is None


def test_directories_are_read_recursively_in_sorted_order(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    (root / "b" / "c").mkdir(parents=True)
    (root / ".cache").mkdir()
    (root / "b" / "c" / "z.txt").write_text(BODY)
    (root / "b" / "a.jsonl").write_text(json.dumps({"text": BODY}) + "\n")
    (root / "a.txt").write_text(BODY)
    (root / "b.html").write_text(HTML)
    (root / "notes.md").write_text("not an input format")
    (root / ".cache" / "hidden.txt").write_text(BODY)

    ids = [r.id for r in read(root)]

    assert ids == ["a", "b/a-1", "b/c/z", "b"]


def test_gzip_inputs(tmp_path: Path) -> None:
    path = tmp_path / "lot.jsonl.gz"
    path.write_bytes(gzip.compress(f'{{"id": "g", "text": "{BODY}"}}\n'.encode()))
    (tmp_path / "a.txt.gz").write_bytes(gzip.compress(BODY.encode()))
    assert [(r.id, r.text) for r in read(path, tmp_path / "a.txt.gz")] == [
        ("g", BODY),
        ("a", BODY),
    ]


def test_stdin_is_jsonl(monkeypatch: pytest.MonkeyPatch) -> None:
    data = f'{{"id": "s1", "text": "{BODY}"}}\n\n{{"text": "{BODY2}"}}\n'.encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    records = read("-")
    assert [(r.id, r.text) for r in records] == [("s1", BODY), ("stdin-3", BODY2)]


@pytest.fixture
def hf_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`datasets` writes its Arrow cache here, not in the user's home."""
    datasets = pytest.importorskip("datasets")
    cache = tmp_path / "hf-cache"
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", cache)
    return cache


def test_hf_dataset_from_a_local_folder(tmp_path: Path, hf_cache: Path) -> None:
    folder = tmp_path / "mon-corpus"
    folder.mkdir()
    write_jsonl_lines(folder / "train.jsonl", [{"id": "h1", "text": BODY}, {"article": BODY2}])

    records = read(f"hf:{folder}:train")

    assert [r.id for r in records] == ["h1", "mon-corpus-train-2"]
    assert records[0].text == BODY
    assert records[1].status == ERROR and "row 2" in records[1].reason
    assert hf_cache.exists()


# ---- the mix, in order ---------------------------------------------------------------


def test_every_input_kind_in_one_call_keeps_the_given_order(
    tmp_path: Path, hf_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "ds").mkdir()
    write_jsonl_lines(tmp_path / "ds" / "train.jsonl", [{"id": "hf", "text": BODY}])
    (tmp_path / "t.txt").write_text(BODY)
    (tmp_path / "h.html").write_text(HTML)
    write_jsonl_lines(
        tmp_path / "l.jsonl", [{"id": "l1", "text": BODY}, {"id": "l2", "text": BODY}]
    )
    (tmp_path / "j.json").write_text(json.dumps({"id": "js", "text": BODY}))
    (tmp_path / "c.csv").write_text(f'id,text\ncsv,"{BODY}"\n')
    pq.write_table(pa.table({"id": ["pq"], "text": [BODY]}), tmp_path / "p.parquet")
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "d.txt").write_text(BODY)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b'{"id": "in", "text": "x"}\n')))

    specs = ["p.parquet", "-", "t.txt", f"hf:{tmp_path / 'ds'}:train", "h.html", "l.jsonl"]
    specs += ["dir", "c.csv", "j.json"]
    records = read(*(s if s.startswith(("hf:", "-")) else tmp_path / s for s in specs))

    assert [r.id for r in records] == ["pq", "in", "t", "hf", "h", "l1", "l2", "d", "csv", "js"]


# ---- bad input: one error record each, the rest goes on ------------------------------


def test_bad_jsonl_lines_become_error_records_with_their_line_number(tmp_path: Path) -> None:
    path = tmp_path / "mixte.jsonl"
    path.write_bytes(
        b"\n".join(
            [
                json.dumps({"id": "ok1", "text": BODY}).encode(),
                b'{"id": "cass\xc3\xa9", "text": ',  # 2: truncated JSON
                b'{"id": "latin1", "text": "caf\xe9 cr\xe8me"}',  # 3: not UTF-8
                b'["une", "liste"]',  # 4: not an object
                b'{"id": "sans-texte", "titre": "Rien"}',  # 5: no text
                b'{"id": "nombre", "text": 42}',  # 6: not a string
                json.dumps({"id": "ok2", "text": BODY2}).encode(),
            ]
        )
        + b"\n"
    )

    records = read(path)

    assert [r.status for r in records] == [OK, ERROR, ERROR, ERROR, ERROR, ERROR, OK]
    for lineno, record in enumerate(records[1:6], start=2):
        assert f"{path} line {lineno}:" in record.reason
    assert "invalid JSON" in records[1].reason
    assert "UTF-8" in records[2].reason
    assert "JSON object" in records[3].reason
    assert "no 'text' field" in records[4].reason and "titre" in records[4].reason
    assert "int, not a string" in records[5].reason
    ids = ["ok1", "mixte-2", "mixte-3", "mixte-4", "sans-texte", "nombre", "ok2"]
    assert [r.id for r in records] == ids
    assert records[5].text == 42  # the input value is kept, not lost


def test_jsonl_with_a_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "windows.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"id": "bom", "text": BODY}).encode() + b"\n")
    [record] = read(path)
    assert (record.id, record.status) == ("bom", OK)


def test_invalid_json_file_is_one_error_record(tmp_path: Path) -> None:
    (tmp_path / "casse.json").write_text('{"text": "pas fini')
    [record] = read(tmp_path / "casse.json")
    assert (record.id, record.status) == ("casse", ERROR)
    assert "invalid JSON" in record.reason


def test_a_file_that_is_not_parquet_is_one_error_record(tmp_path: Path) -> None:
    (tmp_path / "faux.parquet").write_text("ceci n'est pas du Parquet")
    (tmp_path / "z.txt").write_text(BODY)
    bad, good = read(tmp_path / "faux.parquet", tmp_path / "z.txt")
    assert (bad.id, bad.status) == ("faux", ERROR) and "Parquet" in bad.reason
    assert good.status == OK


def test_truncated_gzip_ends_its_input_with_an_error_record(tmp_path: Path) -> None:
    rows = "".join(json.dumps({"id": f"r{i}", "text": BODY}) + "\n" for i in range(2000))
    data = gzip.compress(rows.encode())
    (tmp_path / "coupe.jsonl.gz").write_bytes(data[: len(data) // 2])
    (tmp_path / "suite.txt").write_text(BODY)

    records = read(tmp_path / "coupe.jsonl.gz", tmp_path / "suite.txt")

    *lines, broken, after = records
    assert lines and all(r.status == OK for r in lines)
    assert (broken.status, broken.id) == (ERROR, "coupe")
    assert "cannot read" in broken.reason
    assert (after.id, after.status) == ("suite", OK)


def test_ids_are_data_never_paths(tmp_path: Path) -> None:
    ids = ["../../etc/passwd", "/tmp/x", str(tmp_path / "pwned"), "a/../../b", ""]
    path = write_jsonl_lines(tmp_path / "ids.jsonl", [{"id": i, "text": BODY} for i in ids])
    records = read(path)
    assert [r.id for r in records] == [*ids[:-1], "ids-5"]  # an empty id gets the default
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ids.jsonl"]


# ---- run errors: raised up front -----------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("absent.jsonl", "input not found"),
        ("notes.md", "unknown input format '.md'"),
        ("sans-extension", "unknown input format '(no extension)'"),
        ("hf:seulement-un-nom", "bad dataset spec"),
        ("hf:a:b:c:d", "bad dataset spec"),
    ],
)
def test_run_errors_raise_when_read_inputs_is_called(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spec: str, message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("notes.md").write_text("x")
    Path("sans-extension").write_text("x")
    Path("bon.txt").write_text(BODY)
    with pytest.raises(NewsumError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_inputs(["bon.txt", spec])  # no iteration needed: the check is eager


def test_no_input_is_a_run_error() -> None:
    with pytest.raises(NewsumError, match="no input given"):
        read_inputs([])


# ---- streaming -----------------------------------------------------------------------


class CountingStdin:
    """A stdin of `total` JSONL lines that counts how many have been taken from it."""

    def __init__(self, total: int) -> None:
        self.taken = 0
        self.total = total
        self.buffer = self  # read as sys.stdin.buffer.readline(size)

    def readline(self, size: int = -1) -> bytes:
        if self.taken == self.total:
            return b""
        i, self.taken = self.taken, self.taken + 1
        line = json.dumps({"id": f"s{i}", "text": f"{BODY} Numéro {i}."}).encode() + b"\n"
        assert size < 0 or len(line) <= size  # short lines: one call, one line
        return line

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.readline, b"")


def test_readers_and_cleaning_are_lazy(monkeypatch: pytest.MonkeyPatch) -> None:
    stdin = CountingStdin(100_000)
    monkeypatch.setattr(sys, "stdin", stdin)

    records = clean(read_inputs(["-"]))
    assert stdin.taken == 0
    first = list(islice(records, 10))

    assert [r.id for r in first] == [f"s{i}" for i in range(10)]
    assert stdin.taken == BATCH_SIZE  # one batch read, not 100,000 lines


def test_a_big_jsonl_file_is_read_line_by_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "gros.jsonl"
    with path.open("w") as f:
        for i in range(100_000):
            f.write(json.dumps({"id": f"r{i}", "text": BODY}) + "\n")
    built: list[str] = []
    from_row = readers._from_row

    def counting(row, *args, **kwargs):
        built.append(row["id"])
        return from_row(row, *args, **kwargs)

    monkeypatch.setattr(readers, "_from_row", counting)

    first = list(islice(read_inputs([str(path)]), 10))

    assert [r.id for r in first] == [f"r{i}" for i in range(10)]
    assert len(built) == 10


# ---- the JSONL writer ----------------------------------------------------------------


def records_then_failure(n: int, error: BaseException | None = None) -> Iterator[Record]:
    for i in range(n):
        yield Record(id=f"r{i}", text=BODY)
    raise error or RuntimeError("the stream broke")


def test_output_is_atomic_when_the_stream_fails(tmp_path: Path) -> None:
    target = tmp_path / "out" / "clean.jsonl"
    with pytest.raises(RuntimeError, match="the stream broke"):
        write_jsonl(records_then_failure(1000), target)
    assert not target.exists()
    assert list(target.parent.iterdir()) == []  # no temporary file left behind


def test_a_failed_run_leaves_the_previous_output_untouched(tmp_path: Path) -> None:
    target = tmp_path / "clean.jsonl"
    target.write_text("previous run\n")
    with pytest.raises(RuntimeError):
        write_jsonl(records_then_failure(3), target)
    with pytest.raises(KeyboardInterrupt):
        write_jsonl(records_then_failure(3, KeyboardInterrupt()), target)
    assert target.read_text() == "previous run\n"
    assert [p.name for p in tmp_path.iterdir()] == ["clean.jsonl"]


def test_write_jsonl_counts_and_writes_every_record(tmp_path: Path) -> None:
    records = [
        Record(id="a", text=BODY),
        Record(id="b", text="").mark("skipped", "empty text"),
        Record(id="c").mark(ERROR, "no text"),
    ]
    target = tmp_path / "out.jsonl"

    tally = write_jsonl(iter(records), target)

    assert tally.line() == "1 ok, 1 skipped, 1 error"
    assert [json.loads(line)["id"] for line in target.read_text().splitlines()] == ["a", "b", "c"]
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask  # a normal file, not 0600


def test_writing_into_a_directory_is_a_run_error(tmp_path: Path) -> None:
    with pytest.raises(NewsumError, match="is a directory"):
        write_jsonl(iter([Record(id="a", text=BODY)]), tmp_path)


def test_dumps_writes_valid_json_for_any_value_an_input_can_hold() -> None:
    record = Record(
        id="x",
        text="un tiret cadratin \ud800 isolé",  # a lone surrogate, as JSON input may hold
        date="2024-03-14",
        extra={
            "publie": datetime.datetime(2024, 3, 14, 10, 5),
            "jour": datetime.date(2024, 3, 14),
            "brut": b"caf\xc3\xa9",
            "notes": [float("nan"), 1.5, {"poids": float("inf")}],
        },
    )

    line = dumps(record)

    line.encode("utf-8")  # would raise on an unpaired surrogate
    data = json.loads(line, parse_constant=lambda name: pytest.fail(f"{name} in output"))
    assert data["text"] == record.text
    assert data["publie"] == "2024-03-14T10:05:00" and data["jour"] == "2024-03-14"
    assert data["brut"] == "café"
    assert data["notes"] == [None, 1.5, {"poids": None}]
    assert "\n" not in line


def test_write_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    tally = writers.write_jsonl(iter([Record(id="a", text=BODY)]), "-")
    out = capsys.readouterr().out
    assert [json.loads(line)["id"] for line in out.splitlines()] == ["a"]
    assert tally[OK] == 1
