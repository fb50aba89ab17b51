"""Step: flag near-duplicates across the run with MinHash LSH, a batch at a time.

The whole of a batch (64 records) goes through a few numpy calls and one Rust call:
word hashes from the text's code points, word 3-gram hashes, MinHash signatures (rensa),
LSH band keys, the candidates from the index and their check against the threshold.
Python runs once per batch, not once per shingle or band. The LSH parameters and the
index's answers are datasketch's MinHashLSH's (tests check both); its memory is about
700 bytes per distinct article in numpy arrays, not 4 KB of Python sets.
"""

from __future__ import annotations

from functools import lru_cache
from itertools import combinations

import numpy as np

from newsum.pipeline.core.record import Record
from newsum.pipeline.core.step import Step

NUM_PERM = 128
SHINGLE_WORDS = 3
SEED = 1  # rensa's MinHash seed: fixed, so that every run flags the same pairs
# LSH weights of false positives and false negatives, tuned for recall: for a threshold
# of 0.8, 14 bands of 9 rows, and 97 % of pairs at J = 0.85 are candidates (69 % with
# datasketch's balanced default of 9 bands of 13). The false candidates this lets in are
# dropped by the check against the threshold.
LSH_WEIGHTS = (0.1, 0.9)


@lru_cache
def lsh_bands(threshold: float, num_perm: int = NUM_PERM) -> tuple[int, int]:
    """(bands, rows) minimising the weighted false positive and negative probabilities:
    datasketch's `MinHashLSH(threshold, num_perm, weights=LSH_WEIGHTS)` choice (a test
    checks it). The integrands are polynomials of degree <= num_perm, which Gauss-Legendre
    quadrature with num_perm / 2 + 1 nodes integrates exactly."""
    nodes, weights = np.polynomial.legendre.leggauss(num_perm // 2 + 1)
    below = (nodes + 1) * threshold / 2  # nodes mapped to [0, threshold], then [threshold, 1]
    above = threshold + (nodes + 1) * (1 - threshold) / 2
    b, r = np.array([(b, r) for b in range(1, num_perm + 1) for r in range(1, num_perm // b + 1)]).T
    b, r = b[:, None].astype(float), r[:, None].astype(float)
    fp = (1 - (1 - below**r) ** b) @ weights * threshold / 2
    fn = ((1 - above**r) ** b) @ weights * (1 - threshold) / 2
    best = int(np.argmin(fp * LSH_WEIGHTS[0] + fn * LSH_WEIGHTS[1]))  # the first minimum
    return int(b[best, 0]), int(r[best, 0])


_U64 = np.uint64
# Fixed odd 64-bit constants: hashes are the same in every run and process (unlike hash()).
_P = 0x9E3779B97F4A7C15  # polynomial base of the word hash
_P_INV = pow(_P, -1, 2**64)
_GRAM_WEIGHTS = (0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0x85EBCA77C2B2AE63)
_ROW_WEIGHTS = np.array([(0xD6E8FEB86659FD93 * (2 * i + 1)) % 2**64 for i in range(NUM_PERM)], _U64)
_BAND_SALTS = np.array([(0x9FB21C651E98DF25 * (i + 1)) % 2**64 for i in range(NUM_PERM)], _U64)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer, in place on a uint64 array: every bit depends on every bit."""
    x ^= x >> _U64(30)
    x *= _U64(0xBF58476D1CE4E5B9)
    x ^= x >> _U64(27)
    x *= _U64(0x94D049BB133111EB)
    x ^= x >> _U64(31)
    return x


_TABLES: dict[str, np.ndarray] = {}


def _tables() -> dict[str, np.ndarray]:
    """Lookup tables by code point, built on first use (a few milliseconds):
    `fold`, the simple case folding of the Basic Multilingual Plane (str.casefold() where
    it gives one character: ß and the ligatures, which fold to several, stay as they are);
    `space`, the characters str.split() splits on (str.isspace(), all below U+3001), and a
    last entry, False, for every code point above."""
    if not _TABLES:
        chars = list(map(chr, range(0x10000)))
        folded = [
            f if len(f) == 1 else c for c, f in zip(chars, map(str.casefold, chars), strict=True)
        ]
        encoded = "".join(folded).encode("utf-32-le", "surrogatepass")
        _TABLES["fold"] = np.frombuffer(encoded, np.uint32)
        _TABLES["space"] = np.array([c.isspace() for c in chars[:0x3001]] + [False])
    return _TABLES


_POWERS = np.ones(1, _U64)  # _P ** i, grown on demand
_INVERSE_POWERS = np.ones(1, _U64)  # _P ** -i


def _powers(n: int) -> tuple[np.ndarray, np.ndarray]:
    global _POWERS, _INVERSE_POWERS
    if len(_POWERS) < n:
        size = max(n, 2 * len(_POWERS))
        _POWERS = np.cumprod(np.full(size, _P, _U64)) * _U64(_P_INV)
        _INVERSE_POWERS = np.cumprod(np.full(size, _P_INV, _U64)) * _U64(_P)
    return _POWERS[:n], _INVERSE_POWERS[:n]


def shingles(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """64-bit hashes of the word 3-grams of each case-folded text, and each text's offsets.

    Words are what str.split() returns (whitespace-separated, punctuation attached:
    consistent between copies of an article). Text i's hashes are
    `hashes[offsets[i]:offsets[i + 1]]`, in order, repeats kept (harmless to MinHash, a
    minimum); a text of one or two words has one shingle, a text without words none.
    Each word's hash is a polynomial of its code points, all the texts' at once from one
    prefix sum; an n-gram's is a mixed weighted sum of its words'.
    """
    tables = _tables()
    codes = np.frombuffer(" ".join(texts).encode("utf-32-le", "surrogatepass"), np.uint32)
    folded = np.take(tables["fold"], codes, mode="clip")
    if len(codes) and codes.max() > 0xFFFF:  # beyond the table: as they are
        folded = np.where(codes > 0xFFFF, codes, folded)
    space = np.ones(len(codes) + 2, bool)
    space[1:-1] = np.take(tables["space"], codes, mode="clip")
    edges = np.diff(space.view(np.int8))
    starts, ends = np.flatnonzero(edges == -1), np.flatnonzero(edges == 1)
    powers, inverse = _powers(len(codes))
    prefix = np.zeros(len(codes) + 1, _U64)
    np.cumsum(folded * powers, out=prefix[1:])
    words = _mix((prefix[ends] - prefix[starts]) * inverse[starts])
    # Words of text i: [first[i], first[i + 1]).
    text_starts = np.cumsum([0] + [len(t) + 1 for t in texts[:-1]])
    first = np.append(np.searchsorted(starts, text_starts), len(words))
    counts = np.diff(first)
    n = max(len(words) - SHINGLE_WORDS + 1, 0)
    grams = np.zeros(n, _U64)
    for i, weight in enumerate(_GRAM_WEIGHTS):
        grams += words[i : n + i] * _U64(weight)
    # A gram is kept where its last word is in the same text as its first.
    keep = np.ones(n, bool)
    for end in first[1:-1]:
        keep[max(end - SHINGLE_WORDS + 1, 0) : end] = False
    short = np.flatnonzero((counts > 0) & (counts < SHINGLE_WORDS))
    if len(short):  # one shingle of the words there are, in place of the first gram
        tail = np.zeros(len(short), _U64)
        for i, weight in enumerate(_GRAM_WEIGHTS[: SHINGLE_WORDS - 1]):
            has = counts[short] > i
            tail[has] += words[first[short][has] + i] * _U64(weight)
        keep = np.insert(keep, np.minimum(first[short], n), True)
        grams = np.insert(grams, np.minimum(first[short], n), tail)
    hashes = _mix(grams[keep])
    sizes = np.where(counts >= SHINGLE_WORDS, counts - SHINGLE_WORDS + 1, counts > 0)
    return hashes, np.append(0, np.cumsum(sizes))


def shingle_hashes(text: str) -> np.ndarray:
    """The hashes of one text's word 3-grams (see `shingles`)."""
    return shingles([text])[0]


def minhash_signatures(hashes: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """MinHash values of several sets at once, one uint32 row of NUM_PERM a set: rensa's
    Rust MinHash (`RMinHash`, seeded, the same numbers in every run) over the 64-bit
    shingle hashes. Set i is `hashes[offsets[i]:offsets[i + 1]]`; every set non-empty.
    Four times faster than the same in numpy (a permutations x shingles matrix).
    """
    from rensa import RMinHash  # imported on first use: `newsum --help` does not pay it

    matrix = RMinHash.digest_matrix_from_flat_token_hashes(
        np.ascontiguousarray(hashes, np.uint64), np.asarray(offsets, np.uint64), NUM_PERM, SEED
    )
    return np.array(matrix.to_rows(), np.uint32).reshape(-1, NUM_PERM)


def band_keys(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """One 64-bit key per LSH band (signatures x bands): equal bands have equal keys.

    A key is a mixed weighted sum of the band's values, salted with the band's number;
    two different bands share a key with a probability of about 2**-64, and such a false
    candidate would still have to pass the check against the threshold."""
    n = len(signatures)
    values = signatures[:, : bands * rows].reshape(n, bands, rows).astype(_U64)
    keys = (values * _ROW_WEIGHTS[:rows]).sum(axis=2, dtype=_U64) ^ _BAND_SALTS[:bands]
    return _mix(keys)


class _SortedRuns:
    """A multimap from uint64 keys to int32 values: sorted numpy runs, merged like a
    binary counter (a log-structured merge), 12 bytes an entry and no Python object."""

    def __init__(self) -> None:
        self._runs: list[tuple[np.ndarray, np.ndarray]] = []

    def add(self, keys: np.ndarray, values: np.ndarray) -> None:
        if not len(keys):
            return
        order = np.argsort(keys, kind="stable")
        run = (keys[order], values[order].astype(np.int32))
        while self._runs and len(self._runs[-1][0]) <= len(run[0]):
            keys, values = (np.concatenate(p) for p in zip(self._runs.pop(), run, strict=True))
            order = np.argsort(keys, kind="stable")
            run = (keys[order], values[order])
        self._runs.append(run)

    def find(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every (position in keys, value) whose key is stored."""
        found_at, found = [np.empty(0, np.intp)], [np.empty(0, np.int32)]
        for stored, values in self._runs:
            lo = np.searchsorted(stored, keys)
            hit = np.flatnonzero(stored[np.minimum(lo, len(stored) - 1)] == keys)
            if not len(hit):
                continue
            lo = lo[hit]
            count = np.searchsorted(stored, keys[hit], side="right") - lo
            at = np.repeat(hit, count)
            found_at.append(at)
            found.append(
                values[np.repeat(lo - np.cumsum(count) + count, count) + np.arange(len(at))]
            )
        return np.concatenate(found_at), np.concatenate(found)

    @property
    def nbytes(self) -> int:
        return sum(k.nbytes + v.nbytes for k, v in self._runs)


class FlagNearDuplicates(Step):
    """Sets `duplicate_of` to the id of the first earlier article at least this similar.

    Similarity is the MinHash estimate of the Jaccard index of word 3-gram sets. LSH
    only proposes candidates (articles sharing a band of their signature); each is
    checked against the threshold, and the earliest qualifying article wins, so the
    answer depends on neither hash bucket nor batch order. The index holds, for each
    distinct article, its signature (512 bytes) and one 12-byte entry per band in sorted
    numpy arrays: about 700 bytes, no Python object but the id.
    """

    name = "dedup"

    def __init__(self, threshold: float) -> None:
        super().__init__()
        self.threshold = threshold
        self._lsh = lsh_bands(threshold)
        self._ids: list[str] = []
        self._signatures = np.empty((0, NUM_PERM), np.uint32)  # grows by doubling
        self._bands = _SortedRuns()
        self._flagged: dict[int, str | None] = {}  # id(record) -> duplicate_of, by prepare()

    def prepare(self, records: list[Record]) -> None:
        self._flagged = self._flag(records)

    def process(self, record: Record) -> None:
        if id(record) not in self._flagged:  # prepare() failed or was not called
            self._flagged.update(self._flag([record]))
        record.duplicate_of = self._flagged.pop(id(record))

    def _flag(self, records: list[Record]) -> dict[int, str | None]:
        """Each record's duplicate_of, in order; the distinct ones join the index."""
        hashes, offsets = shingles([record.text for record in records])
        result: dict[int, str | None] = {id(record): None for record in records}
        # Records without words (only punctuation or symbols): nothing to compare.
        present = np.flatnonzero(np.diff(offsets) > 0)
        if not len(present):
            return result
        offsets = np.append(offsets[present], offsets[-1])
        signatures = minhash_signatures(hashes, offsets)
        keys = band_keys(signatures, *self._lsh)
        n, known = len(signatures), len(self._ids)
        # Candidates in the index: (row in the batch, article), kept if similar enough.
        at, article = self._bands.find(keys.ravel())
        at //= len(keys[0])
        similar = self._similar(signatures[at], self._signatures[article])
        earliest = np.full(n, known, np.int64)  # known: none
        np.minimum.at(earliest, at[similar], article[similar])
        # Candidates within the batch: pairs of rows sharing a band key.
        earlier: dict[int, list[int]] = {}
        flat = keys.ravel()
        order = np.argsort(flat, kind="stable")
        bounds = np.flatnonzero(np.diff(flat[order])) + 1
        starts, ends = np.append(0, bounds), np.append(bounds, len(flat))
        pairs: set[tuple[int, int]] = set()
        shared = ends - starts > 1  # rare: rows of one batch that share a band
        for start, end in zip(starts[shared].tolist(), ends[shared].tolist(), strict=True):
            pairs.update(combinations(np.unique(order[start:end] // len(keys[0])).tolist(), 2))
        if pairs:
            first, second = np.array(sorted(pairs)).T
            ok = self._similar(signatures[first], signatures[second])
            for a, b in zip(first[ok].tolist(), second[ok].tolist(), strict=True):
                earlier.setdefault(b, []).append(a)
        # In order: an index hit is older than any row of the batch; else the first
        # earlier row that is itself distinct.
        distinct: dict[int, int] = {}  # row -> its article number
        for row in range(n):
            record = records[present[row]]
            if earliest[row] < known:
                result[id(record)] = self._ids[earliest[row]]
                continue
            match = next((a for a in earlier.get(row, ()) if a in distinct), None)
            if match is not None:
                result[id(record)] = records[present[match]].id
            else:
                distinct[row] = known + len(distinct)
        rows = np.fromiter(distinct, np.intp, len(distinct))
        self._add(rows, [records[present[row]].id for row in distinct], signatures, keys)
        return result

    def _similar(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        return np.mean(left == right, axis=1) >= self.threshold

    def _add(self, rows: np.ndarray, ids: list[str], signatures, keys) -> None:
        known = len(self._ids)
        if known + len(rows) > len(self._signatures):
            grown = np.empty(
                (max(2 * len(self._signatures), known + len(rows), 64), NUM_PERM), np.uint32
            )
            grown[:known] = self._signatures[:known]
            self._signatures = grown
        self._signatures[known : known + len(rows)] = signatures[rows]
        self._ids += ids
        articles = np.repeat(np.arange(known, known + len(rows), dtype=np.int32), len(keys[0]))
        self._bands.add(keys[rows].ravel(), articles)
