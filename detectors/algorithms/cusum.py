r"""Poisson CUSUM of R ``surveillance::algo.cusum`` (Rossi et al. 1999 standardisations).

The counts :math:`x_t` of the monitored points are standardised with an in-control mean
:math:`m_t` and accumulated in a one-sided CUSUM without reset:

.. math:: S_0 = 0, \qquad S_t = \max(0,\; S_{t-1} + z_t - k), \qquad \text{alarm when } S_t \ge h.

In-control mean ``m``: ``None`` (default) = mean of all counts before the first monitored point;
a number; or ``"glm"`` = Poisson GLM :math:`\log m_t = \beta_0 + \beta_1\cos(2\pi t/p) +
\beta_2\sin(2\pi t/p)` fitted to the counts before the range (``t`` counted from the start epoch)
and predicted on the range. Standardisations ``trans`` and the matching bound :math:`U_t` (the
smallest count that raises an alarm given :math:`S_{t-1}`):

* ``standard`` :math:`z = (x - m)/\sqrt m`; :math:`U = \lceil m + \sqrt m (h + k - S_{t-1})\rceil`;
* ``rossi`` :math:`z = (x - 3m + 2\sqrt{xm})/(2\sqrt m)` (Rossi et al. 1999);
  :math:`U = 2\sqrt m (h + k - S_{t-1}) + 5m - 2\sqrt{4m^2 + 2m^{3/2}(h + k - S_{t-1})}`;
* ``anscombe`` :math:`z = \tfrac32 (x^{2/3} - m^{2/3})/m^{1/6}`; ``anscombe2nd``;
  ``pearsonNegBin`` :math:`z = (x - m)/\sqrt{m + \alpha m^2}`; ``none`` :math:`z = x`.

:math:`U` is set to 0 where it is negative or NaN (as in R). Defaults :math:`k = 1.04`,
:math:`h = 2.26`. ``expected`` = :math:`m_t`, ``stat`` = :math:`S_t`. A zero mean gives NaN
statistics and no alarms (R: NA).

>>> import numpy as np
>>> y = np.array([[2., 3, 2, 3, 2, 3, 2, 3, 9, 9, 2]])
>>> res = detect_many(y, 9, 11, {})
>>> res.alarm[0].tolist(), res.upperbound[0].tolist()
([True, True, True], [8.0, 3.0, 0.0])

References
----------
Rossi G, Lampugnani L, Marchi M (1999). An approximate CUSUM procedure for surveillance of health
events. *Stat Med* 18(16):2111-2122.
Page ES (1954). Continuous inspection schemes. *Biometrika* 41(1/2):100-115.
Höhle M (2007). surveillance: An R package for the monitoring of infectious diseases.
*Comput Stat* 22(4):571-582. (R function ``algo.cusum``.)
Höhle M, Meyer S, Paul M, et al. *surveillance: Temporal and Spatio-Temporal Modeling and
Monitoring of Epidemic Phenomena*, R package reference manual (version 1.20.3), CRAN.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from detectors.algorithms._batch import BatchDetection, as_matrix, check_range, detect_one, merge_params
from detectors.algorithms.base import Detection, Series
from detectors.algorithms.negbin import fit_log_glm

__all__ = ["detect", "detect_many", "DEFAULT_PARAMS", "harmonic_design"]

DEFAULT_PARAMS: dict[str, Any] = {"k": 1.04, "h": 2.26, "m": None, "trans": "standard",
                                  "alpha": None}
_TRANS = ("standard", "rossi", "anscombe", "anscombe2nd", "pearsonNegBin", "none")


def harmonic_design(t: np.ndarray, period: float) -> np.ndarray:
    """Columns ``1, cos(2 pi t / p), sin(2 pi t / p)`` (R: ``cos(2*pi/p*t)``)."""
    t = np.asarray(t, dtype=float)
    arg = 2 * np.pi / period * t
    return np.column_stack([np.ones_like(t), np.cos(arg), np.sin(arg)])


def _in_control_mean(y, t, m, freq, start_epoch):
    S = y.shape[0]
    train = y[:, : t[0] - 1]
    if m is None:
        if train.shape[1] == 0:
            return np.full((S, t.size), np.nan)
        return np.repeat(train.mean(axis=1, keepdims=True), t.size, axis=1)
    if isinstance(m, str):
        if m != "glm":
            raise ValueError(f"cusum: m must be None, a number or 'glm', not {m!r}")
        if train.shape[1] < 4:
            return np.full((S, t.size), np.nan)
        t_train = start_epoch + np.arange(1, t[0]) - 1
        fit = fit_log_glm(harmonic_design(t_train, freq), train)
        mu = fit.predict(harmonic_design(start_epoch + t - 1, freq))
        mu[fit.failed] = np.nan
        return mu
    return np.full((S, t.size), float(m))


def _standardise(x, m, trans, alpha):
    if trans == "standard":
        return (x - m) / np.sqrt(m)
    if trans == "rossi":
        return (x - 3 * m + 2 * np.sqrt(x * m)) / (2 * np.sqrt(m))
    if trans == "anscombe":
        return 3 / 2 * (x ** (2 / 3) - m ** (2 / 3)) / m ** (1 / 6)
    if trans == "anscombe2nd":
        return (x ** (2 / 3) - (m ** (2 / 3) - m ** (-1 / 3) / 9)) / (2 / 3 * m ** (1 / 6))
    if trans == "pearsonNegBin":
        return (x - m) / np.sqrt(m + alpha * m**2)
    return x.copy()  # none


def _bound(m, h, k, c_prev, c_now, trans, alpha):
    if trans == "standard":
        return np.ceil(np.sqrt(m) * (h + k - c_prev) + m)
    if trans == "rossi":
        r = np.sqrt(m)
        m32 = m ** (3 / 2)
        return (2 * h * r + 2 * k * r - 2 * c_prev * r + 5 * m
                - 2 * np.sqrt(4 * m**2 + 2 * m32 * h + 2 * m32 * k - 2 * m32 * c_prev))
    if trans == "anscombe":
        a = 2 / 3 * m ** (1 / 6) * (h + k - c_prev) + m ** (2 / 3)
        return np.where(a < 0, 0.0, np.abs(a) ** (3 / 2))
    if trans == "anscombe2nd":
        a = 2 / 3 * m ** (1 / 6) * (h + k - c_prev) + (m ** (2 / 3) - m ** (1 / 3) / 9)
        return np.where(a < 0, 0.0, np.abs(a) ** (3 / 2))
    if trans == "pearsonNegBin":
        return np.sqrt(m + alpha * m**2) * (h + k - c_prev) + m
    return h - c_now  # none


def detect_many(
    observed: np.ndarray,
    start: int,
    end: int,
    params: Mapping[str, Any],
    *,
    freq: int = 52,
    start_epoch: int = 1,
) -> BatchDetection:
    """CUSUM on the points ``start..end`` of every row of ``observed`` (shape ``(S, n)``)."""
    p = merge_params("cusum", params, DEFAULT_PARAMS)
    k, h, trans = float(p["k"]), float(p["h"]), str(p["trans"])
    if trans not in _TRANS:
        raise ValueError(f"cusum: trans must be one of {_TRANS}, not {trans!r}")
    alpha = 0.1 if p["alpha"] is None else float(p["alpha"])
    y = as_matrix(observed)
    t = check_range(y.shape[1], start, end)
    x = y[:, t - 1]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        m = _in_control_mean(y, t, p["m"], freq, start_epoch)
        z = _standardise(x, m, trans, alpha)
        S, n_t = x.shape
        cusum = np.zeros((S, n_t + 1))
        for i in range(n_t):   # sequential over time, vectorised over series
            cusum[:, i + 1] = np.maximum(0.0, cusum[:, i] + (z[:, i] - k))  # NaN propagates
        alarm = cusum[:, 1:] >= h
        upper = _bound(m, h, k, cusum[:, :-1], cusum[:, 1:], trans, alpha)
    upper = np.where(np.isnan(upper) | (upper < 0), 0.0, upper) + 0.0   # + 0.0: no -0
    return BatchDetection(t=t, observed=x.copy(), upperbound=upper, alarm=alarm, expected=m,
                          stat=cusum[:, 1:].copy())


def detect(series: Series, start: int, end: int, params: Mapping[str, Any]) -> Detection:
    """CUSUM on one series; see the module docstring."""
    return detect_one(detect_many, series, start, end, params)
