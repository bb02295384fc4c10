"""Poisson / negative binomial GLR: reference loops written like R's C code, glm.nb, oracle."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.special import gammaln

from detectors.algorithms import glr
from detectors.algorithms.base import Series
from detectors.algorithms.negbin import glm_nb
from detectors.evaluation.conformance import oracle_results
from detectors.evaluation.oracle_io import read_runs, read_series
from tests.detectors._oracle import require_oracle


def _series(values, freq=52) -> Series:
    return Series(observed=np.asarray(values, dtype=float), freq=freq)


# ---------------------------------------------------------------- reference loops (as the C code)
def _ref_pois_glr(x, mu, n):
    best, sx, sm = -1e99, 0.0, 0.0
    for k in range(n, -1, -1):
        sx += x[k]
        sm += mu[k]
        kap = max(0.0, math.log(sx / sm)) if sx > 0 else 0.0
        best = max(best, kap * sx + (1 - math.exp(kap)) * sm)
    return best


def _ref_nb_glr(x, mu, a, n):
    best, kml = -1e99, 0.5
    for k in range(0, n + 1):
        old, new, it = 0.4, kml, 0
        while new > -18 and abs(new - old) > 1e-6 and it < 1000:
            it += 1
            old = new
            try:
                e = math.exp(old)
            except OverflowError:
                e = math.inf
            sc = fi = 0.0
            for i in range(k, n + 1):
                den = 1 + a * e * mu[i]
                sc += (x[i] - e * mu[i]) / den if math.isfinite(den) else math.nan
                fi += mu[i] * (a * x[i] + 1) / den**2
            new = old + sc / (e * fi) if not math.isnan(sc) else math.nan
        kml = 0.0 if math.isnan(new) else max(0.0, new)
        lnk = sum(kml * x[i] + (x[i] + 1 / a) * math.log((1 + a * mu[i]) / (1 + a * mu[i]
                  * math.exp(kml))) for i in range(k, n + 1))
        if lnk > best:
            best = lnk
    return best


def _ref_chart(x, mu, c, stat):
    """R's restart loop around the C routine: returns (values, alarms)."""
    vals, alarms, s = [], [], 0
    while s < len(x):
        xs, ms = x[s:], mu[s:]
        for n in range(len(xs)):
            g = stat(xs, ms, n)
            vals.append(g)
            alarms.append(g >= c)
            if g >= c:
                break
        s += n + 1
    return np.array(vals), np.array(alarms)


def _ref_cases(x, mu, n, c):
    xn = -1
    while True:
        xn += 1
        xx = list(x)
        xx[n] = xn
        if _ref_pois_glr(xx, mu, n) >= c:
            return xn


@pytest.mark.parametrize("seed", range(6))
def test_poisson_chart_equals_reference_loop(seed):
    rng = np.random.default_rng(seed)
    m = 40
    mu = rng.uniform(0.5, 6, m)
    x = rng.poisson(mu * np.where(np.arange(m) > 20, 2.5, 1.0)).astype(float)
    g, alarm, cases = glr.glr_poisson(x[None], mu[None], 5.0)
    ref_g, ref_alarm = _ref_chart(list(x), list(mu), 5.0, _ref_pois_glr)
    # same summation order; numpy's SIMD log/exp may differ from libm in the last bit
    np.testing.assert_allclose(g[0], ref_g, rtol=1e-13, atol=1e-13)
    np.testing.assert_array_equal(alarm[0], ref_alarm)
    # cases: the smallest count that alarms at n, within the segment containing n
    seg = 0
    for n in range(m):
        assert cases[0, n] == _ref_cases(list(x[seg:]), list(mu[seg:]), n - seg, 5.0)
        if alarm[0, n]:
            seg = n + 1


@pytest.mark.parametrize("seed", range(6))
def test_negbin_chart_equals_reference_loop(seed):
    rng = np.random.default_rng(100 + seed)
    m = 30
    mu = rng.uniform(0.3, 5, m)
    if seed % 2:
        mu[10:16] = 10.0 ** -rng.uniform(4, 6, 6)   # tiny means: C's Newton overflows -> l = 0
    a = float(rng.uniform(0.05, 1.5))
    x = rng.negative_binomial(1 / a, 1 / (1 + a * mu * np.where(np.arange(m) > 18, 3, 1)))
    x = x.astype(float)
    if seed % 2:
        x[12] = 1.0
    g, alarm = glr.glr_negbin(x[None], mu[None], np.array([a]), 5.0)
    ref_g, ref_alarm = _ref_chart(list(x), list(mu), 5.0,
                                  lambda xs, ms, n: _ref_nb_glr(xs, ms, a, n))
    np.testing.assert_allclose(g[0], ref_g, rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(alarm[0], ref_alarm)


def test_newton_overflow_reproduces_r_missed_alarm():
    """One case against means ~1e-5 is a huge shift, but R's Newton step overflows (NaN ->
    kappa 0), so R reports GLR 0 and no alarm; a later point with more mass converges."""
    mu = np.array([3e-6, 6e-6, 1e-5, 2e-5, 5e-5, 0.05, 0.1])
    x = np.array([0.0, 0, 0, 1, 0, 0, 0])
    g, alarm = glr.glr_negbin(x[None], mu[None], np.array([0.8]), 5.0)
    assert g[0, 3] == 0.0 and not alarm.any()
    assert g[0, -1] > 0


def test_alarm_points_on_a_hand_made_series():
    y = [3.0, 4, 2, 3, 5, 3, 4, 2, 3, 4, 3, 3, 12, 14, 4, 3]
    det = glr.detect_pois(_series(y), 13, 16, {"mu0": {"S": 0}})
    assert det.t[det.alarm].tolist() == [13, 14]          # restart after each alarm
    np.testing.assert_allclose(det.expected, np.mean(y[:12]))
    assert det.upperbound.tolist() == [11.0, 11.0, 11.0, 11.0]


def test_glm_nb_reaches_the_maximum_likelihood():
    rng = np.random.default_rng(8)
    t = np.arange(1, 209)
    X = glr.mu0_design(t, 52, 1, False)
    mu = np.exp(X @ np.array([1.2, 0.5, -0.3]))
    y = rng.negative_binomial(2.0, 2.0 / (2.0 + mu)).astype(float)
    fit = glm_nb(X, y[None])

    def nll(par):
        b, th = par[:3], math.exp(par[3])
        m = np.exp(X @ b)
        return -np.sum(gammaln(th + y) - gammaln(th) - gammaln(y + 1) + th * np.log(th / (th + m))
                       + y * np.log(m / (th + m)))

    best = minimize(nll, np.r_[fit.coef[0] + 0.05, math.log(fit.theta[0]) + 0.1],
                    method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-12,
                                                   "maxiter": 20000})
    assert fit.converged[0]
    np.testing.assert_allclose(fit.coef[0], best.x[:3], atol=1e-4)
    assert fit.theta[0] == pytest.approx(math.exp(best.x[3]), rel=1e-3)


def test_batch_equals_single():
    rng = np.random.default_rng(9)
    y = rng.poisson(4, size=(3, 160)).astype(float)
    y[:, 140:] += 6
    for single, many in ((glr.detect_pois, glr.detect_many_pois),
                         (glr.detect_nb, glr.detect_many_nb)):
        batch = many(y, 105, 160, {})
        for i in range(3):
            one = single(_series(y[i]), 105, 160, {})
            # same code; stacked LAPACK QR rounds the mu0 fit differently in the last bits
            np.testing.assert_allclose(batch.upperbound[i], one.upperbound, rtol=1e-7, atol=1e-9)
            np.testing.assert_array_equal(batch.alarm[i], one.alarm)


@pytest.mark.parametrize("params", [{"dir": "dec"}, {"M": 10}, {"Mtilde": 2}, {"theta": 1.5},
                                    {"change": "epi"}, {"mu0": {"refit": True}}, {"cARL": 5}])
def test_unsupported_options_are_rejected(params):
    with pytest.raises(ValueError):
        glr.detect_pois(_series(np.arange(40.0)), 30, 40, params)


def test_failed_fit_is_a_result_not_an_exception():
    det = glr.detect_nb(_series([0.0] * 60 + [1.0]), 53, 61, {})
    assert np.isnan(det.upperbound).all() and not det.alarm.any()
    assert det.extra["error"]


def test_glrpois_statistic_and_mu0_match_r():
    oracle = require_oracle()
    ref = oracle_results(oracle)["glrpois"]
    series = read_series(oracle / "series.csv.gz")
    for run in read_runs(oracle / "runs.csv", "glrpois"):
        key = (run.dataset, run.series)
        det = glr.detect_pois(series[key].series, run.start, run.end, run.params)
        np.testing.assert_allclose(det.expected, ref[key]["expected"], rtol=1e-6, err_msg=str(key))
        np.testing.assert_allclose(det.stat, ref[key]["stat"], rtol=1e-6, atol=1e-9,
                                   err_msg=str(key))


def test_glrnb_fitted_alpha_matches_r():
    oracle = require_oracle()
    import csv
    series = read_series(oracle / "series.csv.gz")
    with open(oracle / "runs.csv") as fh:
        runs = [r for r in csv.DictReader(fh) if r["algorithm"] == "glrnb"]
    checked = 0
    for r in runs:
        key = (r["dataset"], r["series"])
        y = series[key].series.observed[: int(r["range_start"]) - 1]
        X = glr.mu0_design(np.arange(1, y.size + 1), series[key].series.freq, 1, False)
        fit = glm_nb(X, y[None])          # the mu0 model of glrnb
        if r["status"] != "ok":        # R failed (e.g. NA/NaN/Inf in 'x'): so do we
            assert fit.failed[0], key
            continue
        r_alpha = json.loads(r["extra"])["fitted_alpha"]
        # theta.ml stopping at its iteration limit leaves ~1e-5 relative noise in R too
        tol = 1e-6 if r["n_warnings"] == "0" else 1e-4
        assert 1 / fit.theta[0] == pytest.approx(r_alpha, rel=tol), key
        checked += 1
    assert checked >= 85


def test_trigamma_matches_scipy():
    from scipy.special import polygamma

    from detectors.algorithms.negbin import trigamma
    x = np.concatenate([np.geomspace(1e-3, 1e7, 5000), np.arange(0.5, 60, 0.5)])
    np.testing.assert_allclose(trigamma(x), polygamma(1, x), rtol=5e-15)
