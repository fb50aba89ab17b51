"""Step: language identification with py3langid (its model ships inside the package)."""

from __future__ import annotations

from functools import cache

from newsum.pipeline.core.record import Record
from newsum.pipeline.core.step import Step

# Language id is the costliest part of cleaning and a few hundred characters of body
# text settle it: the score is already ~1.0 on two sentences of news prose.
SAMPLE_CHARS = 256


@cache
def _identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect_language(text: str, sample_chars: int = SAMPLE_CHARS) -> tuple[str, float]:
    """ISO 639-1 code and probability for the start of `text`."""
    lang, score = _identifier().classify(text[:sample_chars])
    return lang, round(float(score), 4)


class DetectLanguage(Step):
    """Sets `lang` and `lang_score`. Never drops: other languages are flagged, not removed."""

    name = "lang"

    def process(self, record: Record) -> None:
        record.lang, record.lang_score = detect_language(record.text)
