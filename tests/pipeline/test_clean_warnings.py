"""Content is never lost in silence: a body that cleaning shrank, or that is short, carries
a warning; `strict` (`newsum clean --strict`) makes such a record an error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from newsum.pipeline.clean import CleanOptions, CountWords, build_steps, clean
from newsum.pipeline.cli import app
from newsum.pipeline.core.errors import NewsumError
from newsum.pipeline.core.record import ERROR, OK, SKIPPED, Record
from newsum.pipeline.core.step import chain

PARAGRAPHS = [
    "Le conseil municipal a adopté mardi soir, par 38 voix contre 11, un plan de 120 millions "
    "d'euros pour rénover les écoles de la ville d'ici à 2030.",
    "Les premiers chantiers concerneront les groupes scolaires les plus anciens, construits "
    "dans les années 1960, dont les toitures ne répondent plus aux normes.",
    "L'opposition a dénoncé un calendrier trop lent et réclamé que les écoles des quartiers "
    "prioritaires passent en premier, ce que la majorité a refusé.",
]
ARTICLE = "\n".join(PARAGRAPHS)  # 75 words
BRIEF = "Le conseil municipal a adopté mardi soir un plan de rénovation des écoles."  # 13 words
# An over-broad user rule: it takes every paragraph that starts with "Le" or "Les".
BROAD_RULE = "[[line]]\nname = 'too-broad'\npattern = '''les? .*'''\nmax_chars = 1000\n"

NO_DEDUP = CleanOptions(dedup=False)


def clean_one(text: str, options: CleanOptions = NO_DEDUP) -> Record:
    (record,) = clean([Record(id="t", text=text)], options)
    return record


def codes(record: Record) -> list[str]:
    return [warning["code"] for warning in record.warnings]


def test_a_whole_article_has_no_warning() -> None:
    record = clean_one(ARTICLE + "\nPartager sur Facebook\nLire aussi : Le budget")
    assert record.ok and record.warnings == []


def test_a_short_body_is_flagged() -> None:
    record = clean_one(BRIEF)
    assert record.ok  # kept, but doubtful
    assert record.text == BRIEF
    assert record.warnings == [
        {"code": "body-short", "message": "the cleaned body has 13 words (< 40)"}
    ]


def test_a_body_that_lost_most_of_its_words_is_flagged(tmp_path: Path) -> None:
    rules = tmp_path / "broad.toml"
    rules.write_text(BROAD_RULE, encoding="utf-8")
    record = clean_one(ARTICLE, CleanOptions(rules_files=(rules,), dedup=False))
    assert record.ok
    assert record.text == PARAGRAPHS[2]
    assert codes(record) == ["body-shrunk", "body-short"]
    shrunk = record.warnings[0]["message"]
    assert "kept 24 of the body's 75 words (32%)" in shrunk
    assert "`removed`" in shrunk


def test_the_shrink_is_measured_against_the_text_cleaning_started_with() -> None:
    """Boilerplate lines count in the input: most of this page is furniture."""
    furniture = ["Partager sur Facebook", "Partager sur X", "Lire aussi : Le budget"] * 12
    record = clean_one("\n".join([*PARAGRAPHS, *furniture]))
    assert record.text == ARTICLE
    assert codes(record) == ["body-shrunk"]
    assert "kept 75 of the body's 207 words (36%)" in record.warnings[0]["message"]


def test_html_input_is_measured_on_the_text_the_reader_extracted(tmp_path: Path) -> None:
    """The page's markup, menus and footer are not the input: the reader's text is."""
    from newsum.pipeline.core.readers import read_inputs

    menu = "".join(f"<li><a href='/r{n}'>Rubrique numéro {n}</a></li>" for n in range(60))
    page = tmp_path / "page.html"
    page.write_text(
        f"<html lang='fr'><body><nav><ul>{menu}</ul></nav><article><h1>Les écoles rénovées"
        "</h1>" + "".join(f"<p>{p}</p>" for p in PARAGRAPHS) + "</article></body></html>",
        encoding="utf-8",
    )
    (record,) = clean(read_inputs([str(page)]), NO_DEDUP)
    assert record.ok and ARTICLE in record.text
    assert record.warnings == []


def test_nothing_left_is_skipped_not_warned() -> None:
    record = clean_one("Partager sur Facebook\nLire aussi : Le budget")
    assert record.status == SKIPPED
    assert record.warnings == []


def test_word_counts_do_not_outlive_their_records() -> None:
    """Each count is dropped once its record is through, ok, skipped or error alike."""
    steps = build_steps(NO_DEDUP)
    records = [
        Record(id="a", text=ARTICLE),
        Record(id="b", text="Partager sur Facebook"),  # skipped: nothing left
        Record(id="c", text="\x00binaire"),  # error
        Record(id="d", text=BRIEF),
    ]
    out = list(chain(records, steps))
    assert [r.status for r in out] == [OK, SKIPPED, ERROR, OK]
    (counter,) = [step for step in steps if isinstance(step, CountWords)]
    assert counter.words == {}


# ---- strict -------------------------------------------------------------------------------


def test_strict_makes_a_record_with_warnings_an_error(tmp_path: Path) -> None:
    rules = tmp_path / "broad.toml"
    rules.write_text(BROAD_RULE, encoding="utf-8")
    options = CleanOptions(rules_files=(rules,), dedup=False, strict=True)
    record = clean_one(ARTICLE, options)
    assert record.status == ERROR
    assert record.reason == "strict: the record has warnings: body-shrunk, body-short"
    assert codes(record) == ["body-shrunk", "body-short"]  # the warnings stay, for the why


def test_strict_leaves_a_whole_article_ok() -> None:
    assert clean_one(ARTICLE, CleanOptions(dedup=False, strict=True)).status == OK


def test_strict_comes_before_dedup() -> None:
    """No record is flagged a duplicate of one that strict made an error."""
    furniture = ["Partager sur Facebook", "Partager sur X", "Lire aussi : Le budget"] * 12
    shrunk = Record(id="shrunk", text="\n".join([*PARAGRAPHS, *furniture]))
    whole = Record(id="whole", text=ARTICLE)
    first, second = clean([shrunk, whole], CleanOptions(strict=True))
    assert (first.status, codes(first)) == (ERROR, ["body-shrunk"])
    assert second.text == first.text  # the same article...
    assert (second.status, second.duplicate_of) == (OK, None)  # ...but the first failed


def test_strict_is_validated() -> None:
    with pytest.raises(NewsumError, match="strict must be a boolean, not 'yes'"):
        CleanOptions(strict="yes")


def test_cli_strict_turns_warnings_into_errors(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(
        "".join(
            json.dumps({"id": id_, "text": text}, ensure_ascii=False) + "\n"
            for id_, text in (("article", ARTICLE), ("brief", BRIEF))
        ),
        encoding="utf-8",
    )
    runner = CliRunner()

    plain = runner.invoke(app, ["clean", str(source), "-o", "-"])
    assert plain.exit_code == 0, plain.stderr
    assert [json.loads(line)["status"] for line in plain.stdout.splitlines()] == [OK, OK]
    assert plain.stderr == "2 ok, 0 skipped, 0 error (1 with warnings)\n"

    strict = runner.invoke(app, ["clean", str(source), "-o", "-", "--strict"])
    assert strict.exit_code == 0, strict.stderr
    brief = json.loads(strict.stdout.splitlines()[1])
    assert (brief["status"], brief["reason"]) == (
        ERROR,
        "strict: the record has warnings: body-short",
    )
    assert strict.stderr == "1 ok, 0 skipped, 1 error (1 with warnings)\n"
