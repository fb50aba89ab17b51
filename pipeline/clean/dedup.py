"""Step: flag near-duplicates across the run with MinHash LSH (datasketch)."""

from __future__ import annotations

import zlib

import numpy as np

from newsum.pipeline.core.record import Record
from newsum.pipeline.core.step import Step

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


def minhash_signatures(hash_sets: list[np.ndarray], permutations) -> np.ndarray:
    """datasketch's "affine32" MinHash values of several sets at once, one row a set.

    The same numbers as `MinHash(scheme="affine32").update_batch()` (a test checks it),
    computed for a whole batch in a few numpy calls instead of a dozen per article: the
    per-article overhead was most of the cost of deduplication. Sets must be non-empty.
    """
    a, b = (np.asarray(p, dtype=np.uint32) for p in permutations)
    hv = np.concatenate(hash_sets).astype(np.uint32)
    # MurmurHash3's 32-bit finalizer, as datasketch applies before permuting.
    hv ^= hv >> np.uint32(16)
    hv *= np.uint32(0x85EBCA6B)
    hv ^= hv >> np.uint32(13)
    hv *= np.uint32(0xC2B2AE35)
    hv ^= hv >> np.uint32(16)
    # Permutations x shingles, so that the per-set minimum runs along contiguous memory
    # (reduceat across rows is fifteen times slower).
    permuted = np.multiply.outer(a, hv)
    permuted += b[:, None]
    starts = np.cumsum([0] + [len(h) for h in hash_sets[:-1]])
    return np.minimum.reduceat(permuted, starts, axis=1).T.copy()


# Bound the (permutations x shingles) matrix of one numpy call to 8 MB.
_MAX_SHINGLES_A_CALL = 16_384


class FlagNearDuplicates(Step):
    """Sets `duplicate_of` to the id of the first earlier article at least this similar.

    Similarity is the MinHash estimate of the Jaccard index of word 3-gram sets. LSH
    only proposes candidates; each is checked against the threshold, and the earliest
    qualifying article wins, so the answer does not depend on hash bucket order.
    The index holds about 4 KB per distinct article (datasketch keeps a set per band).
    """

    name = "dedup"

    def __init__(self, threshold: float) -> None:
        super().__init__()
        # datasketch imports scipy (half a second): only a run that deduplicates pays it.
        from datasketch import MinHash, MinHashLSH

        self._minhash = MinHash
        self.threshold = threshold
        # LSH tuned for recall (few missed pairs: 97 % found at J = 0.85 for a threshold
        # of 0.8, against 69 % with datasketch's balanced default); the false candidates
        # this lets in are dropped by the check against the threshold below.
        self._lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM, weights=(0.1, 0.9))
        # Permutations are drawn once: datasketch draws them again for every MinHash.
        self._permutations = MinHash(num_perm=NUM_PERM, seed=1).permutations
        self._ids: list[str] = []
        self._signatures: list[np.ndarray] = []
        self._pending: dict[int, np.ndarray] = {}  # signatures computed by prepare()

    def prepare(self, records: list[Record]) -> None:
        """Signatures for the whole batch, in as few numpy calls as memory allows."""
        self._pending: dict[int, np.ndarray] = {}
        group: list[tuple[Record, np.ndarray]] = []
        size = 0
        for record in records:
            hashes = shingle_hashes(record.text)
            if not len(hashes):
                continue
            if group and size + len(hashes) > _MAX_SHINGLES_A_CALL:
                self._sign(group)
                group, size = [], 0
            group.append((record, hashes))
            size += len(hashes)
        if group:
            self._sign(group)

    def _sign(self, group: list[tuple[Record, np.ndarray]]) -> None:
        signatures = minhash_signatures([h for _, h in group], self._permutations)
        for (record, _), signature in zip(group, signatures, strict=True):
            self._pending[id(record)] = signature

    def process(self, record: Record) -> None:
        signature = self._pending.pop(id(record), None)
        if signature is None:
            hashes = shingle_hashes(record.text)
            if not len(hashes):
                return  # no words (only punctuation or symbols): nothing to compare
            signature = minhash_signatures([hashes], self._permutations)[0]
        m = self._minhash(hashvalues=signature, permutations=self._permutations, scheme="affine32")
        best = None
        for index in self._lsh.query(m):
            if best is not None and index > best:
                continue
            if np.mean(self._signatures[index] == signature) >= self.threshold:
                best = index
        if best is not None:
            record.duplicate_of = self._ids[best]
            return
        index = len(self._ids)
        self._ids.append(record.id)
        self._signatures.append(signature)
        self._lsh.insert(index, m, check_duplication=False)
