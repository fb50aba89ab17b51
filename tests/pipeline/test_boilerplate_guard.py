"""The section-rule guard: a marker cuts the tail of an article, never the article.

Comment counters, "Réagir" buttons and share bars sit at the top of a page (under the
standfirst), in the middle (between paragraphs) and at the end. Wherever they are, every
paragraph of the body stays; only at the end, before short lines (comments, links), does
a section marker cut.
"""

from __future__ import annotations

import pytest

from newsum.pipeline.clean import CleanOptions, clean
from newsum.pipeline.clean.boilerplate import MIN_WORDS_BEFORE, PROSE_WORDS, Rules, cut_is_safe
from newsum.pipeline.core.record import Record

SECTION_RULES = {rule.name for rule in Rules.default().section}

STANDFIRST = (
    "La ville a voté mardi un plan de rénovation de ses écoles, le plus ambitieux depuis 1990."
)
PARAGRAPHS = [
    "Le conseil municipal a adopté mardi soir, par 38 voix contre 11, un plan de 120 millions "
    "d'euros pour rénover les écoles de la ville d'ici à 2030, a annoncé le maire à l'issue "
    "d'une séance de plus de quatre heures.",
    "Les premiers chantiers concerneront les groupes scolaires les plus anciens, construits "
    "dans les années 1960, dont les toitures et l'isolation ne répondent plus aux normes, "
    "selon un audit réalisé l'an dernier par un cabinet indépendant.",
    "L'opposition a dénoncé un calendrier trop lent et réclamé que les écoles des quartiers "
    "prioritaires passent en premier, ce que la majorité a refusé en invoquant des raisons "
    "techniques liées aux appels d'offres déjà lancés.",
    "Les parents d'élèves, eux, attendent surtout des solutions pour l'été : plusieurs classes "
    "ont dépassé 35 degrés en juin, et la fédération locale demande des brasseurs d'air dès la "
    "rentrée prochaine dans toutes les écoles concernées.",
]
COMMENTS = ["Paul75 : enfin une bonne nouvelle !", "Marie : et les cantines ?"]
BODY = [STANDFIRST, *PARAGRAPHS]


def clean_lines(lines: list[str]) -> Record:
    (record,) = clean([Record(id="t", text="\n".join(lines))], CleanOptions(dedup=False))
    return record


def rules_of(record: Record) -> list[str]:
    return [entry["rule"] for entry in record.removed]


# Furniture lines and the line rule that takes each of them where no section is cut.
MARKERS = [  # they also open the comments section: cut at the end
    (["0 commentaire"], ["comments"]),
    (["12 commentaires"], ["comments"]),
    (["Commentaires (3)"], ["comments"]),
    (["Réagissez à cet article"], ["comments"]),
]
BUTTONS = [  # never a section marker: the same line rule wherever they are
    (["Réagir"], ["comments"]),
    (["Réagir (4)"], ["comments"]),
    (["Partager", "Facebook", "X", "Copier le lien"], ["share"] * 4),
    (["Partager sur Facebook", "Partager sur X"], ["share"] * 2),
]


def place(furniture: list[str], where: str) -> list[str]:
    if where == "top":  # under the standfirst, as on the free daily's page
        return [STANDFIRST, *furniture, *PARAGRAPHS]
    if where == "middle":
        return [STANDFIRST, *PARAGRAPHS[:2], *furniture, *PARAGRAPHS[2:]]
    return [*BODY, *furniture, *COMMENTS]


@pytest.mark.parametrize("where", ["top", "middle"])
@pytest.mark.parametrize(("furniture", "rules"), MARKERS + BUTTONS, ids=lambda x: str(x))
def test_furniture_at_the_top_or_in_the_middle_cuts_nothing(
    furniture: list[str], rules: list[str], where: str
) -> None:
    record = clean_lines(place(furniture, where))
    assert record.text.split("\n") == BODY
    assert rules_of(record) == rules
    assert not SECTION_RULES & set(rules_of(record))
    assert record.warnings == []


@pytest.mark.parametrize("furniture", [m[0] for m in MARKERS], ids=lambda x: x[0])
def test_comment_marker_at_the_end_cuts_the_comments(furniture: list[str]) -> None:
    record = clean_lines(place(furniture, "end"))
    assert record.text.split("\n") == BODY
    assert record.removed == [
        {"rule": "comments-section", "text": "\n".join([*furniture, *COMMENTS])}
    ]
    assert record.warnings == []


@pytest.mark.parametrize(("furniture", "rules"), BUTTONS, ids=lambda x: str(x))
def test_buttons_at_the_end_go_and_the_body_stays(furniture: list[str], rules: list[str]) -> None:
    record = clean_lines([*BODY, *furniture])
    assert record.text.split("\n") == BODY
    assert rules_of(record) == rules


def test_a_marker_before_a_paragraph_of_prose_cuts_nothing() -> None:
    """At the end too: what follows reads like the article (or a long comment), so it
    stays; a cut that is wrong would lose text in silence, a kept comment is visible."""
    long_comment = (
        "Jean-Pierre : je ne comprends pas pourquoi les écoles du quartier nord, dont l'état "
        "est connu depuis des années, ne figurent pas dans la première tranche de travaux."
    )
    record = clean_lines([*BODY, "2 commentaires", long_comment])
    assert record.text.split("\n") == [*BODY, long_comment]
    assert rules_of(record) == ["comments"]


def test_a_marker_after_a_short_body_does_not_cut_most_of_it() -> None:
    """A brief with a long tail of short lines: the cut would take more than it leaves."""
    brief = (
        "Le conseil municipal a voté mardi soir un plan de 120 millions d'euros pour les écoles."
    )
    tail = [f"Une ligne courte de la suite, numéro {n}." for n in range(12)]
    record = clean_lines([brief, *PARAGRAPHS[:1], "Sur le même sujet", *tail])
    assert "Sur le même sujet" not in record.text  # the line rule still takes the marker
    assert rules_of(record) == ["read-also"]
    assert record.text.split("\n") == [brief, PARAGRAPHS[0], *tail]


# ---- the guard itself, on the measurements of its docstring ------------------------------


@pytest.mark.parametrize(
    ("words_before", "words_after", "safe"),
    [
        # the fixtures' legitimate tails (boilerplate.py's table)
        (236, [2, 6, 14, 5, 0, 8], True),  # forum, "Et vous ?"
        (216, [11, 9], True),  # magazine, "Commentaires (2)"
        (231, [0, 0], True),  # paywall
        (120, [], True),  # dispatch, "Qu'en pensez-vous ?" as the last line
        (229, [0, 0, 5, 0, 0, 0], True),  # national daily, paywall
        (127, [0, 13, 11], True),  # free daily, "Sur le même sujet"
        # the free daily's counter under the standfirst: HTML, then the copied text
        (16, [49, 39, 23], False),
        (16, [0, 49, 39, 23, 0, 13, 11], False),
        # each condition on its own
        (MIN_WORDS_BEFORE - 1, [3], False),  # near the top
        (MIN_WORDS_BEFORE, [3], True),
        (100, [20] * 6, False),  # the cut would take most of the text
        (100, [20] * 5, True),
        (300, [PROSE_WORDS], False),  # a paragraph of prose follows
        (300, [PROSE_WORDS - 1], True),
    ],
)
def test_cut_is_safe(words_before: int, words_after: list[int], safe: bool) -> None:
    assert cut_is_safe(words_before, words_after) is safe
