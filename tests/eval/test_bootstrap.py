"""Bootstrap CIs and paired tests (eval.bootstrap)."""

import numpy as np
import pytest

from newsum.eval import bootstrap
from newsum.eval.bootstrap import (
    BootstrapOptions,
    bootstrap_ci,
    paired_bootstrap,
    paired_p_value,
    percentile_interval,
    resampled,
)

RNG = np.random.default_rng(0)


@pytest.mark.parametrize(
    "values",
    [
        np.array([0.2, 0.4, 0.9, 0.1, 0.5]),
        np.linspace(0, 100, 41),
        RNG.normal(30, 10, size=200),
        RNG.uniform(0, 1, size=1000),
        np.array([0.0, 1.0] * 50),  # bimodal, like exact-match metrics
    ],
)
def test_ci_brackets_the_mean(values):
    low, high = bootstrap_ci(values)
    assert low < values.mean() < high


def test_constant_values_give_a_point_interval():
    assert bootstrap_ci(np.full(20, 42.0)) == (42.0, 42.0)


def test_same_seed_same_ci_other_seed_other_ci():
    values = RNG.normal(0, 1, size=100)
    assert bootstrap_ci(values, seed=7) == bootstrap_ci(values, seed=7)
    assert bootstrap_ci(values, seed=7) != bootstrap_ci(values, seed=8)


def test_default_seed_is_fixed():
    values = RNG.normal(0, 1, size=100)
    assert bootstrap_ci(values) == bootstrap_ci(values, seed=12345)


def test_more_data_gives_a_narrower_interval():
    rng = np.random.default_rng(1)
    small_low, small_high = bootstrap_ci(rng.normal(0, 1, size=50))
    large_low, large_high = bootstrap_ci(rng.normal(0, 1, size=5000))
    # width shrinks like 1/sqrt(n): 10x here; ask for at least 5x
    assert (large_high - large_low) * 5 < small_high - small_low


def test_smaller_alpha_gives_a_wider_interval():
    values = RNG.normal(0, 1, size=100)
    low95, high95 = bootstrap_ci(values, alpha=0.05)
    low99, high99 = bootstrap_ci(values, alpha=0.01)
    assert low99 < low95 and high95 < high99


def test_columns_are_bootstrapped_like_single_columns():
    # the resample indices depend only on (n, n_resamples, seed): column k of a
    # (n, k) input gets the interval of that column alone (up to summation order)
    values = RNG.uniform(0, 1, size=(60, 3))
    low, high = bootstrap_ci(values)
    assert low.shape == high.shape == (3,)
    for k in range(3):
        assert (low[k], high[k]) == pytest.approx(bootstrap_ci(values[:, k]), rel=1e-12)


def test_many_blocks_give_all_resamples(monkeypatch):
    monkeypatch.setattr(bootstrap, "_BLOCK_ENTRIES", 30)  # blocks of 3 resamples for n=10
    samples = resampled(10, lambda idx: idx.sum(axis=1), n_resamples=1000, seed=1)
    assert samples.shape == (1000,)


def test_percentile_interval_by_hand():
    # 0..100: the 2.5th and 97.5th percentiles with linear interpolation
    assert percentile_interval(np.arange(101.0)) == (2.5, 97.5)


@pytest.mark.parametrize(
    ("sample_diffs", "observed", "p"),
    [
        # |d* - 2| >= 2  <=>  d* <= 0 or d* >= 4: 1 of 4 (the 0) -> (1 + 1) / 5
        ([1.0, 2.0, 3.0, 0.0], 2.0, 2 / 5),
        # two-sided: 6 and 0 both lie 2 or more from the observed 2 -> (1 + 2) / 5
        ([1.0, 2.0, 6.0, 0.0], 2.0, 3 / 5),
        ([1.0, 2.0, 3.0, 1.5], 2.0, 1 / 5),  # none as extreme: p = 1 / (R + 1)
        ([0.0, 0.0, 0.0], 0.0, 1.0),  # no difference at all
    ],
)
def test_paired_p_value_by_hand(sample_diffs, observed, p):
    assert paired_p_value(np.array(sample_diffs), observed) == pytest.approx(p)


def test_identical_systems_diff_zero_p_one():
    a = RNG.uniform(0, 1, size=100)
    result = paired_bootstrap(a, a.copy())
    assert (result.diff, result.p_value, result.ci_low, result.ci_high) == (0, 1, 0, 0)


def test_clearly_better_system_is_significant():
    rng = np.random.default_rng(2)
    b = rng.uniform(0.2, 0.4, size=100)
    a = b + rng.uniform(0.0, 0.1, size=100)  # better on every item
    result = paired_bootstrap(a, b)
    assert result.diff > 0
    assert result.p_value < 0.05
    assert 0 < result.ci_low < result.diff < result.ci_high


def test_noise_is_not_significant():
    rng = np.random.default_rng(3)
    a, b = rng.normal(0, 1, size=(2, 100))
    result = paired_bootstrap(a, b)
    assert result.p_value > 0.05
    assert result.ci_low < 0 < result.ci_high


def test_paired_test_is_antisymmetric():
    rng = np.random.default_rng(4)
    a, b = rng.uniform(0, 1, size=(2, 80))
    ab, ba = paired_bootstrap(a, b), paired_bootstrap(b, a)
    assert ab.diff == pytest.approx(-ba.diff)
    assert ab.p_value == ba.p_value
    assert ab.ci_low == pytest.approx(-ba.ci_high)


def test_paired_result_is_json_ready():
    a = np.array([0.5, 0.7, 0.9])
    d = paired_bootstrap(a, a - 0.1).as_dict()
    assert set(d) == {"diff", "p_value", "ci_low", "ci_high"}
    assert all(type(v) is float for v in d.values())
    assert d["diff"] == pytest.approx(0.1)


@pytest.mark.parametrize(
    "call",
    [
        lambda: bootstrap_ci(np.array([])),
        lambda: bootstrap_ci(np.zeros((2, 2, 2))),
        lambda: paired_bootstrap(np.zeros(3), np.zeros(4)),
        lambda: BootstrapOptions(n_resamples=0),
        lambda: BootstrapOptions(alpha=1.5),
    ],
)
def test_bad_input_is_refused(call):
    with pytest.raises(ValueError):
        call()


def test_options_signature():
    assert BootstrapOptions().signature() == "boot=1000|seed=12345|ci=95%"
    assert BootstrapOptions(200, seed=1, alpha=0.1).signature() == "boot=200|seed=1|ci=90%"
