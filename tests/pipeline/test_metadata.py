"""Steps 3 and 4: title, byline and date move out of the body into metadata."""

import pytest

from pipeline.clean.metadata import ExtractByline, ExtractTitle, parse_byline, parse_french_date
from pipeline.record import Record


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("14 mars 2024", "2024-03-14"),
        ("1er mars 2024", "2024-03-01"),
        ("samedi 22 février 2014", "2014-02-22"),
        ("3 août 2023 à 18h30", "2023-08-03T18:30"),
        ("3 aout 2023 à 8h", "2023-08-03T08:00"),
        ("14 déc. 2024", "2024-12-14"),
        ("14/03/2024", "2024-03-14"),
        ("14.03.2024 à 10:05", "2024-03-14T10:05"),
        ("2024-03-14T10:05:00+01:00", "2024-03-14T10:05"),
        ("31 février 2024", None),
        ("14/13/2024", None),
        ("hier soir", None),
        ("", None),
    ],
)
def test_parse_french_date(text, iso):
    assert parse_french_date(text) == iso


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Le 14 mars 2024, par Jean Martin", ("Jean Martin", "2024-03-14")),
        ("Le , par Stéphane le calme", ("Stéphane le calme", None)),
        ("Par Jean Martin, publié le 14 mars 2024 à 10h05", ("Jean Martin", "2024-03-14T10:05")),
        ("Par Jean Martin", ("Jean Martin", None)),
        ("PAR Claire Dubois et Jean Martin (AFP)", ("Claire Dubois et Jean Martin", None)),
        ("Publié le 14/03/2024 à 10h05, modifié le 15/03/2024", (None, "2024-03-14T10:05")),
        (
            "Le\u00a014 mars 2024, par Anne-Sophie L’Héritier",
            ("Anne-Sophie L'Héritier", "2024-03-14"),
        ),
        # sentences that start like bylines stay in the body
        ("Par ailleurs, le ministre a démissionné.", None),
        ("Par la suite il est parti", None),
        ("Le président, par Emmanuel Macron", None),
        ("Par Jean, qui était présent ce jour-là", None),
        ("Le 14 mars 2024, par décret, le gouvernement a fixé les tarifs.", None),
        ("Par " + "Jean " * 40, None),
    ],
)
def test_parse_byline(line, expected):
    assert parse_byline(line) == expected


def test_byline_step_moves_byline_out_of_the_body():
    text = "Premier paragraphe.\nLe 14 mars 2024, par Jean Martin\nDeuxième paragraphe."
    (record,) = ExtractByline()([Record("x", text=text)])
    assert record.text == "Premier paragraphe.\nDeuxième paragraphe."
    assert (record.author, record.date) == ("Jean Martin", "2024-03-14")
    assert record.removed == [{"rule": "byline", "text": "Le 14 mars 2024, par Jean Martin"}]


def test_byline_step_keeps_metadata_from_the_input():
    record = Record("x", text="Corps.\nPar Jean Martin", author="Rédaction", date="2024-01-01")
    (record,) = ExtractByline()([record])
    assert (record.author, record.date, record.text) == ("Rédaction", "2024-01-01", "Corps.")


def test_repeated_title_and_subtitle_are_kept_once():
    title = "La panne géante touche tout le pays"
    subtitle = "Les opérateurs promettent un retour à la normale ?"
    body = ["Premier paragraphe de l'article.", "Deuxième paragraphe de l'article."]
    text = "\n".join([*body, title, subtitle, title, subtitle])
    (record,) = ExtractTitle()([Record("x", text=text)])
    assert record.title == title
    assert record.extra["subtitle"] == subtitle
    assert record.text == "\n".join(body)
    assert [r["rule"] for r in record.removed] == ["title"] * 4


def test_known_title_is_removed_from_the_body():
    text = "Le titre de l’article\nLe corps de l'article, qui reste."
    record = Record("x", text=text, title="Le titre de l'article")
    (record,) = ExtractTitle()([record])
    assert record.title == "Le titre de l'article"
    assert record.text == "Le corps de l'article, qui reste."


def test_repeated_body_sentences_and_short_lines_are_not_titles():
    text = "\n".join(["Il a dit non.", "Il a dit non.", "Publicité", "Publicité", "Fin du texte."])
    (record,) = ExtractTitle()([Record("x", text=text)])
    assert record.title is None
    assert record.text == text
