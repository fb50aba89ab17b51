"""Output hygiene: each rule removes the wrapping an LLM adds, and leaves real content alone."""

from __future__ import annotations

import pytest

from newsum.models.hygiene import clean_output, parse_both

NBSP = "\u00a0"
NNBSP = "\u202f"
BODY = "Le gouvernement a présenté mardi son projet de loi sur l'énergie."

CLEANED = [
    # reasoning
    pytest.param("<think>Je dois résumer.</think>\n\n" + BODY, BODY, id="think"),
    pytest.param(
        "<think>\nLigne 1\nLigne 2\n</think>\n" + BODY + "<THINK>encore</THINK>", BODY, id="thinks"
    ),
    pytest.param("<think>Je réfléchis longuement, sans fin", "", id="think never closed"),
    pytest.param(BODY + "\n<think>et puis", "", id="think opened late"),
    pytest.param(
        "Je dois résumer l'article.\n</think>\n\n" + BODY, BODY, id="think opened by prompt"
    ),
    # preambles, French and English
    pytest.param("Voici un résumé de l'article :\n\n" + BODY, BODY, id="voici un résumé"),
    pytest.param(
        "Voici la traduction : The government voted.", "The government voted.", id="voici"
    ),
    pytest.param(f"Résumé{NBSP}: {BODY}", BODY, id="résumé nbsp colon"),
    pytest.param("Résumé de l'article :\n" + BODY, BODY, id="résumé de l'article"),
    pytest.param("Résumé en trois phrases :\n" + BODY, BODY, id="résumé en trois phrases"),
    pytest.param("Traduction : The government voted.", "The government voted.", id="traduction"),
    pytest.param("Here is the summary: " + BODY, BODY, id="here is the summary"),
    pytest.param("Here's the English translation:\n\nThe vote.", "The vote.", id="here's"),
    pytest.param("Summary:\n" + BODY, BODY, id="summary line"),
    pytest.param("Translation: The vote.", "The vote.", id="translation"),
    pytest.param("Sure! Here is the French summary:\n" + BODY, BODY, id="sure"),
    pytest.param("Sure!\n\nHere is the summary:\n" + BODY, BODY, id="sure on its own line"),
    pytest.param("Bien sûr, voici le résumé demandé :\n" + BODY, BODY, id="bien sûr"),
    pytest.param("Certainly. Here is a concise summary of the article:\n" + BODY, BODY, id="cert"),
    pytest.param("Résumé\n" + BODY, BODY, id="bare label line"),
    pytest.param("English translation\nThe vote.", "The vote.", id="bare english label"),
    pytest.param("Résumé", "", id="only a label"),
    pytest.param("Voici le résumé de l'article :", "", id="only a preamble"),
    # wrapping quotes
    pytest.param(f"«{NBSP}{BODY}{NBSP}»", BODY, id="guillemets"),
    pytest.param(f'"{BODY}"', BODY, id="double quotes"),
    pytest.param(f"“{BODY}”", BODY, id="curly quotes"),
    pytest.param("'L'Assemblée a voté.'", "L'Assemblée a voté.", id="single quotes, elision"),
    pytest.param("‘L’Assemblée a voté.’", "L’Assemblée a voté.", id="curly single, elision"),
    pytest.param("« Le maire a dit « non » hier. »", "Le maire a dit « non » hier.", id="nested"),
    pytest.param(f'Here is the summary:\n\n"{BODY}"', BODY, id="preamble then quotes"),
    # Markdown
    pytest.param(f"```\n{BODY}\n```", BODY, id="fence"),
    pytest.param(f"```text\n{BODY}\n```", BODY, id="fence with language"),
    pytest.param("**Résumé :** " + BODY, BODY, id="bold label"),
    pytest.param(
        "Le **gouvernement** a __voté__ mardi.", "Le gouvernement a voté mardi.", id="bold"
    ),
    pytest.param("## Résumé\n\n" + BODY, BODY, id="heading label"),
    pytest.param("# Le vote\n\nLe texte.", "Le vote\nLe texte.", id="heading kept as text"),
    pytest.param(
        "- Le vote a eu lieu.\n- Il a été adopté.",
        "Le vote a eu lieu.\nIl a été adopté.",
        id="bullets",
    ),
    pytest.param("* Un.\n* Deux.\n• Trois.", "Un.\nDeux.\nTrois.", id="star bullets"),
    # blanks
    pytest.param(
        "  Le   vote\ta eu lieu.  \n\n\n  Il est adopté. ",
        "Le vote a eu lieu.\nIl est adopté.",
        id="blanks",
    ),
    pytest.param("Premier paragraphe.\r\n\r\nSecond.", "Premier paragraphe.\nSecond.", id="crlf"),
]

KEPT = [
    pytest.param(BODY, id="plain"),
    pytest.param("Résumé des faits reprochés, le ministre a nié en bloc.", id="starts with Résumé"),
    pytest.param("Résumé des faits : le ministre a nié en bloc.", id="Résumé + words + colon"),
    pytest.param(
        "Le ministre a déclaré : « Nous agirons vite ». Puis il est parti.", id="colon mid"
    ),
    pytest.param(f"Le ministre a déclaré{NBSP}: «{NBSP}Non{NBSP}».", id="french typography"),
    pytest.param(f"Le prix{NNBSP}: 3,5{NNBSP}% selon l'Insee.", id="narrow nbsp"),
    pytest.param("Voici ce qu'a déclaré le ministre : « non ».", id="voici without a cue"),
    pytest.param("Here is what happened: the bill passed.", id="here is without a cue"),
    pytest.param("Translation errors in court: the judge ordered a retrial.", id="label + words"),
    pytest.param("Summary judgment was granted on Monday.", id="summary in a sentence"),
    pytest.param("La réunion a commencé à 10:30 à Paris.", id="time colon"),
    pytest.param('Le maire a dit "non" puis "oui".', id="quotes inside"),
    pytest.param('"Non", a dit le maire, "jamais".', id="quote at both ends, not a pair"),
    pytest.param("« Non », a dit le maire, « jamais ».", id="guillemets at both ends, not a pair"),
    pytest.param("'L'Assemblée' a voté 'non'", id="single quotes, not a pair"),
    pytest.param("« Nous agirons », a promis le ministre.", id="starts with a quote"),
    pytest.param("Le texte * 3 et 2 - 1 restent.", id="stars and dashes inside"),
    pytest.param("Sure Start, le programme britannique, ferme.", id="sure as a word"),
    pytest.param("Premier paragraphe.\nSecond paragraphe.", id="paragraphs"),
]


@pytest.mark.parametrize(("raw", "clean"), CLEANED)
def test_wrapping_is_removed(raw, clean):
    assert clean_output(raw) == clean


@pytest.mark.parametrize("text", KEPT)
def test_content_is_left_intact(text):
    assert clean_output(text) == text


def test_cleaning_twice_changes_nothing():
    for case in CLEANED:
        once = clean_output(case.values[0])
        assert clean_output(once) == once


SUMMARY = "Le gouvernement a présenté son projet."
SUMMARY_EN = "The government presented its bill."
JSON = f'{{"summary": "{SUMMARY}", "summary_en": "{SUMMARY_EN}"}}'

PARSED = [
    pytest.param(JSON, id="bare"),
    pytest.param(f"```json\n{JSON}\n```", id="fence"),
    pytest.param(f"Voici le résultat :\n{JSON}\nJ'espère que cela convient.", id="prose"),
    pytest.param(f"<think>Le JSON {{doit}} être...</think>\n{JSON}", id="think"),
    pytest.param(f"Format {{summary, summary_en}} :\n{JSON}", id="braces in prose first"),
    pytest.param(JSON.replace('"summary"', '\n  "summary"').replace("}", "\n}"), id="indented"),
    pytest.param(JSON.replace("}", ', "notes": ""}'), id="extra key"),
    pytest.param(f'{JSON}\n{{"summary": "autre", "summary_en": "other"}}', id="first one"),
    pytest.param(JSON.replace(SUMMARY, f"Résumé : {SUMMARY}"), id="values are cleaned"),
]


@pytest.mark.parametrize("text", PARSED)
def test_parse_both_accepts(text):
    assert parse_both(text) == (SUMMARY, SUMMARY_EN)


def test_parse_both_keeps_escapes_and_newlines():
    text = (
        '{"summary": "Il a dit \\"non\\".\nPuis il est parti.", "summary_en": "He said \\"no\\"."}'
    )
    assert parse_both(text) == ('Il a dit "non".\nPuis il est parti.', 'He said "no".')


REJECTED = [
    pytest.param("", id="empty"),
    pytest.param(SUMMARY, id="no json"),
    pytest.param('{"summary": "Le texte."}', id="no summary_en"),
    pytest.param('{"summary_en": "The text."}', id="no summary"),
    pytest.param('{"summary": "", "summary_en": "The text."}', id="empty summary"),
    pytest.param('{"summary": "Le texte.", "summary_en": "  "}', id="blank summary_en"),
    pytest.param('{"summary": "Le texte.", "summary_en": ["The", "text."]}', id="not a string"),
    pytest.param('{"summary": 3, "summary_en": "The text."}', id="a number"),
    pytest.param('{"summary": "Le texte.", "summary_en": "The text.",}', id="trailing comma"),
    pytest.param("{'summary': 'Le texte.', 'summary_en': 'The text.'}", id="single quotes"),
    pytest.param('{"summary": "Le texte.", "summary_en": "The te', id="cut short"),
    pytest.param('["Le texte.", "The text."]', id="a list"),
    pytest.param(f"<think>Je vais répondre {JSON}", id="all reasoning"),
    pytest.param('{"summary": "<think>pas fini", "summary_en": "The text."}', id="value reasoning"),
]


@pytest.mark.parametrize("text", REJECTED)
def test_parse_both_rejects(text):
    assert parse_both(text) is None
