"""Text in any encoding French news comes in is read as text (reproduction D18)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from newsum.pipeline.clean import CleanOptions, clean
from newsum.pipeline.core.readers import ReadOptions, read_inputs
from newsum.pipeline.core.record import OK, Record

TITLE = "Réforme des retraites à l’Assemblée"
BODY = (
    "Le gouvernement a annoncé mardi une réforme des retraites. Les syndicats ont réagi avec "
    "colère, « une provocation » selon la CGT, qui appelle à manifester à Besançon et à Orléans."
)


def read(*paths: Path) -> list[Record]:
    return list(read_inputs([str(p) for p in paths], ReadOptions()))


@pytest.mark.parametrize(
    "encoding",
    ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "cp1252"],
)
def test_txt_in_each_encoding_is_read_as_text(tmp_path: Path, encoding: str) -> None:
    # "utf-16" and "utf-32" write a byte order mark; "-le" and "-be" do not.
    path = tmp_path / "article.txt"
    path.write_bytes(f"{TITLE}\n{BODY}\n".encode(encoding))

    [record] = read(path)
    [cleaned] = clean([record], CleanOptions(dedup=False))

    assert (record.title, record.text.strip()) == (TITLE, BODY)
    assert cleaned.status == OK, cleaned.reason  # UTF-16 used to be "binary data, not text"


def test_utf_16_from_notepad_through_gzip(tmp_path: Path) -> None:
    path = tmp_path / "notepad.txt.gz"
    path.write_bytes(gzip.compress(f"{TITLE}\r\n{BODY}\r\n".encode("utf-16")))
    [record] = read(path)
    assert record.text.startswith(TITLE) and BODY in record.text


def test_short_windows_1252_text_stays_windows_1252(tmp_path: Path) -> None:
    # charset-normalizer's own first guess for this is a Central European code page, which
    # would read "à" as "ŕ" and "è" as "č".
    path = tmp_path / "court.txt"
    path.write_bytes("Élu à Besançon, né à Orléans, père de trois enfants.".encode("cp1252"))
    [record] = read(path)
    assert record.text == "Élu à Besançon, né à Orléans, père de trois enfants."


def test_text_in_another_legacy_encoding_is_detected(tmp_path: Path) -> None:
    russian = "Правительство объявило во вторник о пенсионной реформе. Профсоюзы возмущены."
    path = tmp_path / "ru.txt"
    path.write_bytes(russian.encode("cp1251"))
    [record] = read(path)
    assert record.text == russian


def test_html_in_utf_16(tmp_path: Path) -> None:
    html = f"<html><head><title>{TITLE}</title></head><body><article><p>{BODY}</p></article>"
    path = tmp_path / "page.html"
    path.write_bytes(html.encode("utf-16"))
    [record] = read(path)
    assert record.status == OK and BODY in record.text


def test_binary_data_is_still_refused(tmp_path: Path) -> None:
    path = tmp_path / "image.txt"
    path.write_bytes(bytes(range(256)) * 40)
    [record] = clean(read(path), CleanOptions(dedup=False))
    assert record.status != OK
