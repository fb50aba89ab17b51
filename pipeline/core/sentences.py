"""French sentence segmentation for later stages (chunking, lead-N).

sentencex is fast (a compiled segmenter, ~20 µs a paragraph) but cuts after French
abbreviations it does not know ("M. Dupont", "av. J.-C."); the few merges below mend
exactly those cuts.
"""

from __future__ import annotations

import re

import sentencex

# Abbreviations after which a period does not end a sentence in French news text.
ABBREVIATIONS = frozenset(
    "m mm mme mmes mlle mlles me mes dr pr pre st ste sts stes mgr cf etc env av apr "
    "j.-c p pp vol chap art al no n° tél ed éd coll dir trad fig hab km ex".split()
)  # "etc." often does end a sentence: it is merged only before a lowercase word
_LAST_WORD = re.compile(r"([\w°.-]+)\.\s*$")
_INITIAL = re.compile(r"(?:^|\s)[A-ZÀ-Ý]\.\s*$")


def _joins_next(segment: str, following: str) -> bool:
    """True when the cut between `segment` and `following` is not a sentence end."""
    if not following[:1].isalpha() and not following.startswith(("-", "'")):
        return following[:1] in ",;:)"
    if following[:1].islower():
        return True
    m = _LAST_WORD.search(segment)
    if not m:
        return False
    word = m.group(1).lower()
    if word == "etc":
        return False
    return word in ABBREVIATIONS or bool(_INITIAL.search(segment))


def split_sentences(text: str, lang: str = "fr") -> list[str]:
    """Sentences of `text` in order, paragraph by paragraph, stripped, none empty."""
    out: list[str] = []
    for paragraph in text.split("\n"):
        merged: list[str] = []
        for piece in sentencex.segment(lang, paragraph):
            if merged and _joins_next(merged[-1], piece):
                merged[-1] += piece
            elif piece.strip():
                merged.append(piece)
        out.extend(s.strip() for s in merged if s.strip())
    return out
