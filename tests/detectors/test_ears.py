"""EARS C1/C2/C3: hand-made series with known alarm points, R's NA rules, batch = single."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from detectors.algorithms import ears
from detectors.algorithms.base import Series

FLAT = [2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3]


def _series(values) -> Series:
    return Series(observed=np.asarray(values, dtype=float), freq=52)


@pytest.mark.parametrize(
    "method, values, start, alarms_at",
    [
        # a spike at t=13 after a flat baseline: C1 and C2 fire at the spike ...
        ("C1", FLAT[:12] + [12, 3], 12, [13]),
        ("C2", FLAT[:12] + [12, 3], 12, [13]),
        # ... C3 only afterwards: its bound at t is y_t + sd (z - lagged C2 excess), so the spike
        # pulls the bound of t=14 down to 0 and any positive count alarms (R's definition)
        ("C3", FLAT[:12] + [12, 3], 12, [14]),
        ("C3", FLAT[:12] + [12, 3, 3, 3], 12, [14, 15]),
        # C1 sees the spike once; at t=14 the spike sits in its baseline (sd large, no alarm)
        ("C1", FLAT[:12] + [12, 12], 12, [13]),
        # C2 keeps a 2-week guard band: the second high week still alarms
        ("C2", FLAT[:12] + [12, 12], 12, [13, 14]),
        # nothing unusual: no alarm
        ("C1", FLAT, 12, []),
        ("C3", FLAT, 12, []),
    ],
)
def test_alarm_points(method, values, start, alarms_at):
    det = ears.detect(_series(values), start, len(values), {"method": method})
    assert det.t[det.alarm].tolist() == alarms_at


def test_c1_c2_bounds_are_mean_plus_z_sd():
    y = np.array([4.0, 7, 1, 3, 9, 2, 5, 8, 6, 2, 7, 3, 4])
    z = norm.ppf(0.999)
    c1 = ears.detect(_series(y), 13, 13, {"method": "C1"})
    base1 = y[5:12]
    assert c1.upperbound[0] == pytest.approx(base1.mean() + z * base1.std(ddof=1), rel=1e-14)
    c2 = ears.detect(_series(y), 13, 13, {"method": "C2"})
    base2 = y[3:10]
    assert c2.upperbound[0] == pytest.approx(base2.mean() + z * base2.std(ddof=1), rel=1e-14)


def test_c3_bound_uses_the_two_previous_c2_values():
    y = np.array([4.0, 7, 1, 3, 9, 2, 5, 8, 6, 2, 7, 3, 14, 15, 16])
    z = norm.ppf(0.975)

    def c2(t):  # 1-based
        b = y[t - 10:t - 3]
        return (y[t - 1] - b.mean()) / b.std(ddof=1), b.std(ddof=1)

    t = 15
    lag = max(0, c2(t - 2)[0] - 1) + max(0, c2(t - 1)[0] - 1)
    expected = max(0.0, y[t - 1] + c2(t)[1] * (z - lag))
    det = ears.detect(_series(y), t, t, {"method": "C3"})
    assert det.upperbound[0] == pytest.approx(expected, rel=1e-13)
    assert det.alarm[0] == (y[t - 1] > expected)


def test_zero_sd_gives_na_for_c3_but_a_bound_for_c1():
    y = np.array([3.0] * 14 + [3.0])
    c3 = ears.detect(_series(y), 12, 15, {"method": "C3"})
    assert np.isnan(c3.upperbound).all() and not c3.alarm.any()
    c1 = ears.detect(_series(y), 12, 15, {"method": "C1"})
    np.testing.assert_array_equal(c1.upperbound, 3.0)   # mean + z * 0
    assert not c1.alarm.any()


def test_points_without_history_are_nan_not_errors():
    det = ears.detect(_series(FLAT), 1, 14, {"method": "C1"})
    assert np.isnan(det.upperbound[:7]).all() and np.isfinite(det.upperbound[7:]).all()
    assert not det.alarm[:7].any()


def test_batch_equals_single():
    rng = np.random.default_rng(7)
    y = rng.poisson(4, size=(5, 60)).astype(float)
    for method in ("C1", "C2", "C3"):
        batch = ears.detect_many(y, 20, 60, {"method": method})
        for i in range(5):
            one = ears.detect(_series(y[i]), 20, 60, {"method": method})
            np.testing.assert_array_equal(batch.upperbound[i], one.upperbound)
            np.testing.assert_array_equal(batch.alarm[i], one.alarm)


@pytest.mark.parametrize("params", [{"method": "C4"}, {"baseline": 2}, {"minSigma": -1},
                                    {"alpha": 1.5}, {"methd": "C1"}])
def test_invalid_params_are_rejected(params):
    with pytest.raises(ValueError):
        ears.detect(_series(FLAT), 12, 14, params)


def test_range_outside_series_is_rejected():
    with pytest.raises(ValueError):
        ears.detect(_series(FLAT), 12, 15, {})
