"""Faithfulness and shape checks: number normalisation (French and English), support
of summary numbers by the source, cross-lingual consistency, n-gram and length shape."""

import pytest

from newsum.eval.faithfulness import (
    aggregate,
    compression_ratio,
    extract_numbers,
    novel_ngram_ratio,
    number_mismatches,
    record_checks,
    unsupported_numbers,
    word_count,
)

NBSP, NNBSP = "\u00a0", "\u202f"


def _one(text, lang):
    mentions = extract_numbers(text, lang)
    assert len(mentions) == 1, mentions
    return mentions[0]


# (text, lang, kind, canonical value): each text holds exactly one mention
NORMALISATION = [
    # French
    ("9,5 millions", "fr", "number", 9.5e6),
    (f"1{NBSP}000", "fr", "number", 1000),
    (f"1{NNBSP}000", "fr", "number", 1000),
    ("1 000 000", "fr", "number", 1e6),
    ("1.000.000", "fr", "number", 1e6),
    ("Près de 870 000 candidats", "fr", "number", 870_000),
    ("70 %", "fr", "percent", 70),
    (f"70{NBSP}%", "fr", "percent", 70),
    ("70 pour cent", "fr", "percent", 70),
    ("3,2 %", "fr", "percent", 3.2),
    ("3.2 %", "fr", "percent", 3.2),  # dot decimal, as often seen on the web
    ("1,5 milliard", "fr", "number", 1.5e9),
    ("2 billions", "fr", "number", 2e12),  # the French billion is 10^12
    ("450 millions", "fr", "number", 450e6),
    ("2 000 euros", "fr", "amount", 2000),
    ("9,5 millions d'euros", "fr", "amount", 9.5e6),
    ("9,5 millions d’euros", "fr", "amount", 9.5e6),
    ("9,5 M€", "fr", "amount", 9.5e6),
    ("3 Mds€", "fr", "amount", 3e9),
    ("12 millions de dollars", "fr", "amount", 12e6),
    ("un million", "fr", "number", 1e6),
    ("une centaine ? non : deux cent mille", "fr", "number", 200_000),
    ("dix-huit mois", "fr", "number", 18),
    ("neuf millions", "fr", "number", 9e6),
    ("22 février 2014", "fr", "date", "2014-02-22"),
    ("Février 2014", "fr", "date", "2014-02"),
    ("le 1er mars", "fr", "date", "--03-01"),
    ("22/02/2014", "fr", "date", "2014-02-22"),
    ("22.02.2014", "fr", "date", "2014-02-22"),
    ("en 2014", "fr", "year", 2014),
    ("le 5 avril", "fr", "date", "--04-05"),
    # English
    ("70%", "en", "percent", 70),
    ("70 percent", "en", "percent", 70),
    ("70 per cent", "en", "percent", 70),
    ("3.2%", "en", "percent", 3.2),
    ("1.5 billion", "en", "number", 1.5e9),
    ("1,000", "en", "number", 1000),
    ("1,000,000", "en", "number", 1e6),
    ("450 million", "en", "number", 450e6),
    ("€2,000", "en", "amount", 2000),
    ("€9.5 million", "en", "amount", 9.5e6),
    ("€9.5m", "en", "amount", 9.5e6),
    ("$2bn", "en", "amount", 2e9),
    ("£3 billion", "en", "amount", 3e9),
    ("2,000 euros", "en", "amount", 2000),
    ("a million", "en", "number", 1e6),
    ("a hundred thousand", "en", "number", 100_000),
    ("eighteen months", "en", "number", 18),
    ("February 22, 2014", "en", "date", "2014-02-22"),
    ("22 February 2014", "en", "date", "2014-02-22"),
    ("Feb. 22nd, 2014", "en", "date", "2014-02-22"),
    ("02/22/2014", "en", "date", "2014-02-22"),  # month first only when unambiguous
    ("2014-02-22", "en", "date", "2014-02-22"),
    ("in May 2014", "en", "date", "2014-05"),
]


@pytest.mark.parametrize(("text", "lang", "kind", "value"), NORMALISATION)
def test_normalisation(text, lang, kind, value):
    mention = _one(text, lang)
    assert mention.kind == kind
    if kind == "date":
        assert mention.value == value
    else:
        assert mention.value == pytest.approx(value)


# spellings that must get the same canonical value
EQUIVALENT = [
    [("70 %", "fr"), ("70%", "en"), ("70 pour cent", "fr"), ("70 percent", "en")],
    [("1,5 milliard", "fr"), ("1.5 billion", "en"), ("1 500 000 000", "fr")],
    [("22 février 2014", "fr"), ("February 22, 2014", "en"), ("22/02/2014", "fr")],
    [("3,2 %", "fr"), ("3.2%", "en")],
    [("2 000 euros", "fr"), ("€2,000", "en"), ("2.000 €", "fr")],
    [("450 millions", "fr"), ("450 million", "en")],
    [("un million", "fr"), ("a million", "en"), ("1 000 000", "fr"), ("1,000,000", "en")],
]


@pytest.mark.parametrize("spellings", EQUIVALENT)
def test_spellings_share_one_value(spellings):
    values = {_one(text, lang).value for text, lang in spellings}
    assert len(values) == 1, values


# (text, lang, expected [(surface, kind, value)]) for texts with zero or several mentions
MENTIONS = [
    ("", "fr", []),
    ("le 3e rang, au XXe siècle, le 1er du classement", "fr", []),  # ordinals
    ("un bâtiment neuf, une voiture", "fr", []),  # articles and "neuf" alone
    ("a car, one of them", "en", []),
    ("you may go in march", "en", []),  # lowercase month names are verbs
    ("en mars", "fr", []),  # a bare month is not a date
    ("1,5 en anglais : 1.5", "fr", [("1,5", "number", 1.5), ("1.5", "number", 1.5)]),
    ("1,000 (French)", "fr", [("1,000", "number", 1.0)]),  # French comma: decimal
    ("la COVID-19 en 2013-2014", "fr", [("2013", "year", 2013), ("2014", "year", 2014)]),
    (
        "samedi 22 février 2014, 450 millions d'utilisateurs",
        "fr",
        [("22 février 2014", "date", "2014-02-22"), ("450 millions", "number", 450e6)],
    ),
    # not a real date: read as plain numbers instead
    ("31/02/2014", "fr", [("31", "number", 31), ("02", "number", 2), ("2014", "year", 2014)]),
    ("€5 more", "en", [("€5", "amount", 5)]),  # "m" of "more" is not a scale
    ("10 m de haut", "fr", [("10", "number", 10)]),  # "m" without currency is metres
]


@pytest.mark.parametrize(("text", "lang", "expected"), MENTIONS)
def test_mentions(text, lang, expected):
    got = [(m.text, m.kind, m.value) for m in extract_numbers(text, lang)]
    assert got == expected


def test_offsets_and_currency():
    text = f"Il a levé 9,5{NBSP}M€ le 22 février 2014."
    mentions = extract_numbers(text, "fr")
    assert [text[m.start : m.end] for m in mentions] == [f"9,5{NBSP}M€", "22 février 2014"]
    assert mentions[0].currency == "EUR"
    assert _one("$2bn", "en").currency == "USD"
    assert _one("£3", "en").currency == "GBP"


def test_unknown_language_is_an_error():
    with pytest.raises(ValueError, match="French and English"):
        extract_numbers("12", "de")


SOURCE = (
    "Samedi 22 février 2014, le réseau comptait 450 millions d'utilisateurs, "
    "dont 70 % en Europe. Il a levé 9,5 millions d'euros auprès de 12 investisseurs."
)

# (summary, source, unsupported surface forms)
UNSUPPORTED = [
    ("Le réseau compte 450 millions d'utilisateurs.", SOURCE, []),
    ("80 % des utilisateurs sont en Europe.", SOURCE, ["80 %"]),
    ("70 % des utilisateurs sont en Europe.", SOURCE, []),
    ("Le 22 février, il a levé 9,5 M€.", SOURCE, []),  # partial date, other spelling
    ("En février 2014, 9 500 000 euros levés.", SOURCE, []),
    ("En 2014, 12 investisseurs.", SOURCE, []),  # year from a date
    ("Soixante-dix ? Non : 70 utilisateurs.", SOURCE, []),  # plain number: unit dropped
    ("Le 23 février 2014, 13 investisseurs.", SOURCE, ["23 février 2014", "13"]),
    ("Le 22 février 2015.", SOURCE, ["22 février 2015"]),
    ("450 % de hausse", SOURCE, ["450 %"]),  # a percent needs a percent
    ("12 % des investisseurs", SOURCE, ["12 %"]),  # not backed by the plain "12"
    ("70 € levés", SOURCE, ["70 €"]),  # an amount is not backed by a percent
    ("80 %, encore 80 %", SOURCE, ["80 %"]),  # each surface once
    # a full date is backed by a day-month date plus its year elsewhere
    ("Le 22 février 2014.", "Le 22 février, lors du salon 2014.", []),
    ("Le 22 février 2014.", "Le 22 février, lors du salon.", ["22 février 2014"]),
    ("Les 12 élus", "douze élus", []),
    ("", SOURCE, []),
    ("Il a levé 5 millions.", "", ["5 millions"]),
]


@pytest.mark.parametrize(("summary", "source", "expected"), UNSUPPORTED)
def test_unsupported_numbers(summary, source, expected):
    assert unsupported_numbers(summary, source) == expected


def test_unsupported_numbers_in_english():
    source = "On February 22, 2014, the network had 450 million users, 70% in Europe."
    assert unsupported_numbers("In 2014, 450 million users; 75% in Europe.", source, "en") == [
        "75%"
    ]


# (French summary, English summary, missing_in_en, extra_in_en)
MISMATCHES = [
    (
        "Le 22 février 2014, 1,5 milliard d'euros, soit 70 %.",
        "On February 22, 2014, €1.5 billion, i.e. 70%.",
        [],
        [],
    ),
    (
        "Le 22 février 2014, 1,5 milliard d'euros, soit 70 %.",
        "On February 22, 2014, €1.5 trillion, i.e. 75%.",
        ["1,5 milliard d'euros", "70 %"],
        ["€1.5 trillion", "75%"],
    ),
    ("Un billion d'euros.", "A trillion euros.", [], []),  # French billion = 10^12
    ("Un billion d'euros.", "A billion euros.", ["Un billion d'euros"], ["A billion euros"]),
    ("Dix-huit mois, 3 000 emplois.", "18 months, 3,000 jobs.", [], []),
    ("Le 22 février 2014.", "On February 22.", ["22 février 2014"], []),  # year dropped
    ("", "", [], []),
    ("Sans chiffre.", "Three people.", [], ["Three"]),
]


@pytest.mark.parametrize(("fr", "en", "missing", "extra"), MISMATCHES)
def test_number_mismatches(fr, en, missing, extra):
    assert number_mismatches(fr, en) == {"missing_in_en": missing, "extra_in_en": extra}


# (summary, source, n, ratio) computed by hand
NOVEL = [
    # summary unigrams le chat dort sur le lit: only "lit" is new
    ("Le chat dort sur le lit.", "Le chat dort sur le tapis.", 1, 1 / 6),
    # bigrams: le chat, chat dort, dort sur, sur le, le lit: only "le lit" is new
    ("Le chat dort sur le lit.", "Le chat dort sur le tapis.", 2, 1 / 5),
    # trigrams: le chat dort, chat dort sur, dort sur le, sur le lit
    ("Le chat dort sur le lit.", "Le chat dort sur le tapis.", 3, 1 / 4),
    ("Chat chat chien", "chat", 1, 1 / 3),  # occurrences, not distinct n-grams
    ("LE CHAT", "le chat", 2, 0.0),  # lowercased
    ("le chat", "", 2, 1.0),
    ("chat", "le chat", 2, None),  # no bigram in the summary
    ("", "le chat", 1, None),
]


@pytest.mark.parametrize(("summary", "source", "n", "ratio"), NOVEL)
def test_novel_ngram_ratio(summary, source, n, ratio):
    got = novel_ngram_ratio(summary, source, n)
    assert got == (None if ratio is None else pytest.approx(ratio))


@pytest.mark.parametrize(
    ("text", "words"),
    [("", 0), (None, 0), ("  \n ", 0), ("L'État a dit non.", 5), ("9,5 millions", 3)],
)
def test_word_count(text, words):
    assert word_count(text) == words


@pytest.mark.parametrize(
    ("summary", "source", "ratio"),
    [
        ("Le chat dort.", "Le chat dort sur le tapis.", 2.0),
        ("Un deux trois quatre", "un deux", 0.5),
        ("Un mot", "", 0.0),
        ("", "Le chat dort.", None),
    ],
)
def test_compression_ratio(summary, source, ratio):
    assert compression_ratio(summary, source) == ratio


def test_record_checks():
    checks = record_checks(
        "Le réseau compte 450 millions d'utilisateurs, dont 80 % en Europe.",
        SOURCE,
        summary_en="The network has 450 million users, 80% in Europe.",
    )
    assert checks["unsupported_numbers"] == ["80 %"]
    assert checks["number_mismatches"] == {"missing_in_en": [], "extra_in_en": []}
    assert checks["summary_numbers"] == 2
    assert checks["summary_words"] == 11
    assert checks["source_words"] == word_count(SOURCE) == 27
    assert checks["compression"] == pytest.approx(27 / 11)
    assert 0 < checks["novel_1gram"] < checks["novel_2gram"] <= checks["novel_3gram"] <= 1


def test_record_checks_without_english_or_text():
    checks = record_checks(None, None)
    assert "number_mismatches" not in checks
    assert checks == {
        "summary_words": 0,
        "source_words": 0,
        "compression": None,
        "novel_1gram": None,
        "novel_2gram": None,
        "novel_3gram": None,
        "summary_numbers": 0,
        "unsupported_numbers": [],
    }


def test_aggregate():
    records = [
        record_checks("Le chat dort.", "Le chat dort sur le tapis.", summary_en="The cat sleeps."),
        record_checks("Il a 80 ans et 3 chats.", "Il a 70 ans et 3 chats.", summary_en="80, 4."),
        record_checks("", "Un texte sans résumé."),
    ]
    agg = aggregate(records)
    assert agg["records"] == 3
    assert agg["mean_summary_words"] == pytest.approx((3 + 7 + 0) / 3)
    assert agg["mean_compression"] == pytest.approx((6 / 3 + 7 / 7) / 2)  # None skipped
    assert agg["mean_novel_1gram"] == pytest.approx((0 + 1 / 7) / 2)
    assert agg["summary_numbers"] == 2
    assert agg["unsupported_numbers"] == 1
    assert agg["share_with_unsupported_numbers"] == pytest.approx(1 / 3)
    assert agg["records_with_en"] == 2
    assert agg["number_mismatches"] == 2  # "3" missing in English, "4" extra
    assert agg["share_with_number_mismatches"] == pytest.approx(1 / 2)


def test_aggregate_of_nothing():
    agg = aggregate([])
    assert agg["records"] == 0
    assert agg["mean_novel_2gram"] is None
    assert agg["share_with_unsupported_numbers"] is None
    assert agg["share_with_number_mismatches"] is None
