"""Extractive summarizers that need no model weights: lead-N and TextRank.

Both split the text with `pipeline.sentences.split_sentences`, pick sentences and
return them in document order, joined by a single space. The base class owns that
loop; a subclass only chooses which sentence indices to keep.
"""

from __future__ import annotations

import math
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from newsum.pipeline.core.sentences import split_sentences

# Function words ignored when comparing sentences (elided forms such as the "l" of
# "l'État" included, since \w+ splits at the apostrophe).
FRENCH_STOPWORDS = frozenset(
    """
    le la les l un une des du de d au aux ce cet cette ces ça cela ceci
    et ou mais donc or ni car que qu qui quoi dont où si comme
    à a en dans par pour sur sous avec sans chez entre vers contre depuis pendant avant après
    je j tu il elle on nous vous ils elles me m te t se s lui leur leurs y
    mon ma mes ton ta tes son sa ses notre nos votre vos
    ne n pas plus moins très aussi tout tous toute toutes même autre autres
    est sont été être était étaient sera ont avait avaient avoir fait c
    """.split()
)
_WORD = re.compile(r"\w+")
_NAME = re.compile(r"(lead|textrank)(?:-(.*))?")


def words(sentence: str) -> set[str]:
    """Distinct lowercased word tokens of `sentence`, French stopwords removed."""
    return {w for w in _WORD.findall(sentence.lower()) if w not in FRENCH_STOPWORDS}


def similarity(a: set[str], b: set[str]) -> float:
    """TextRank similarity |a ∩ b| / (log|a| + log|b|); 0 when that is undefined."""
    if not a or not b:
        return 0.0
    denominator = math.log(len(a)) + math.log(len(b))
    return len(a & b) / denominator if denominator > 0 else 0.0


def pagerank(weights: np.ndarray, damping: float = 0.85, tol: float = 1e-6) -> np.ndarray:
    """Weighted PageRank scores (summing to 1) of a symmetric weight matrix, by power
    iteration (at most 100 steps); a node without edges spreads its score evenly."""
    n = len(weights)
    out_weight = weights.sum(axis=0)
    # Column j holds where node j sends its score.
    transition = np.where(out_weight > 0, weights / np.where(out_weight > 0, out_weight, 1), 1 / n)
    scores = np.full(n, 1 / n)
    for _ in range(100):
        updated = (1 - damping) / n + damping * transition @ scores
        converged = np.abs(updated - scores).sum() < tol
        scores = updated
        if converged:
            break
    return scores


@dataclass(frozen=True)
class Extractive(ABC):
    """Keeps `n` sentences of the text (all of them when it has fewer)."""

    kind: ClassVar[str]
    n: int = 3

    def __post_init__(self) -> None:
        if isinstance(self.n, bool) or not isinstance(self.n, int) or self.n < 1:
            raise ValueError(f"{self.kind} needs a sentence count >= 1, got {self.n!r}")

    @property
    def name(self) -> str:
        return f"{self.kind}-{self.n}"

    def summarize(self, text: str, lang: str = "fr") -> str:
        sentences = split_sentences(text, lang)
        if len(sentences) <= self.n:
            return " ".join(sentences)
        return " ".join(sentences[i] for i in sorted(self.select(sentences)))

    @abstractmethod
    def select(self, sentences: list[str]) -> list[int]:
        """Indices of the `n` sentences to keep (more than `n` sentences are given)."""


@dataclass(frozen=True)
class Lead(Extractive):
    """The first `n` sentences."""

    kind: ClassVar[str] = "lead"

    def select(self, sentences: list[str]) -> list[int]:
        return list(range(self.n))


@dataclass(frozen=True)
class TextRank(Extractive):
    """The `n` sentences with the highest TextRank score (Mihalcea & Tarau 2004)."""

    kind: ClassVar[str] = "textrank"

    def select(self, sentences: list[str]) -> list[int]:
        scores = self.scores(sentences)
        # Rounding makes float noise between equal scores a true tie, won by the earlier one.
        ranked = sorted(range(len(sentences)), key=lambda i: (-round(scores[i], 9), i))
        return ranked[: self.n]

    @staticmethod
    def scores(sentences: list[str]) -> list[float]:
        """PageRank score of each sentence in the sentence-similarity graph."""
        bags = [words(s) for s in sentences]
        weights = np.array(
            [
                [similarity(a, b) if i != j else 0.0 for j, b in enumerate(bags)]
                for i, a in enumerate(bags)
            ]
        )
        return pagerank(weights).tolist()


def parse_extractive(name: str) -> Extractive | None:
    """The summarizer a built-in name stands for ("lead-3", "lead-N", "textrank",
    "textrank-N"), or None when `name` is not one (a hub id or a local path).

    Raises ValueError for a malformed built-in name such as "lead-0" or "lead-x".
    """
    m = _NAME.fullmatch(name)
    if not m:
        return None
    kind, count = m.groups()
    cls = Lead if kind == "lead" else TextRank
    if count is None:
        if kind == "lead":
            raise ValueError('"lead" needs a sentence count: use lead-N, for example lead-3')
        return cls(3)
    if not re.fullmatch(r"[0-9]+", count) or int(count) < 1:
        raise ValueError(
            f"invalid extractive summarizer {name!r}: expected {kind}-N with N a whole "
            f"number >= 1, for example {kind}-3"
        )
    return cls(int(count))
