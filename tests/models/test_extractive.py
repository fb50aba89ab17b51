"""Extractive summarizers: lead-N, TextRank, and the names that select them."""

import math

import pytest

from newsum.models.extractive import Lead, TextRank, parse_extractive, similarity, words

ARTICLE = (
    "M. Dupont a été élu maire dimanche. Il succède à Mme Martin.\n"
    "Le conseil municipal s'est réuni lundi. Le budget sera voté en mars.\n"
    "Les travaux commenceront en juin."
)
ARTICLE_SENTENCES = [
    "M. Dupont a été élu maire dimanche.",
    "Il succède à Mme Martin.",
    "Le conseil municipal s'est réuni lundi.",
    "Le budget sera voté en mars.",
    "Les travaux commenceront en juin.",
]

# Sentence 3 shares words with 0, 1 and 2; 4 and 5 share nothing with anyone.
# Sentences 0 and 1 share two words each with 3, sentence 2 only one.
CENTRAL = (
    "La région a voté le budget. Les écoles attendent des crédits. "
    "Les transports seront gratuits.\n"
    "Le budget de la région prévoit des crédits pour les écoles et les transports. "
    "Les musées ouvriront le dimanche. Les parcs fermeront plus tard."
)
CENTRAL_SENTENCE = "Le budget de la région prévoit des crédits pour les écoles et les transports."


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (1, ARTICLE_SENTENCES[:1]),
        (3, ARTICLE_SENTENCES[:3]),  # across paragraphs, "M." and "Mme" not cut
        (5, ARTICLE_SENTENCES),
        (8, ARTICLE_SENTENCES),  # more than there are: all of them
    ],
)
def test_lead_keeps_first_sentences(n, expected):
    assert Lead(n).summarize(ARTICLE) == " ".join(expected)


@pytest.mark.parametrize("summarizer", [Lead(3), TextRank(3)])
@pytest.mark.parametrize("text", ["", "\n\n", "   "])
def test_empty_text_gives_empty_summary(summarizer, text):
    assert summarizer.summarize(text) == ""


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("lead-3", Lead(3)),
        ("lead-1", Lead(1)),
        ("lead-12", Lead(12)),
        ("textrank", TextRank(3)),
        ("textrank-5", TextRank(5)),
        # Not built-in names: left to the model loader.
        ("csebuetnlp/mT5_multilingual_XLSum", None),
        ("./lead-3", None),
        ("Lead-3", None),
        ("leads-3", None),
        ("", None),
    ],
)
def test_parse_extractive(name, expected):
    assert parse_extractive(name) == expected


@pytest.mark.parametrize(
    "name",
    ["lead-0", "lead-x", "lead-", "lead--1", "lead-+3", "lead", "textrank-0", "textrank-2.5"],
)
def test_parse_extractive_rejects_malformed_names(name):
    with pytest.raises(ValueError, match=r"lead|textrank"):
        parse_extractive(name)


def test_names():
    assert [parse_extractive(n).name for n in ["lead-3", "textrank", "textrank-5"]] == [
        "lead-3",
        "textrank-3",
        "textrank-5",
    ]


@pytest.mark.parametrize("make", [Lead, TextRank])
@pytest.mark.parametrize("n", [0, -1, 2.0, True])
def test_sentence_count_must_be_positive_int(make, n):
    with pytest.raises(ValueError, match="sentence count"):
        make(n)


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("Le chat mange la souris.", {"chat", "mange", "souris"}),
        ("L'État a décidé qu'il paierait.", {"état", "décidé", "paierait"}),
        ("Et le, la, les !", set()),
    ],
)
def test_words(sentence, expected):
    assert words(sentence) == expected


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        # 2 common words (mange, souris), 3 words each: 2 / (ln 3 + ln 3).
        ({"chat", "mange", "souris"}, {"souris", "mange", "fromage"}, 2 / (2 * math.log(3))),
        # 1 common word, 2 and 1 words: 1 / (ln 2 + ln 1).
        ({"chat", "dort"}, {"chat"}, 1 / math.log(2)),
        ({"chat", "dort"}, {"chien", "aboie"}, 0.0),
        # log 1 + log 1 = 0 and empty sentences: similarity 0, no division by zero.
        ({"chat"}, {"chat"}, 0.0),
        (set(), {"chat"}, 0.0),
        (set(), set(), 0.0),
    ],
)
def test_similarity_by_hand(a, b, expected):
    assert similarity(a, b) == pytest.approx(expected)
    assert similarity(b, a) == pytest.approx(expected)


def test_textrank_picks_the_central_sentence():
    assert TextRank(1).summarize(CENTRAL) == CENTRAL_SENTENCE


def test_textrank_outputs_in_document_order():
    # Score order is 3, 0, 1 (0 and 1 tie; the earlier wins); output is document order.
    expected = "La région a voté le budget. Les écoles attendent des crédits. " + CENTRAL_SENTENCE
    assert TextRank(3).summarize(CENTRAL) == expected


def test_textrank_scores_rank_the_graph():
    scores = TextRank.scores(
        [
            "La région a voté le budget.",
            "Les écoles attendent des crédits.",
            "Les transports seront gratuits.",
            CENTRAL_SENTENCE,
            "Les musées ouvriront le dimanche.",
        ]
    )
    assert sum(scores) == pytest.approx(1.0)
    assert max(scores) == scores[3]
    assert scores[0] == pytest.approx(scores[1])
    assert scores[1] > scores[2] > scores[4]


def test_textrank_is_deterministic():
    first = TextRank(2).summarize(CENTRAL)
    assert all(TextRank(2).summarize(CENTRAL) == first for _ in range(5))


def test_textrank_without_shared_words_falls_back_to_document_order():
    text = "Le chat dort. Un chien aboie. Des oiseaux chantent. La pluie tombe."
    assert TextRank(2).summarize(text) == "Le chat dort. Un chien aboie."


@pytest.mark.parametrize(
    ("n", "text", "expected"),
    [
        (3, "Le chat dort.", "Le chat dort."),
        (3, "Le chat dort.\nLe chat mange.", "Le chat dort. Le chat mange."),
        (2, "Le chat dort. Le chat mange.", "Le chat dort. Le chat mange."),
        (1, "Oui. Non.", "Oui."),  # one-word sentences: no edges, no division by zero
    ],
)
def test_textrank_on_one_or_two_sentences(n, text, expected):
    assert TextRank(n).summarize(text) == expected
