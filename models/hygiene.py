"""Output hygiene: remove what instruct LLMs wrap around an answer, never the answer itself.

Chat models add reasoning blocks, a preamble ("Voici un résumé :"), quotes around the whole
answer and Markdown. None of it belongs in a summary or a translation, and all of it skews
ROUGE, length checks and faithfulness scores. Every rule here removes wrapping only: the
words, accents, punctuation and French typography (« » with non-breaking spaces) of the
answer are kept as they are. When in doubt, a rule leaves the text alone.
"""

from __future__ import annotations

import json
import re

# Reasoning blocks (Qwen3, DeepSeek-R1...). A <think> never closed: the whole output was
# reasoning, cut by the token limit. A lone </think>: the template opened the block.
_THINK_RE = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_THINK_OPEN_RE = re.compile(r"<think>", re.IGNORECASE)
_THINK_CLOSE_RE = re.compile(r"</think>", re.IGNORECASE)

_FENCE_RE = re.compile(r"^[ \t]*```[\w+-]*[ \t]*$", re.MULTILINE)
_HEADING_RE = re.compile(r"^[ \t]*#{1,6}[ \t]+", re.MULTILINE)
_BULLET_RE = re.compile(r"^[ \t]*[-*•][ \t]+", re.MULTILINE)
_BOLD_RE = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*|__(?=\S)(.+?)(?<=\S)__")
# Only ASCII blanks: str.split() and \s would also eat the non-breaking spaces of « ».
_BLANKS_RE = re.compile(r"[ \t]+")
_BLANKS = " \t\r\u00a0\u202f"  # what may surround a preamble or a wrapped answer

# Preambles: "Voici un résumé de l'article :", "Sure! Here's the English translation:",
# "Résumé :", "**Translation:**"... A short clause up to a colon, of two kinds only (after
# an optional "Sure!" or "Bien sûr,"): a presenting phrase that names what it presents
# ("Voici le résumé", not "Voici ce qu'a dit le ministre"), or a label ("Résumé", "English
# translation") with at most a few words that qualify it ("de l'article", "in English").
# Any other clause before a colon is content: "Le ministre a déclaré : « ... »".
_INTERJECTION_RE = re.compile(
    r"(?:sure|certainly|of course|okay|ok|absolutely|bien sûr|bien sur|certainement|"
    r"d['’]accord|entendu|très bien|volontiers)\s*[!,.]?\s*",
    re.IGNORECASE,
)
_PRESENTING_RE = re.compile(
    r"(?:voici|voilà|here\s+is|here['’]s|here\s+are|below\s+is|ci-dessous)\b", re.IGNORECASE
)
_CUE_RE = re.compile(
    r"\b(?:résum\w*|resum\w*|summar\w*|tradu\w*|translat\w*|synthès\w*|version|"
    r"english|anglais|français|french)\b",
    re.IGNORECASE,
)
_LABEL_RE = re.compile(
    r"(?:résumé|resume|summary|synthèse|traduction|translation|english\s+translation|"
    r"english\s+version|version\s+anglaise|traduction\s+anglaise|texte\s+traduit|"
    r"translated\s+text)\b",
    re.IGNORECASE,
)
_QUALIFIERS = frozenset(
    "en in into of de du des la le les l the this a an un une article texte text summary "
    "résumé français française french anglais anglaise english concis concise short bref "
    "brève demandé requested final finale deux trois two three phrases sentences".split()
)
MAX_LEAD_WORDS = 12
MAX_QUALIFIERS = 4

# Quotes that may wrap a whole answer: opening -> closing.
_QUOTES = {"«": "»", "“": "”", "‘": "’", '"': '"', "'": "'"}
# An apostrophe between two letters is an elision (l'article, aujourd’hui), not a quote.
_ELISION_RE = re.compile(r"(?<=\w)['’](?=\w)")


def clean_output(text: str) -> str:
    """The answer inside a model's output: reasoning, preamble, wrapping quotes, Markdown and
    extra blanks removed; paragraphs one to a line, as in newsum's clean text. "" when the
    output was all reasoning or only a preamble (the caller flags empty outputs)."""
    text = strip_reasoning(text)
    text = _strip_markdown(text)
    text = _normalise_blanks(text)
    text = _strip_preamble(text)
    text = _strip_quotes(text)
    return _normalise_blanks(text)


def strip_reasoning(text: str) -> str:
    """`text` without its <think>...</think> blocks; "" when a block is never closed."""
    text = _THINK_RE.sub("", text)
    if _THINK_OPEN_RE.search(text):
        return ""
    closes = list(_THINK_CLOSE_RE.finditer(text))
    if closes:  # the generation prompt opened the block: the answer follows the last close
        text = text[closes[-1].end() :]
    return text


def parse_both(text: str) -> tuple[str, str] | None:
    """(summary, summary_en) from the one-call JSON answer; None when there is no valid
    object, so the caller falls back to two calls.

    Tolerates a reasoning block, a code fence and prose around the object: the first JSON
    object in the text that decodes is taken. Both keys must hold strings that are not
    empty once cleaned.
    """
    obj = _first_object(strip_reasoning(text))
    if obj is None:
        return None
    values = [obj.get(key) for key in ("summary", "summary_en")]
    if not all(isinstance(value, str) for value in values):
        return None
    summary, summary_en = (clean_output(value) for value in values)
    if not summary or not summary_en:
        return None
    return summary, summary_en


def _first_object(text: str) -> dict | None:
    # strict=False: models write raw newlines inside strings, which JSON forbids.
    decoder = json.JSONDecoder(strict=False)
    for match in re.finditer(r"\{", text):
        try:
            obj, _ = decoder.raw_decode(text, match.start())
        except ValueError:
            continue
        if isinstance(obj, dict):
            return obj
    return None


def _strip_markdown(text: str) -> str:
    """Code fence lines, heading and bullet markers, bold markers; the text they mark stays."""
    text = _FENCE_RE.sub("", text)
    text = _HEADING_RE.sub("", text)
    text = _BOLD_RE.sub(lambda m: m[1] if m[1] is not None else m[2], text)
    return _BULLET_RE.sub("", text)


def _normalise_blanks(text: str) -> str:
    """Runs of spaces and tabs made one space; lines stripped; blank lines dropped, so that
    paragraphs are one to a line."""
    lines = (_BLANKS_RE.sub(" ", line).strip(" \t\r") for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def _strip_preamble(text: str) -> str:
    """Leading preambles removed, a few at most ("Sure!" then "Here is the summary:")."""
    for _ in range(3):
        stripped = _strip_one_preamble(text)
        if stripped == text:
            break
        text = stripped
    return text


def _strip_one_preamble(text: str) -> str:
    first, _, rest = text.partition("\n")
    if _is_lead_line(first):  # alone, it is all there is: "" flags the output as empty
        return rest
    clause, colon, after = first.partition(":")
    # The colon must end the clause: "10:30" or "summary:x" glued to a word is not a lead.
    if not colon or (after and not after[0].isspace()) or not (after.strip() or rest):
        return text
    if not _is_lead(clause):
        return text
    return "\n".join(part for part in (after.strip(_BLANKS), rest) if part)


def _is_lead_line(line: str) -> bool:
    """A first line that is only a lead ("Voici le résumé :", "Résumé", "Sure!")."""
    line = line.strip(_BLANKS)
    if _INTERJECTION_RE.fullmatch(line):
        return True
    if line.endswith(":"):
        return _is_lead(line[:-1])
    return _is_label(_without_interjection(line))  # a bare title: "Résumé", "Translation"


def _is_lead(clause: str) -> bool:
    """Whether `clause` (the text before a colon) presents or labels the answer."""
    clause = clause.strip(_BLANKS)
    if not clause or len(clause.split()) > MAX_LEAD_WORDS:
        return False
    body = _without_interjection(clause)
    if _PRESENTING_RE.match(body):
        return bool(_CUE_RE.search(body))
    return _is_label(body)


def _is_label(body: str) -> bool:
    """A label and at most a few qualifying words: "Résumé de l'article", "Translation"."""
    label = _LABEL_RE.match(body)
    if label is None:
        return False
    words = [word for word in re.split(r"[\s'’()]+", body[label.end() :].lower()) if word]
    return len(words) <= MAX_QUALIFIERS and all(word in _QUALIFIERS for word in words)


def _without_interjection(clause: str) -> str:
    match = _INTERJECTION_RE.match(clause)
    return clause[match.end() :] if match else clause


def _strip_quotes(text: str) -> str:
    """Quotes around the whole text removed (« … » twice nested at most); quotes inside stay."""
    for _ in range(2):
        inner = _unwrap(text)
        if inner is None:
            break
        text = inner
    return text


def _unwrap(text: str) -> str | None:
    if len(text) < 2 or text[0] not in _QUOTES or text[-1] != _QUOTES[text[0]]:
        return None
    opening, closing = text[0], text[-1]
    inner = _ELISION_RE.sub("", text[1:-1]) if opening in "'‘" else text[1:-1]
    if not _balanced(inner, opening, closing):
        return None  # "a" et "b": the first and last quotes are not a pair
    inner = text[1:-1].strip(_BLANKS)
    return inner or None


def _balanced(inner: str, opening: str, closing: str) -> bool:
    """Whether the quotes inside `inner` pair up among themselves."""
    if opening == closing:
        return opening not in inner
    depth = 0
    for char in inner:
        depth += (char == opening) - (char == closing)
        if depth < 0:
            return False
    return depth == 0
