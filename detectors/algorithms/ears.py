r"""EARS C1, C2 and C3 (CDC Early Aberration Reporting System), as R ``surveillance::earsC``.

For a monitored point :math:`t` and a baseline of :math:`B` (default 7) earlier counts, with
:math:`\bar y` and :math:`s` the mean and the sample standard deviation (denominator
:math:`B-1`) of the baseline and :math:`z = \Phi^{-1}(1-\alpha)`:

* **C1** -- baseline :math:`y_{t-B}, \dots, y_{t-1}`: :math:`U_t = \bar y + z \max(s, s_{min})`;
* **C2** -- baseline :math:`y_{t-B-2}, \dots, y_{t-3}` (a two-point guard band), same :math:`U_t`;
* **C3** -- with the C2 statistic :math:`C2_t = (y_t - \bar y)/\max(s, s_{min})`,

  .. math:: U_t = \max\Bigl(0,\; y_t + \max(s_t, s_{min})\bigl(z - \textstyle\sum_{j=1}^{2}
            \max(0, C2_{t-j} - 1)\bigr)\Bigr),

  so the C3 alarm depends on the two previous C2 values (and needs :math:`y_t > 0`).

An alarm is raised when :math:`y_t > U_t`. Defaults: :math:`\alpha = 0.001` for C1/C2 and
:math:`0.025` for C3, :math:`s_{min} = 0`. As in R, a zero baseline standard deviation makes the
C2 statistic infinite or NaN; C3 then gives NA (NaN here) and no alarm. Points without enough
history (C1: :math:`t \le B`, C2: :math:`t \le B+2`, C3: :math:`t \le B+4`) get NaN and no alarm
(R stops with an error instead).

>>> import numpy as np
>>> y = np.array([[2., 3, 2, 4, 3, 2, 3, 2, 3, 2, 12]])
>>> res = detect_many(y, 11, 11, {"method": "C1"})
>>> round(float(res.upperbound[0, 0]), 4), bool(res.alarm[0, 0])
(5.0503, True)

References
----------
Hutwagner L, Thompson W, Seeman GM, Treadwell T (2003). The bioterrorism preparedness and response
Early Aberration Reporting System (EARS). *J Urban Health* 80(2 Suppl 1):i89-96.
Hutwagner L, Browne T, Seeman GM, Fleischauer AT (2005). Comparing aberration detection methods with
simulated data. *Emerg Infect Dis* 11(2):314-316.
Fricker RD, Hegler BL, Dunfee DA (2008). Comparing syndromic surveillance detection methods: EARS'
versus a CUSUM-based methodology. *Stat Med* 27(17):3407-3429.
Salmon M, Schumacher D, Höhle M (2016). Monitoring count time series in R: aberration detection in
public health surveillance. *J Stat Softw* 70(10). (R function ``earsC``.)
Höhle M, Meyer S, Paul M, et al. *surveillance: Temporal and Spatio-Temporal Modeling and
Monitoring of Epidemic Phenomena*, R package reference manual (version 1.20.3), CRAN.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy.stats import norm

from detectors.algorithms._batch import BatchDetection, as_matrix, check_range, detect_one, merge_params
from detectors.algorithms.base import Detection, Series

__all__ = ["detect", "detect_many", "DEFAULT_PARAMS"]

DEFAULT_PARAMS: dict[str, Any] = {"method": "C1", "baseline": 7, "minSigma": 0.0, "alpha": None}
_LAG = {"C1": 1, "C2": 3, "C3": 3}  # distance between t and the last baseline point


def _params(params: Mapping[str, Any]) -> tuple[str, int, float, float]:
    p = merge_params("earsC", params, DEFAULT_PARAMS)
    method = str(p["method"])
    if method not in _LAG:
        raise ValueError(f"earsC: method must be C1, C2 or C3, not {method!r}")
    baseline = int(p["baseline"])
    if baseline < 3:
        raise ValueError("earsC: the minimum baseline is 3")
    min_sigma = float(p["minSigma"])
    if min_sigma < 0:
        raise ValueError("earsC: minSigma must be >= 0")
    alpha = p["alpha"]
    alpha = (0.025 if method == "C3" else 0.001) if alpha is None else float(alpha)
    if not 0 < alpha < 1:
        raise ValueError("earsC: alpha must be in (0, 1)")
    return method, baseline, min_sigma, alpha


def _baseline_stats(y: np.ndarray, t: np.ndarray, lag: int, baseline: int):
    """Mean and sd of ``y[t-lag-baseline+1 .. t-lag]`` (1-based) for every point of ``t``.

    Points whose baseline would start before the series get NaN.
    """
    S, n = y.shape
    j = t - lag - baseline                                       # 0-based window start
    ok = j >= 0
    m = np.full((S, t.size), np.nan)
    s = np.full((S, t.size), np.nan)
    if ok.any():
        j0 = int(j[ok].min())
        part = y[:, j0:int(j[ok].max()) + baseline]              # only the windows needed
        windows = sliding_window_view(part, baseline, axis=1)    # (S, windows, B)
        m[:, ok] = windows.mean(axis=-1)[:, j[ok] - j0]
        s[:, ok] = windows.std(axis=-1, ddof=1)[:, j[ok] - j0]
    return m, s


def detect_many(
    observed: np.ndarray,
    start: int,
    end: int,
    params: Mapping[str, Any],
    *,
    freq: int = 52,
    start_epoch: int = 1,
) -> BatchDetection:
    """EARS C1/C2/C3 on the points ``start..end`` of every row of ``observed`` (``(S, n)``)."""
    method, baseline, min_sigma, alpha = _params(params)
    y = as_matrix(observed)
    t = check_range(y.shape[1], start, end)
    z = norm.ppf(1.0 - alpha)
    yt = y[:, t - 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        if method in ("C1", "C2"):
            mean, sd = _baseline_stats(y, t, _LAG[method], baseline)
            upper = mean + z * np.maximum(sd, min_sigma)
            stat = (yt - mean) / np.maximum(sd, min_sigma)
        else:
            t2 = np.arange(t[0] - 2, t[-1] + 1)                  # C2 also at t-2 and t-1
            mean2, sd2 = _baseline_stats(y, np.maximum(t2, 1), 3, baseline)
            mean2[:, t2 < 1] = np.nan
            sd2[:, t2 < 1] = np.nan
            c2 = (y[:, np.maximum(t2, 1) - 1] - mean2) / np.maximum(sd2, min_sigma)
            lag2 = np.maximum(0.0, c2[:, :-2] - 1.0)               # NaN propagates, as R's pmax
            lag1 = np.maximum(0.0, c2[:, 1:-1] - 1.0)
            sd_t = np.maximum(sd2[:, 2:], min_sigma)
            upper = np.maximum(0.0, yt + sd_t * (z - (lag2 + lag1)))
            stat = c2[:, 2:]
        alarm = yt > upper                                        # NaN compares False (R: NA)
    return BatchDetection(
        t=t,
        observed=yt.copy(),
        upperbound=upper,
        alarm=alarm,
        expected=np.full_like(upper, np.nan),
        stat=stat,
    )


def detect(series: Series, start: int, end: int, params: Mapping[str, Any]) -> Detection:
    """EARS on one series; see the module docstring. ``stat`` holds the C1/C2/C3 z-score."""
    return detect_one(detect_many, series, start, end, params)
