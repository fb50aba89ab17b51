"""Step: flag near-duplicates across the run with MinHash LSH (datasketch)."""

from __future__ import annotations

import zlib

import numpy as np
from datasketch import MinHash, MinHashLSH

from ..record import Record
from ..step import Step

NUM_PERM = 128
SHINGLE_WORDS = 3


def shingle_hashes(text: str, size: int = SHINGLE_WORDS) -> np.ndarray:
    """32-bit hashes of the word n-grams of the casefolded text, in order, repeats kept.

    Each word is hashed once (crc32, deterministic across runs, unlike hash()) and an
    n-gram's hash is a fixed weighted sum of its words' hashes: the same information
    as hashing the joined words, without building every n-gram string. Repeats are
    harmless to MinHash (a minimum), and dropping them would cost a sort.
    """
    # Whitespace-separated tokens (punctuation attached): consistent between copies of an
    # article, and three times cheaper than a \w+ regex.
    words = text.casefold().split()
    h = np.fromiter(map(zlib.crc32, map(str.encode, words)), np.uint64, len(words))
    if len(h) <= size:
        return np.bitwise_xor.reduce(h, keepdims=True) if len(h) else h
    n = len(h) - size + 1
    grams = sum(h[i : n + i] * np.uint64(w) for i, w in enumerate(_WEIGHTS[:size]))
    return grams & np.uint64(0xFFFFFFFF)


_WEIGHTS = (0x9E3779B1, 0x85EBCA77, 0xC2B2AE3D, 0x27D4EB2F, 0x165667B1)


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

    def _minhash(self, hashes: np.ndarray) -> MinHash:
        m = MinHash(
            num_perm=NUM_PERM,
            hashfunc=int,  # items are already 32-bit hashes
            permutations=self._permutations,
            scheme="affine32",
        )
        m.update_batch(hashes.tolist())
        return m

    def process(self, record: Record) -> None:
        hashes = shingle_hashes(record.text)
        if not len(hashes):
            return  # no words (only punctuation or symbols): nothing to compare
        m = self._minhash(hashes)
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
