"""The threshold helper: conformal rank, its finite-sample guarantee, and its refusals."""

from __future__ import annotations

import numpy as np
import pytest

from zkcert.errors import InputError
from zkcert.threshold import false_positive_rate, suggest_threshold


def test_conformal_rank_on_known_values():
    values = np.arange(1, 20, dtype=float)  # n = 19, fpr 0.05: rank ceil(20 * 0.95) = 19 -> the maximum
    s = suggest_threshold(values, fpr=0.05)
    assert s.threshold == 19.0 and s.n_honest == 19 and s.method == "conformal"
    s = suggest_threshold(np.arange(1, 100, dtype=float), fpr=0.1)  # rank ceil(100 * 0.9) = 90
    assert s.threshold == 90.0
    assert "at most 10% of honest models exceed it" in s.describe()


def test_order_does_not_matter_and_empirical_uses_numpy_higher_quantile():
    rng = np.random.default_rng(0)
    values = rng.lognormal(size=57)
    assert suggest_threshold(values, fpr=0.05).threshold == suggest_threshold(rng.permutation(values), fpr=0.05).threshold
    assert suggest_threshold(values, fpr=0.05, method="empirical").threshold == np.quantile(values, 0.95, method="higher")


def test_conformal_guarantee_holds_on_fresh_honest_models():
    """Averaged over many reference sets, the rate at which a new honest value exceeds T is at most fpr."""
    rng = np.random.default_rng(1)
    exceed = []
    for _ in range(4000):
        ref, new = rng.exponential(size=30), rng.exponential()
        exceed.append(new > suggest_threshold(ref, fpr=0.1).threshold)
    # Exact rate is 1 - ceil(31 * 0.9) / 31 = 3/31 = 0.0968; 4000 draws have std 0.0047.
    assert np.mean(exceed) == pytest.approx(3 / 31, abs=0.015)
    assert np.mean(exceed) <= 0.1 + 0.01


def test_false_positive_rate_counts_strictly_above():
    assert false_positive_rate([1.0, 2.0, 3.0, 4.0], 3.0) == 0.25


@pytest.mark.parametrize(
    ("values", "kwargs", "match"),
    [
        ([], {}, "at least one honest model"),
        ([1.0, float("nan")], {}, "NaN or inf"),
        ([1.0, 2.0], {"fpr": 0.0}, "strictly between 0 and 1"),
        ([1.0, 2.0], {"method": "max"}, "method must be one of"),
        (list(range(10)), {"fpr": 0.05}, "needs at least 19 honest models, got 10"),
    ],
)
def test_bad_input_is_refused_with_a_precise_message(values, kwargs, match):
    with pytest.raises(InputError, match=match):
        suggest_threshold(values, **kwargs)
