"""Step: language identification (pipeline.core.languages.detect_language)."""

from __future__ import annotations

from newsum.pipeline.core.languages import detect_language
from newsum.pipeline.core.record import Record
from newsum.pipeline.core.step import Step

__all__ = ["DetectLanguage", "detect_language"]


class DetectLanguage(Step):
    """Sets `lang` and `lang_score`. Never drops: other languages are flagged, not removed."""

    name = "lang"

    def process(self, record: Record) -> None:
        record.lang, record.lang_score = detect_language(record.text)
