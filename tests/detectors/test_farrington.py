"""``algo.farrington`` port: hand-checked values, reference weeks, limit54, R oracle conformance."""
from __future__ import annotations

import numpy as np
import pytest

from detectors.algorithms import farrington
from detectors.algorithms.base import Series
from detectors.algorithms.farrington_reference import farrington_reference_rows
from detectors.algorithms.glm import fit_poisson_glm
from tests.detectors._farrington_oracle import (agreement, assert_batch_equals_single, load_runs,
                                                load_series, run_batched)

R = {"b": 5, "w": 3, "reweight": True, "alpha": 0.05, "trend": True, "limit54": [5, 4],
     "powertrans": "2/3", "fitFun": "algo.farrington.fitGLM.fast"}


# salmonella.agona (surveillance 1.20.3; checks/farr_manual.R re-derives them by hand)
@pytest.mark.parametrize("t, upper, expected, pvalue, trend", [
    (280, 0.0, 0.908577770599, 0.535780119999, 1),   # 5-in-4 rule fails: U = 0
    (290, 10.2628626119, 3.73101620885, 0.244439602843, 0),
    (300, 9.01932906722, 3.96595200255, 0.506126812979, 0),
    (312, 13.2724429525, 5.56513696801, 0.310886856375, 1),
])
def test_salmonella_agona_hand_checked(t, upper, expected, pvalue, trend):
    s = load_series()[("salmonella.agona", "observed1")]
    d = farrington.detect(s, t, t, R)
    assert d.upperbound[0] == pytest.approx(upper, rel=1e-9, abs=1e-12)
    assert d.expected[0] == pytest.approx(expected, rel=1e-9)
    assert d.pvalue[0] == pytest.approx(pvalue, rel=1e-8)
    assert d.trend[0] == trend
    assert not d.alarm[0]


def test_reference_rows_undated_are_k_minus_freq_i_plus_j():
    s = Series(np.ones(400), freq=52)
    rows = farrington_reference_rows(s, np.array([300, 150]), 5, 3)
    expect = [300 - 52 * i + j for i in range(5, 0, -1) for j in range(-3, 4)]
    assert rows[0].tolist() == expect
    assert rows[1].tolist() == [r - 150 if r - 150 >= 1 else 0 for r in expect]  # 0 = missing


def test_reference_rows_dated_weekly_follow_calendar_years():
    # weekly Mondays: one year back is 52 weeks, but five years (1826 days) is 261 weeks
    dates = np.datetime64("2000-01-03") + 7 * np.arange(600)
    s = Series(np.ones(600), freq=52, dates=dates)
    centre = farrington_reference_rows(s, np.array([400]), 5, 3)[0].reshape(5, 7)[:, 3]
    assert (400 - centre).tolist() == [261, 209, 156, 104, 52]


def test_reference_rows_dated_monthly():
    dates = (np.datetime64("2002-01", "M") + np.arange(144)).astype("datetime64[D]")
    s = Series(np.ones(144), freq=12, dates=dates)
    assert farrington_reference_rows(s, np.array([100]), 2, 1).tolist() == [[75, 76, 77, 87, 88, 89]]


@pytest.mark.parametrize("limit54, alarm, upper_is_zero", [((5, 4), True, False), ((500, 4), False, True)])
def test_limit54_gives_zero_bound_and_no_alarm(limit54, alarm, upper_is_zero):
    y = np.tile([3.0, 5, 4, 6, 5, 4, 3, 5, 6, 4, 5, 4, 3], 24)[:312]
    y[-1] = 30.0
    d = farrington.detect(Series(y, freq=52), 312, 312, {**R, "limit54": list(limit54)})
    assert bool(d.alarm[0]) is alarm
    assert bool(d.upperbound[0] == 0.0) is upper_is_zero
    assert np.isfinite(d.expected[0])


def test_non_converged_first_fit_is_refitted_without_trend_and_kept():
    # reference values: zeros except one case at the most recent reference week (separation):
    # glm.fit does not converge with the trend, R refits without it and keeps that fit
    y = np.zeros(312)
    y[312 - 52 + 3 - 1] = 1.0
    y[-4:] = [2.0, 1.0, 1.0, 3.0]
    rows = np.array(farrington_reference_rows(Series(y, freq=52), np.array([312]), 5, 3)[0])
    t = rows - 312.0
    trend_fit = fit_poisson_glm(np.column_stack([np.ones(35), t]), y[rows - 1])
    assert not trend_fit.converged and trend_fit.iterations == 25
    d = farrington.detect(Series(y, freq=52), 312, 312, R)
    without = farrington.detect(Series(y, freq=52), 312, 312, {**R, "trend": False})
    assert d.trend[0] == 0.0
    assert np.isfinite(d.upperbound[0])
    assert d.upperbound[0] == pytest.approx(without.upperbound[0], rel=1e-12)


def test_batch_equals_single_series_runs():
    series = load_series()
    items = [(series[("salmonella.agona", "observed1")], 260, 312),
             (series[("campyDE", "case")], 419, 522),
             (series[("rotaBB", "00-04")], 41, 144)]
    params = {**R, "b": 3}
    assert_batch_equals_single(farrington.detect, farrington.detect_batch, items, params)


@pytest.mark.parametrize("params, key", [
    ({"bogus": 1}, "farrington.params.unknown"),
    ({"limit54": [-1, 4]}, "farrington.limit54.out_of_bounds"),
    ({"powertrans": "3/4"}, "farrington.powertrans.unknown"),
])
def test_invalid_params_raise_stable_keys(params, key):
    with pytest.raises(ValueError, match=key):
        farrington.detect(Series(np.ones(400), freq=52), 390, 400, params)


def test_runs_r_could_not_make_do_not_crash():
    series = load_series()
    for run in load_runs("farrington"):
        if run.status == "ok":
            continue
        s = series[(run.dataset, run.series)]
        d = farrington.detect(s, s.n - 3, s.n, R)
        assert not d.alarm.any()


def test_agrees_with_r_oracle_on_every_point():
    a = agreement(run_batched("farrington", farrington.detect_batch))
    assert a["points"] > 6000
    assert a["alarm"] == 1.0 and a["upper"] == 1.0, a
    assert a["max_rel"] < 1e-9, a


def test_missing_count_in_the_last_weeks_gives_na_like_r():
    y = np.tile([3.0, 5, 4, 6, 5, 4, 3, 5, 6, 4, 5, 4, 3], 24)[:312]
    y[-2] = np.nan
    d = farrington.detect(Series(y, freq=52), 309, 312, R)
    assert np.isnan(d.upperbound[-2:]).all() and not d.alarm.any()
    assert np.isfinite(d.upperbound[:2]).all()
