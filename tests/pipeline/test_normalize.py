"""Step 1: characters repaired, French typography kept."""

import pytest

from newsum.pipeline.clean.normalize import CheckText, NormalizeText, fix_text, looks_binary
from newsum.pipeline.core.record import Record

NBSP, NNBSP = "\u00a0", "\u202f"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # mojibake: UTF-8 read as Windows-1252 / Latin-1
        ("La rÃ©colte", "La récolte"),
        ("lâ€™annÃ©e derniÃ¨re", "l’année dernière"),
        ("Une Å“uvre Ã\u00a0 Paris", "Une œuvre à Paris"),
        ("Â« Bonjour Â»", "« Bonjour »"),
        ("Lech WaÅ‚Ä™sa Ã  GdaÅ„sk", "Lech Wałęsa à Gdańsk"),
        ("ÐŸÑƒÑ‚Ð¸Ð½ a parlÃ©", "Путин a parlé"),
        ("le coÃ»t en â‚¬", "le coût en €"),
        # HTML entities and ligature / full-width forms
        ("Tom &amp; Jerry", "Tom & Jerry"),
        ("une ﬁn", "une fin"),
        # NFC: e + combining acute becomes é
        ("e\u0301te\u0301", "été"),
        # invisible characters out
        ("zéro\u200blargeur\u00adcésure\ufeff", "zérolargeurcésure"),
        ("bip\x07 et\x1b fin", "bip et fin"),
        # whitespace: runs collapsed, exotic spaces plain, blank lines and margins gone
        ("  un\t\tdeux  trois\u2009quatre  ", "un deux trois quatre"),
        ("premier\r\n\r\n   \n second\rtroisième", "premier\nsecond\ntroisième"),
    ],
)
def test_fix_text(raw, expected):
    assert fix_text(raw) == expected


def test_french_typography_is_kept():
    text = f"Il a dit{NBSP}: «{NBSP}non{NBSP}»{NNBSP}! Pourquoi{NNBSP}? L’été…"
    assert fix_text(text) == text


def test_correct_french_text_is_untouched():
    text = "Où êtes-vous, Noël ? Ça coûte 9,5 € à l’aîné ; « déjà » vu."
    assert fix_text(text) == text


@pytest.mark.parametrize(
    ("text", "status", "reason"),
    [
        (None, "error", "no text"),
        (42, "error", "int, not a string"),
        ("", "skipped", "empty"),
        (" \n\t ", "skipped", "empty"),
        ("a" * 101, "skipped", "too long"),
        ("\x00\x01binary\x02\x03", "error", "binary"),
    ],
)
def test_check_text_refuses_non_articles(text, status, reason):
    (record,) = CheckText(max_chars=100)([Record("x", text=text)])
    assert record.status == status
    assert reason in record.reason


def test_check_text_passes_an_article():
    (record,) = CheckText(max_chars=100)([Record("x", text="Un article.")])
    assert record.ok and record.reason is None


def test_looks_binary():
    assert looks_binary("abc\x00def")
    assert looks_binary("\ufffd" * 20 + "texte")
    assert not looks_binary("Un texte normal.\nAvec\tune tabulation.")


def test_normalize_step_repairs_title_and_author_too():
    record = Record("x", text="Le rÃ©sultat", title="Ã‰lections\u200b", author="Ren\u00e9e  Dupont")
    (record,) = NormalizeText()([record])
    assert (record.text, record.title, record.author) == (
        "Le résultat",
        "Élections",
        "Renée Dupont",
    )
