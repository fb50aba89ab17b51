"""Steps 3 and 4: title, byline and date move out of the body into metadata."""

import pytest

from newsum.pipeline.clean import metadata
from newsum.pipeline.clean.metadata import (
    ExtractByline,
    ExtractTitle,
    parse_byline,
    parse_french_date,
)
from newsum.pipeline.core.record import Record


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
        # short forms, day first (dateparser)
        ("12/02/24", "2024-02-12"),
        ("12/02/24 à 10h47", "2024-02-12T10:47"),
        ("02/10/24", "2024-10-02"),
        ("02/10/2024 à 18h12", "2024-10-02T18:12"),
        ("12.02.24 à 9h", "2024-02-12T09:00"),
        ("31 février 2024", None),
        ("14/13/2024", None),
        ("31/02/24", None),
        ("hier soir", None),
        ("mardi 1er octobre", None),  # no year: no date
        ("le président", None),
        ("", None),
    ],
)
def test_parse_french_date(text, iso):
    assert parse_french_date(text) == iso


def test_common_dates_never_reach_dateparser(monkeypatch: pytest.MonkeyPatch) -> None:
    """dateparser takes milliseconds a call: the common forms must not pay for it."""

    def fail(text: str) -> None:
        raise AssertionError(f"dateparser called for {text!r}")

    monkeypatch.setattr(metadata, "_parse_with_dateparser", fail)
    assert parse_french_date("14 mars 2024 à 05h45") == "2024-03-14T05:45"
    assert parse_french_date("02/10/2024 à 18h12") == "2024-10-02T18:12"


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
        ("Publié le 12/02/24 à 10h47 — Mis à jour le 12/02/24 à 11h05", (None, "2024-02-12T10:47")),
        # a signature on the date line: the site's name, the authors, then the dates
        (
            "Ouest-France Yann Le Berre. Publié le 02/10/2024 à 18h12 "
            "Modifié le 03/10/2024 à 08h40",
            ("Yann Le Berre", "2024-10-02T18:12"),
        ),
        (
            "Le Parisien Marie de La Tour | Publié le 3 mai 2024 à 7h00",
            ("Marie de La Tour", "2024-05-03T07:00"),
        ),
        (
            "Hélène Jacquemin et Thomas Lerouge. Publié le 14 mars 2024",
            ("Hélène Jacquemin et Thomas Lerouge", "2024-03-14"),
        ),
        # sentences that start like bylines stay in the body
        ("Le livre de Jean Dupont. Publié le 3 mai 1998 chez Gallimard.", None),
        ("Jean Dupont. Publié le lendemain, son livre a fait scandale.", None),
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


# ---- kickers: a section name above the headline is no title ---------------------------

HEADLINE = "Drôme : un automobiliste flashé à 215 km/h sur l'A7"
STANDFIRST = "Le conducteur, âgé de 24 ans, roulait avec un permis probatoire."


def test_kicker_taken_for_the_title_gives_way_to_the_headline() -> None:
    """A .txt file's first line is the kicker: the headline under it is the title."""
    record = Record("x", text=f"SECURITE ROUTIERE\n{HEADLINE}\n{STANDFIRST}")
    (record,) = ExtractTitle()([record])
    assert record.title == HEADLINE
    assert record.text == STANDFIRST
    assert record.removed == [
        {"rule": "kicker", "text": "SECURITE ROUTIERE"},
        {"rule": "title", "text": HEADLINE},
    ]


def test_kicker_above_the_title_leaves_the_body() -> None:
    """HTML: the title is known, and the extracted text starts with the kicker."""
    record = Record("x", title=HEADLINE, text=f"Emploi\n{HEADLINE}\n{STANDFIRST}")
    (record,) = ExtractTitle()([record])
    assert (record.title, record.text) == (HEADLINE, STANDFIRST)
    assert [e["rule"] for e in record.removed] == ["kicker", "title"]


def test_a_title_the_input_gives_is_kept_however_short() -> None:
    """A feed's or a column's title is the publisher's: never taken for a kicker."""
    record = Record("x", title="Grève à Brest", text=f"{HEADLINE}\n{STANDFIRST}")
    (record,) = ExtractTitle()([record])
    assert (record.title, record.text, record.removed) == (
        "Grève à Brest",
        f"{HEADLINE}\n{STANDFIRST}",
        [],
    )


@pytest.mark.parametrize(
    ("title", "text"),
    [
        # a short title, then the body: the title stays
        ("Sécheresse", STANDFIRST),
        ("Grève à Lyon", f"{STANDFIRST}\nLes syndicats appellent à manifester jeudi"),
        # a long title is no kicker
        (HEADLINE, "Les syndicats appellent à manifester jeudi\n" + STANDFIRST),
    ],
)
def test_a_real_title_is_no_kicker(title: str, text: str) -> None:
    (record,) = ExtractTitle()([Record("x", title=title, text=text)])
    assert (record.title, record.text, record.removed) == (title, text, [])


def test_short_line_not_above_the_title_stays() -> None:
    text = f"{STANDFIRST}\nEn bref\n{HEADLINE}"
    (record,) = ExtractTitle()([Record("x", title="Autre titre de l'article", text=text)])
    assert record.text == text


def test_repeated_toolbar_lines_are_not_titles() -> None:
    """Repeated "Offrir cet article" is boilerplate for the rules, not a title or subtitle."""
    body = "Premier paragraphe de l'article.\nDeuxième paragraphe de l'article."
    text = f"Offrir cet article\n{body}\nOffrir cet article"
    (record,) = ExtractTitle()([Record("x", text=text)])
    assert record.title is None
    assert record.text == text
