"""Languages: identifying a text's, and which ones a stage takes.

Identification lives here, below both users: cleaning sets each record's `lang`, and
the model stages check that an LLM answered in the language it was asked for.
"""

from __future__ import annotations

from functools import cache

from newsum.pipeline.core.record import Record

# Language id is the costliest part of cleaning and a few hundred characters of body
# text settle it: the score is already ~1.0 on two sentences of news prose.
SAMPLE_CHARS = 256


@cache
def _identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect_language(text: str, sample_chars: int = SAMPLE_CHARS) -> tuple[str, float]:
    """ISO 639-1 code and probability for the start of `text` (py3langid; its model
    ships inside the package)."""
    lang, score = _identifier().classify(text[:sample_chars])
    return lang, round(float(score), 4)


def language_refusal(lang: str | None, languages: tuple[str, ...], who: str = "this stage"):
    """Why `who` skips a record in language `lang`, or None when it takes it.

    `languages` lists ISO 639-1 codes, or "*" for any; a record with no detected
    language is taken (the user gave it on purpose).
    """
    if "*" in languages or not lang or lang in languages:
        return None
    return (
        f"language is {lang!r}; {who} takes {', '.join(languages)} (allow others with --languages)"
    )


def by_language(records: list[Record], default: str = "fr") -> dict[str, list[Record]]:
    """Records grouped by `lang` (in order), for stages that tell the model the language."""
    groups: dict[str, list[Record]] = {}
    for record in records:
        groups.setdefault(record.lang or default, []).append(record)
    return groups
