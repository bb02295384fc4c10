r"""Bayes system of R ``surveillance::algo.bayes`` (Riebler 2004).

With the reference counts :math:`y_1, \dots, y_L` of a monitored point (the ``w`` previous counts
when ``actY``, plus windows of half-width ``w`` around the same week of the ``b`` previous years)
and a flat prior on the Poisson mean, the predictive distribution of the current count is
negative binomial:

.. math:: U_t = F^{-1}_{\mathrm{NB}}\Bigl(1-\alpha;\; \textstyle\sum_i y_i + \tfrac12,\;
          \tfrac{L}{L+1}\Bigr)
          \qquad\text{(R: } \texttt{qnbinom(1-alpha, sum + 1/2, L/(L+1))}\text{)},

and an alarm is raised when :math:`y_t > U_t` (strictly: ``surveillance`` 1.20.3 compares with
``>``; some older sources show ``>=``). Defaults ``b = 0, w = 6, actY = True,
alpha = 0.05`` ("bayes 1"). Points without enough history get NaN and no alarm.

>>> import numpy as np
>>> y = np.array([[1., 2, 1, 0, 2, 1, 6]])
>>> res = detect_many(y, 7, 7, {})
>>> float(res.upperbound[0, 0]), bool(res.alarm[0, 0])
(4.0, True)

References
----------
Riebler A (2004). *Empirischer Vergleich von statistischen Methoden zur Ausbruchserkennung bei
Surveillance Daten*. Bachelor's thesis, Department of Statistics, University of Munich.
Höhle M (2007). surveillance: An R package for the monitoring of infectious diseases.
*Comput Stat* 22(4):571-582. (R function ``algo.bayes``.)
Höhle M, Meyer S, Paul M, et al. *surveillance: Temporal and Spatio-Temporal Modeling and
Monitoring of Epidemic Phenomena*, R package reference manual (version 1.20.3), CRAN.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
from scipy.stats import nbinom

from detectors.algorithms._batch import (BatchDetection, as_matrix, check_range, detect_one,
                                         merge_params, reference_values)
from detectors.algorithms.base import Detection, Series

__all__ = ["detect", "detect_many", "DEFAULT_PARAMS"]

DEFAULT_PARAMS: dict[str, Any] = {"b": 0, "w": 6, "actY": True, "alpha": 0.05}


def nb_quantile(q: float, size: np.ndarray, prob: float) -> np.ndarray:
    """``qnbinom(q, size, prob)`` evaluated once per distinct ``size`` (sizes repeat a lot)."""
    out = np.full(size.shape, np.nan)
    ok = np.isfinite(size)
    if ok.any():
        uniq, inv = np.unique(size[ok], return_inverse=True)
        out[ok] = nbinom.ppf(q, uniq, prob)[inv]
    return out


def detect_many(
    observed: np.ndarray,
    start: int,
    end: int,
    params: Mapping[str, Any],
    *,
    freq: int = 52,
    start_epoch: int = 1,
) -> BatchDetection:
    """Bayes system on the points ``start..end`` of every row of ``observed`` (``(S, n)``)."""
    p = merge_params("bayes", params, DEFAULT_PARAMS)
    alpha = float(p["alpha"])
    if not 0 < alpha < 1:
        raise ValueError("bayes: alpha must be in (0, 1)")
    y = as_matrix(observed)
    t = check_range(y.shape[1], start, end)
    ref, _ = reference_values(y, t, b=int(p["b"]), w=int(p["w"]), freq=int(freq),
                              act_y=bool(p["actY"]))
    L = ref.shape[2]
    upper = nb_quantile(1.0 - alpha, ref.sum(axis=2) + 0.5, L / (L + 1.0))
    x = y[:, t - 1]
    return BatchDetection(t=t, observed=x.copy(), upperbound=upper, alarm=x > upper,
                          expected=np.full_like(upper, np.nan), stat=np.full_like(upper, np.nan))


def detect(series: Series, start: int, end: int, params: Mapping[str, Any]) -> Detection:
    """Bayes system on one series; see the module docstring."""
    return detect_one(detect_many, series, start, end, params)
