"""``farringtonFlexible`` port: quirks, Noufaily layout, thresholds, R oracle conformance."""
from __future__ import annotations

import numpy as np
import pytest

from detectors.algorithms import farrington_flexible as ff
from detectors.algorithms.base import Series
from detectors.algorithms.farrington_reference import flexible_layout, flexible_reference_positions
from detectors.algorithms.r_quantiles import r_qnbinom, r_qpois
from tests.detectors._farrington_oracle import (agreement, assert_batch_equals_single, load_runs,
                                                load_series, run_batched)

DEFAULT = {"b": 5, "w": 3, "reweight": True, "weightsThreshold": 2.58, "alpha": 0.05,
           "trend": True, "pThresholdTrend": 0.05, "limit54": [5, 4], "powertrans": "2/3",
           "populationOffset": False, "noPeriods": 1, "pastWeeksNotIncluded": 3,
           "thresholdMethod": "delta"}
FARRINGTON = {**DEFAULT, "weightsThreshold": 1}
NOUFAILY = {**DEFAULT, "noPeriods": 10, "pastWeeksNotIncluded": 26, "pThresholdTrend": 1,
            "thresholdMethod": "nbPlugin"}
MUAN = {**NOUFAILY, "thresholdMethod": "muan"}


def _agona():
    return load_series()[("salmonella.agona", "observed1")]


def test_dispersion_quirk_r_compatible_by_default_textbook_on_request():
    # R computes se with sum(omega r^2)/df (weights overwritten); the textbook formula uses phi
    s = _agona()
    r = ff.detect(s, 300, 300, DEFAULT)
    textbook = ff.detect(s, 300, 300, DEFAULT, r_compatible=False)
    also_textbook = ff.detect(s, 300, 300, {**DEFAULT, "r_compatible": False})
    assert r.upperbound[0] == pytest.approx(9.06761741321, rel=1e-9)   # R: 9.0676
    assert textbook.upperbound[0] == pytest.approx(9.1258, abs=5e-5)   # checks/ff_manual.R
    assert also_textbook.upperbound[0] == textbook.upperbound[0]
    assert r.expected[0] == textbook.expected[0] == pytest.approx(4.25714285714, rel=1e-9)


# salmonella.agona values of surveillance 1.20.3 (checks/farr_manual.R rebuilds nbPlugin/muan)
@pytest.mark.parametrize("params, t, upper, expected, phi, trend", [
    (DEFAULT, 290, 8.70352532858, 2.7063507816, 3.05371961127, 1),
    (DEFAULT, 312, 10.6688976176, 4.58813006917, 1.86899123913, 1),
    (FARRINGTON, 300, 8.06948346745, 3.96595200255, 1.20137611616, 0),
    (NOUFAILY, 290, 8, 3.17637285549, 1.68359113658, 1),
    (NOUFAILY, 312, 5, 1.73672425619, 1.67807518071, 1),
    (MUAN, 300, 9, 3.14496475621, 1.76884860343, 1),
    (MUAN, 312, 6, 1.73672425619, 1.67807518071, 1),
])
def test_salmonella_agona_hand_checked(params, t, upper, expected, phi, trend):
    d = ff.detect(_agona(), t, t, params)
    assert d.upperbound[0] == pytest.approx(upper, rel=1e-9)
    assert d.expected[0] == pytest.approx(expected, rel=1e-9)
    assert d.phi[0] == pytest.approx(phi, rel=1e-9)
    assert d.trend[0] == trend


def test_limit54_gives_na_bound_and_no_alarm_but_keeps_the_score():
    d = ff.detect(_agona(), 280, 280, DEFAULT)  # 1 + ... < 5 cases in the last 4 weeks
    assert np.isnan(d.upperbound[0]) and np.isnan(d.expected[0]) and not d.alarm[0]
    assert d.stat[0] == pytest.approx(0.0180309182601, rel=1e-8)
    assert d.pvalue[0] == pytest.approx(0.48533898353, rel=1e-8)


def test_outbreak_week_alarms():
    y = np.tile([3.0, 5, 4, 6, 5, 4, 3, 5, 6, 4, 5, 4, 3], 24)[:312]
    y[-1] = 30.0
    for params in (DEFAULT, FARRINGTON, NOUFAILY, MUAN):
        d = ff.detect(Series(y, freq=52), 311, 312, params)
        assert d.alarm.tolist() == [False, True], params


@pytest.mark.parametrize("gaps, w, p, past, n_rows, level_counts", [
    ((52,) * 5, 3, 1, 3, 35, {1: 35}),                               # original windows
    ((52,) * 5, 3, 10, 26, 237, {10: 35, 1: 25, 2: 25, 3: 25, 4: 25, 5: 22, 6: 20, 7: 20,
                                 8: 20, 9: 20}),
    ((52, 52, 52, 53, 52), 3, 1, 3, 35, {1: 35}),                     # dated: 53-week year
])
def test_noperiods_layout(gaps, w, p, past, n_rows, level_counts):
    offsets, levels = flexible_layout(gaps, w, p, past)
    assert offsets.shape[0] == n_rows
    assert dict(zip(*np.unique(levels, return_counts=True))) == level_counts
    assert offsets.max() < -past and np.unique(offsets).shape == offsets.shape
    assert np.all(np.diff(levels) >= 0)


def test_noperiods_layout_monthly_reproduces_r_descending_ranges():
    # freq 12, w 3, p 10: period 5 < p-1, R's a:(a-1) writes levels 6..9 backwards over
    # the last block and the next window's first month; the final level there is 9
    offsets, levels = flexible_layout((12,) * 5, 3, 10, 26)
    window = dict(zip(offsets.tolist(), levels.tolist()))
    assert [window[o] for o in range(-63, -50)] == [10] * 7 + [1, 2, 3, 4, 9, 9]


@pytest.mark.parametrize("size, prob", [(3.0, 0.4), (0.005, 0.03), (1.8e-15, 0.005),
                                        (33386.9, 0.99999), (70.3, 0.027)])
def test_qnbinom_is_the_smallest_y_with_cdf_at_least_p(size, prob):
    from scipy import stats
    got = r_qnbinom(0.95, np.array([size]), np.array([prob]))[0]
    assert stats.nbinom.cdf(got, size, prob) >= 0.95 * (1 - 64 * np.finfo(float).eps)
    assert got == 0 or stats.nbinom.cdf(got - 1, size, prob) < 0.95


def test_qnbinom_survives_huge_sizes():
    # muan can give mu0 ~ 1e36 (scipy's own ppf aborts the process there)
    got = r_qnbinom(0.95, np.array([2.2398419655106786e36]), np.array([0.5]))[0]
    assert got == pytest.approx(2.2398419655106786e36, rel=1e-9)


def test_qpois_matches_r():
    assert r_qpois(0.95, np.array([0.0, 1.0, 4.2, 100.0])).tolist() == [0.0, 3.0, 8.0, 117.0]


def test_batch_equals_single_series_runs():
    series = load_series()
    items = [(series[("salmonella.agona", "observed1")], 260, 312),
             (series[("salmNewport", "Bavaria")], 425, 528),
             (series[("meningo.age", "age<1")], 64, 156)]
    params = {**NOUFAILY, "b": 3}
    assert_batch_equals_single(ff.detect, ff.detect_batch, items, params)


@pytest.mark.parametrize("params, key", [
    ({"bogus": 1}, "farrington_flexible.params.unknown"),
    ({"thresholdMethod": "exact"}, "farrington_flexible.threshold_method.unknown"),
    ({"populationOffset": True}, "farrington_flexible.population_offset.unsupported"),
])
def test_invalid_params_raise_stable_keys(params, key):
    with pytest.raises(ValueError, match=key):
        ff.detect(Series(np.ones(400), freq=52), 390, 400, params)


def test_not_enough_history_is_na_not_an_exception():
    d = ff.detect(Series(np.full(120, 5.0), freq=52), 100, 120, DEFAULT)  # b = 5 needs 5 years
    assert np.isnan(d.upperbound).all() and not d.alarm.any()


def test_runs_r_could_not_make_do_not_crash():
    series = load_series()
    for run in load_runs("ff_default"):
        if run.status != "ok":
            s = series[(run.dataset, run.series)]
            d = ff.detect(s, s.n - 3, s.n, NOUFAILY)
            assert not d.alarm.any()


@pytest.mark.parametrize("algorithm", ["ff_default", "ff_farrington", "ff_noufaily",
                                       "ff_noufaily_muan"])
def test_agrees_with_r_oracle_on_every_point(algorithm):
    pairs = run_batched(algorithm, ff.detect_batch)
    a = agreement(pairs)
    assert a["points"] > 6000
    assert a["alarm"] == 1.0 and a["upper"] == 1.0, a
    assert a["max_rel"] < 1e-9, a
    # extras: mu0, score, p-value, phi within 1e-6; the trend flag may differ only where the
    # fitted slope is ~1e-18 (all-zero baselines, R's p-value 1 - tiny vs exactly 1)
    for col, name in (("expected", "expected"), ("stat", "stat"), ("pvalue", "pvalue"),
                      ("phi", "phi")):
        for run, det in pairs:
            np.testing.assert_allclose(getattr(det, name), run.r[col], rtol=1e-6, atol=1e-9,
                                       err_msg=f"{algorithm} {run.dataset}/{run.series} {col}")
    flips = sum(int(np.sum(det.trend != run.r["trend"])) for run, det in pairs)
    assert flips <= 2


@pytest.mark.parametrize("dates, freq, k, b, expected", [
    # weekly Mondays: calendar years back, then the closest Monday (5 years = 261 weeks)
    (np.datetime64("2000-01-03") + 7 * np.arange(600), 52, 400, 5, [400, 348, 296, 244, 191, 139]),
    # monthly first-of-month dates: exactly 12 months back
    ((np.datetime64("2002-01", "M") + np.arange(144)).astype("datetime64[D]"), 12, 100, 3,
     [100, 88, 76, 64]),
    (None, 52, 300, 5, [300, 248, 196, 144, 92, 40]),
    (None, 52, 200, 5, [200, 148, 96, 44, 0, 0]),  # 0: reference point does not exist
])
def test_reference_positions(dates, freq, k, b, expected):
    s = Series(np.ones(600 if dates is None else dates.shape[0]), freq=freq, dates=dates)
    assert flexible_reference_positions(s, np.array([k]), b)[0].tolist() == expected


def test_too_many_periods_is_a_configuration_error():
    with pytest.raises(ValueError, match="farrington.noperiods.too_many"):
        flexible_layout((12,) * 3, 3, 40, 26)
