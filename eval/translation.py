"""Corpus BLEU, chrF and TER through sacrebleu, with bootstrap CIs and paired tests.

Scores and signatures are sacrebleu's own: `score` is exactly
`BLEU().corpus_score(hyps, [refs]).score` (likewise `CHRF()`, `TER()`, default
settings, one reference per segment) and `signature` is `metric.get_signature()`.

These are corpus-level metrics (BLEU is not a mean of sentence BLEUs), so resampling
works like sacrebleu's own bootstrap: keep each segment's sufficient statistics, and
for every resample sum the chosen rows and recompute the score. That uses sacrebleu's
`_extract_corpus_statistics` / `_compute_score_from_stats`, the two methods its own
`sacrebleu.significance` module is built on (stable across sacrebleu 2.x; the tests
check that re-aggregating the statistics gives back `corpus_score`). Resampling
follows `eval.bootstrap` (same indices, percentile CIs), not sacrebleu's, so ROUGE and
translation intervals read the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sacrebleu.metrics import BLEU, CHRF, TER
from sacrebleu.metrics.base import Metric

from newsum.eval.bootstrap import BootstrapOptions, percentile_interval, resampled


def default_metrics() -> dict[str, Metric]:
    """Fresh sacrebleu metric objects, default settings: {"bleu", "chrf", "ter"}."""
    return {"bleu": BLEU(), "chrf": CHRF(), "ter": TER()}


@dataclass(frozen=True)
class CorpusStats:
    """One metric on one system: sacrebleu's score plus per-segment statistics."""

    metric: Metric  # the sacrebleu object (settings; recomputes scores from stats)
    stats: np.ndarray  # (n_segments, k) sufficient statistics, one row a segment
    score: float  # sacrebleu's corpus score
    signature: str  # sacrebleu's signature string

    def score_rows(self, idx: np.ndarray) -> np.ndarray:
        """Corpus score of each resample; `idx` has shape (block, n_segments)."""
        return np.array(
            [
                self.metric._compute_score_from_stats(self.stats[row].sum(axis=0)).score
                for row in idx
            ]
        )


def _check(hyps: Sequence[str], refs: Sequence[str]) -> None:
    if len(hyps) != len(refs):
        raise ValueError(f"{len(hyps)} hypotheses but {len(refs)} references: match ids first")
    if not hyps:
        raise ValueError("no segments to score")


def segment_stats(
    hyps: Sequence[str], refs: Sequence[str], metrics: dict[str, Metric] | None = None
) -> dict[str, CorpusStats]:
    """Score `hyps` against `refs` (one reference each) and keep per-segment statistics."""
    _check(hyps, refs)
    out = {}
    for name, metric in (metrics or default_metrics()).items():
        score = metric.corpus_score(list(hyps), [list(refs)])
        stats = metric._extract_corpus_statistics(list(hyps), [list(refs)])
        out[name] = CorpusStats(
            metric=metric,
            stats=np.asarray(stats, dtype=np.float64),
            score=float(score.score),
            signature=str(metric.get_signature()),
        )
    return out


def aggregate_translation(
    stats: dict[str, CorpusStats], bootstrap: BootstrapOptions | None = None
) -> dict[str, dict[str, float | str]]:
    """{metric: {"score", "ci_low", "ci_high", "signature", "bootstrap"}} on sacrebleu's scale.

    `signature` is sacrebleu's, verbatim; `bootstrap` says how the CI was resampled.
    """
    boot = bootstrap or BootstrapOptions()
    result: dict[str, dict[str, float | str]] = {}
    for name, entry in stats.items():
        samples = resampled(len(entry.stats), entry.score_rows, boot.n_resamples, boot.seed)
        low, high = percentile_interval(samples, boot.alpha)
        result[name] = {
            "score": entry.score,
            "ci_low": float(low),
            "ci_high": float(high),
            "signature": entry.signature,
            "bootstrap": boot.signature(),
        }
    return result


def translation_scores(
    hyps: Sequence[str], refs: Sequence[str], bootstrap: BootstrapOptions | None = None
) -> dict[str, dict[str, float | str]]:
    """BLEU, chrF and TER of `hyps` against `refs`, with CIs.

    Same as `aggregate_translation(segment_stats(hyps, refs), bootstrap)`.
    """
    return aggregate_translation(segment_stats(hyps, refs), bootstrap)
