"""CUSUM (algo.cusum): hand-made series, R's bound formulas, the glm mean, oracle extras."""
from __future__ import annotations

import math

import numpy as np
import pytest

from detectors.algorithms import cusum
from detectors.algorithms.base import Series
from detectors.algorithms.glm import fit_poisson_glm
from detectors.evaluation.conformance import oracle_results
from detectors.evaluation.oracle_io import read_runs, read_series
from tests.detectors._oracle import require_oracle

BASE = [2.0, 3, 2, 3, 2, 3, 2, 3]          # mean 2.5


def _series(values, freq=52) -> Series:
    return Series(observed=np.asarray(values, dtype=float), freq=freq)


@pytest.mark.parametrize(
    "monitored, params, alarms_at",
    [
        ([9, 9, 2], {}, [9, 10, 11]),                 # no reset: S stays above h after the spike
        ([2, 3, 2, 3], {}, []),
        ([5, 5, 5, 5, 5], {}, [13]),                  # slow drift: S = 0.54 t reaches h late
        ([5, 5, 5, 5, 5], {"k": 2.0}, []),            # larger reference value: no alarm
        ([6, 2, 2, 2], {"h": 1.0}, [9]),              # S falls back to 0 after the spike
        ([9, 9, 2], {"trans": "rossi"}, [9, 10, 11]),
    ],
)
def test_alarm_points(monitored, params, alarms_at):
    y = BASE + list(monitored)
    det = cusum.detect(_series(y), 9, len(y), params)
    assert det.t[det.alarm].tolist() == alarms_at


def test_standard_statistic_and_bound_follow_the_formulas():
    y = np.array(BASE + [9, 4, 1])
    k, h, m = 1.04, 2.26, 2.5
    det = cusum.detect(_series(y), 9, 11, {})
    s_prev, stats, bounds = 0.0, [], []
    for x in y[8:]:
        bounds.append(max(0.0, math.ceil(math.sqrt(m) * (h + k - s_prev) + m)))
        s_prev = max(0.0, s_prev + (x - m) / math.sqrt(m) - k)
        stats.append(s_prev)
    np.testing.assert_allclose(det.stat, stats, rtol=1e-15)
    np.testing.assert_array_equal(det.upperbound, bounds)
    np.testing.assert_array_equal(det.expected, m)


def test_rossi_bound_is_the_smallest_alarming_count():
    """U from R's closed form: the count x at which S_t would reach h exactly."""
    y = np.array(BASE + [4, 5, 3])
    det = cusum.detect(_series(y), 9, 11, {"trans": "rossi"})
    m, k, h = 2.5, 1.04, 2.26
    s_prev = np.concatenate([[0.0], det.stat[:-1]])
    z = (det.upperbound - 3 * m + 2 * np.sqrt(det.upperbound * m)) / (2 * np.sqrt(m))
    np.testing.assert_allclose(s_prev + z - k, h, rtol=1e-12)


def test_zero_mean_gives_nan_statistic_and_no_alarm():
    det = cusum.detect(_series([0.0] * 12), 9, 12, {})
    assert np.isnan(det.stat).all() and not det.alarm.any()
    np.testing.assert_array_equal(det.upperbound, 0.0)   # R: NA bound set to 0


def test_glm_mean_matches_an_independent_poisson_fit():
    rng = np.random.default_rng(3)
    t = np.arange(1, 157)
    y = rng.poisson(np.exp(1.5 + 0.6 * np.cos(2 * np.pi * t / 52))).astype(float)
    det = cusum.detect(_series(y), 105, 156, {"m": "glm", "trans": "rossi"})
    X = cusum.harmonic_design(t[:104], 52)
    fit = fit_poisson_glm(X, y[:104])
    expected = np.exp(cusum.harmonic_design(t[104:], 52) @ fit.coef)
    np.testing.assert_allclose(det.expected, expected, rtol=1e-9)


def test_numeric_m_and_batch_equals_single():
    rng = np.random.default_rng(5)
    y = rng.poisson(3, size=(4, 80)).astype(float)
    for params in ({}, {"m": 3.0}, {"m": "glm", "trans": "rossi"}, {"trans": "anscombe"}):
        batch = cusum.detect_many(y, 53, 80, params)
        for i in range(4):
            one = cusum.detect(_series(y[i]), 53, 80, params)
            # same code; a stacked LAPACK QR may round the glm mean differently in the last bit
            np.testing.assert_allclose(batch.expected[i], one.expected, rtol=1e-12)
            np.testing.assert_allclose(batch.upperbound[i], one.upperbound, rtol=1e-12)
            np.testing.assert_array_equal(batch.alarm[i], one.alarm)


@pytest.mark.parametrize("params", [{"trans": "log"}, {"m": "loess"}, {"kk": 1}])
def test_invalid_params_are_rejected(params):
    with pytest.raises(ValueError):
        cusum.detect(_series(BASE + [3, 3]), 9, 10, params)


@pytest.mark.parametrize("algorithm", ["cusum", "cusum_glm_rossi"])
def test_expected_and_statistic_match_r(algorithm):
    oracle = require_oracle()
    ref = oracle_results(oracle)[algorithm]
    series = read_series(oracle / "series.csv.gz")
    for run in read_runs(oracle / "runs.csv", algorithm):
        key = (run.dataset, run.series)
        det = cusum.detect(series[key].series, run.start, run.end, run.params)
        np.testing.assert_allclose(det.expected, ref[key]["expected"], rtol=1e-6, atol=1e-12,
                                   err_msg=str(key))
        np.testing.assert_allclose(det.stat, ref[key]["stat"], rtol=1e-6, atol=1e-9,
                                   err_msg=str(key))
