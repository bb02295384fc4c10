"""Bayes system (algo.bayes): negative binomial predictive quantile, strict alarm, windows."""
from __future__ import annotations

import math

import numpy as np
import pytest

from detectors.algorithms import bayes
from detectors.algorithms.base import Series


def _series(values, freq=52) -> Series:
    return Series(observed=np.asarray(values, dtype=float), freq=freq)


def _qnbinom(q: float, size: float, prob: float) -> int:
    """Smallest x with P(X <= x) >= q, summing the negative binomial pmf (independent of scipy)."""
    cdf, x = 0.0, 0
    while True:
        logp = (math.lgamma(x + size) - math.lgamma(size) - math.lgamma(x + 1)
                + size * math.log(prob) + x * math.log1p(-prob))
        cdf += math.exp(logp)
        if cdf >= q:
            return x
        x += 1


@pytest.mark.parametrize(
    "values, alarms_at",
    [
        ([1, 2, 1, 0, 2, 1, 6, 1], [7]),        # U_7 = qnbinom(.95, 7.5, 6/7) = 4 < 6
        ([1, 2, 1, 0, 2, 1, 4, 1], []),         # y = U does not alarm (strict, as R 1.20.3)
        ([0, 0, 0, 0, 0, 0, 1, 0], []),         # all-zero baseline: U = 1 ...
        ([0, 0, 0, 0, 0, 0, 2, 0], [7]),        # ... so 2 cases alarm
        ([5, 6, 4, 5, 6, 5, 9, 14], [8]),
    ],
)
def test_alarm_points(values, alarms_at):
    det = bayes.detect(_series(values), 7, len(values), {})
    assert det.t[det.alarm].tolist() == alarms_at


def test_bound_is_the_negative_binomial_quantile():
    rng = np.random.default_rng(11)
    y = rng.poisson(7, 40).astype(float)
    det = bayes.detect(_series(y), 7, 40, {})
    for i, t in enumerate(det.t):
        base = y[t - 7:t - 1]
        assert det.upperbound[i] == _qnbinom(0.95, base.sum() + 0.5, 6 / 7)


def test_previous_years_windows():
    y = np.arange(1.0, 131.0)        # y_t = t
    det = bayes.detect(_series(y, freq=52), 120, 120, {"b": 1, "w": 2, "actY": False})
    base = y[120 - 52 - 2 - 1:120 - 52 + 2]        # t-52-2 .. t-52+2, 1-based
    assert det.upperbound[0] == _qnbinom(0.95, base.sum() + 0.5, 5 / 6)


def test_no_history_gives_nan_and_batch_equals_single():
    det = bayes.detect(_series([1.0, 2, 3, 4, 5, 6, 7, 8]), 1, 8, {})
    assert np.isnan(det.upperbound[:6]).all() and not det.alarm[:6].any()
    rng = np.random.default_rng(2)
    y = rng.poisson(2, size=(3, 30)).astype(float)
    batch = bayes.detect_many(y, 7, 30, {})
    for i in range(3):
        np.testing.assert_array_equal(batch.upperbound[i], bayes.detect(_series(y[i]), 7, 30,
                                                                        {}).upperbound)


@pytest.mark.parametrize("params", [{"alpha": 0}, {"b": 0, "actY": False}, {"beta": 1}])
def test_invalid_params_are_rejected(params):
    with pytest.raises(ValueError):
        bayes.detect(_series(list(range(20))), 10, 20, params)
