"""Step: flag near-duplicates across the run with MinHash LSH (datasketch)."""

from __future__ import annotations

import re
import zlib

import numpy as np
from datasketch import MinHash, MinHashLSH

from ..record import Record
from ..step import Step

NUM_PERM = 128
SHINGLE_WORDS = 3
_WORD = re.compile(r"\w+")


def shingles(text: str, size: int = SHINGLE_WORDS) -> set[bytes]:
    """Word n-grams of the casefolded text (the whole text when it is shorter than n)."""
    words = _WORD.findall(text.casefold())
    if len(words) <= size:
        return {" ".join(words).encode()}
    return {" ".join(words[i : i + size]).encode() for i in range(len(words) - size + 1)}


class FlagNearDuplicates(Step):
    """Sets `duplicate_of` to the id of the first earlier article at least this similar.

    Similarity is the MinHash estimate of the Jaccard index of word 3-gram sets. LSH
    only proposes candidates; each is checked against the threshold, and the earliest
    qualifying article wins, so the answer does not depend on hash bucket order.
    The index keeps one signature per distinct article, about 2 KB each.
    """

    name = "dedup"

    def __init__(self, threshold: float) -> None:
        super().__init__()
        self.threshold = threshold
        self._lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
        # Permutations are drawn once: datasketch draws them again for every MinHash.
        self._permutations = MinHash(num_perm=NUM_PERM, seed=1).permutations
        self._ids: list[str] = []
        self._signatures: list[np.ndarray] = []

    def _minhash(self, text: str) -> MinHash:
        m = MinHash(
            num_perm=NUM_PERM,
            hashfunc=zlib.crc32,  # deterministic and fast; MinHash needs 32 bits
            permutations=self._permutations,
            scheme="affine32",
        )
        m.update_batch(list(shingles(text)))
        return m

    def process(self, record: Record) -> None:
        m = self._minhash(record.text)
        best = None
        for index in self._lsh.query(m):
            if best is not None and index > best:
                continue
            if np.mean(self._signatures[index] == m.hashvalues) >= self.threshold:
                best = index
        if best is not None:
            record.duplicate_of = self._ids[best]
            return
        index = len(self._ids)
        self._ids.append(record.id)
        self._signatures.append(m.hashvalues)
        self._lsh.insert(index, m, check_duplication=False)
