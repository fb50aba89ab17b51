"""Bootstrap confidence intervals and paired bootstrap tests.

Every metric in `eval` keeps per-item statistics (ROUGE: per-pair P/R/F; sacrebleu
metrics: per-segment sufficient statistics), so a confidence interval or a paired test
only re-aggregates resampled rows, never re-scores text.

Conventions, shared by every metric so their numbers can be compared:

- Resamples are drawn with `numpy.random.default_rng(seed)`: `n_resamples` rows of
  `n` indices drawn with replacement. The indices depend only on `(n, n_resamples,
  seed)`, so two systems scored on the same ids are resampled identically (paired),
  and ROUGE and BLEU for one system use the same resamples.
- Confidence intervals use the percentile method: the `alpha/2` and `1 - alpha/2`
  quantiles of the resampled statistic (numpy's default linear interpolation).
- Paired test (Koehn 2004, as in sacrebleu's paired bootstrap, but two-sided and
  centred on the observed difference as in Efron & Tibshirani 1993, §16.4, and
  Berg-Kirkpatrick et al. 2012): with the observed difference `d = stat(a) - stat(b)`
  and the resampled differences `d*`, the null distribution is `d* - d` and

      p = (1 + #{|d* - d| >= |d|}) / (n_resamples + 1)

  The `+1` (as in sacrebleu and multeval) keeps p > 0; identical systems give
  `d = 0`, every resample counts, and p = 1 exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

DEFAULT_RESAMPLES = 1000
DEFAULT_SEED = 12345  # sacrebleu's default SACREBLEU_SEED, so defaults line up
DEFAULT_ALPHA = 0.05

# Index blocks hold at most this many entries, so memory stays flat for large sets
# (1,000 resamples x 15,000 items at once would be 120 MB of indices alone).
_BLOCK_ENTRIES = 2_000_000


@dataclass(frozen=True)
class BootstrapOptions:
    """How confidence intervals and paired tests are resampled (one object, passed down)."""

    n_resamples: int = DEFAULT_RESAMPLES
    seed: int = DEFAULT_SEED
    alpha: float = DEFAULT_ALPHA  # 0.05 -> 95 % intervals

    def __post_init__(self) -> None:
        if self.n_resamples < 1:
            raise ValueError(f"n_resamples must be at least 1, got {self.n_resamples}")
        if not 0 < self.alpha < 1:
            raise ValueError(f"alpha must be in (0, 1), got {self.alpha}")

    def signature(self) -> str:
        """`boot=1000|seed=12345|ci=95%`: the part of a metric signature about resampling."""
        return f"boot={self.n_resamples}|seed={self.seed}|ci={100 * (1 - self.alpha):g}%"


def resample_blocks(n: int, n_resamples: int, seed: int) -> Iterator[np.ndarray]:
    """Yield index arrays of shape (block, n) that together make `n_resamples` resamples.

    The block size depends only on `n`, so the stream is a pure function of
    `(n, n_resamples, seed)`.
    """
    if n < 1:
        raise ValueError("cannot bootstrap an empty set")
    rng = np.random.default_rng(seed)
    block = max(1, _BLOCK_ENTRIES // n)
    for start in range(0, n_resamples, block):
        size = min(block, n_resamples - start)
        yield rng.integers(0, n, size=(size, n))


def resampled(
    n: int,
    statistic: Callable[[np.ndarray], np.ndarray],
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> np.ndarray:
    """Apply `statistic` to every resample; returns its values stacked, shape (n_resamples, ...).

    `statistic` receives an index array of shape (block, n) and returns one value (or row
    of values) per resample, shape (block, ...). For a mean that is
    `lambda idx: values[idx].mean(axis=1)`; for a corpus metric, re-aggregate the
    segment statistics of each row.
    """
    return np.concatenate([statistic(idx) for idx in resample_blocks(n, n_resamples, seed)])


def percentile_interval(samples: np.ndarray, alpha: float = DEFAULT_ALPHA) -> tuple:
    """(low, high) percentile interval of `samples` along axis 0."""
    low, high = np.percentile(samples, [100 * alpha / 2, 100 * (1 - alpha / 2)], axis=0)
    return low, high


def paired_p_value(sample_diffs: np.ndarray, observed: float | np.ndarray) -> float | np.ndarray:
    """Two-sided p-value of `observed` given resampled differences (see module docstring)."""
    extreme = np.abs(sample_diffs - observed) >= np.abs(observed)
    return (1 + extreme.sum(axis=0)) / (len(sample_diffs) + 1)


def _as_2d(values: np.ndarray, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim not in (1, 2):
        raise ValueError(f"{name} must have shape (n,) or (n, k), got {array.shape}")
    if len(array) == 0:
        raise ValueError(f"{name} is empty: nothing to bootstrap")
    return array


def bootstrap_ci(
    values: np.ndarray,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    alpha: float = DEFAULT_ALPHA,
) -> tuple:
    """Percentile bootstrap interval (low, high) of the mean of `values`.

    `values` has shape (n,) -> two floats, or (n, k) -> two arrays of shape (k,), one
    interval per column (e.g. precision, recall, F of each pair).
    """
    array = _as_2d(values, "values")
    means = resampled(len(array), lambda idx: array[idx].mean(axis=1), n_resamples, seed)
    return percentile_interval(means, alpha)


@dataclass(frozen=True)
class PairedResult:
    """Paired comparison of system A against system B on the same items.

    `diff` is stat(A) - stat(B) on the full set (positive: A is better for a
    higher-is-better metric); `ci_low`/`ci_high` the percentile interval of the
    resampled differences; `p_value` two-sided (see module docstring).
    Floats for 1-D inputs, arrays of shape (k,) for (n, k) inputs.
    """

    diff: float | np.ndarray
    p_value: float | np.ndarray
    ci_low: float | np.ndarray
    ci_high: float | np.ndarray

    def as_dict(self) -> dict:
        """JSON-ready dict (floats, or lists for column-wise results)."""
        return {k: np.asarray(v).tolist() for k, v in vars(self).items()}


def paired_bootstrap(
    a: np.ndarray,
    b: np.ndarray,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    alpha: float = DEFAULT_ALPHA,
) -> PairedResult:
    """Paired bootstrap test of mean(a) - mean(b); `a[i]` and `b[i]` score the same item.

    Resampling the per-item differences is the same as resampling items and
    differencing the two means, and it gives exactly 0 for identical systems.
    """
    a_arr, b_arr = _as_2d(a, "a"), _as_2d(b, "b")
    if a_arr.shape != b_arr.shape:
        raise ValueError(f"paired inputs differ in shape: {a_arr.shape} vs {b_arr.shape}")
    delta = a_arr - b_arr
    observed = delta.mean(axis=0)
    sample_diffs = resampled(len(delta), lambda idx: delta[idx].mean(axis=1), n_resamples, seed)
    low, high = percentile_interval(sample_diffs, alpha)
    return PairedResult(observed, paired_p_value(sample_diffs, observed), low, high)
