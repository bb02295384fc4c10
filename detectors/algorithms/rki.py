r"""RKI system of R ``surveillance::algo.rki`` (Robert Koch Institute, Berlin).

With the reference counts of a monitored point (default ``b = 2, w = 4, actY = False``: the windows
:math:`y_{t-52i-4}, \dots, y_{t-52i+4}` of the two previous years, 18 values) and their mean
:math:`\bar y` and sample standard deviation :math:`s`:

* :math:`\bar y > 20`: :math:`U_t = \bar y + 2s` (normal approximation);
* :math:`\bar y \le 20`: :math:`U_t` is the upper limit of a Poisson 95 % interval taken from the
  package's ``CIdata`` table at row :math:`\lfloor \bar y \rfloor` (``data/rki_cidata.csv``,
  column ``O``).

An alarm is raised when :math:`y_t > U_t`. Points without enough history get NaN and no alarm.

>>> import numpy as np
>>> y = np.array([[1., 2, 1, 0, 2, 1, 6]])
>>> res = detect_many(y, 7, 7, {"b": 0, "w": 6, "actY": True})
>>> float(res.upperbound[0, 0]), bool(res.alarm[0, 0])
(5.323, True)

References
----------
Altmann D (2003). The surveillance system of the Robert Koch Institute, Germany. Personal
communication, documented in Höhle M (2007). surveillance: An R package for the monitoring of
infectious diseases. *Comput Stat* 22(4):571-582. (R function ``algo.rki``.)
Höhle M, Meyer S, Paul M, et al. *surveillance: Temporal and Spatio-Temporal Modeling and
Monitoring of Epidemic Phenomena*, R package reference manual (version 1.20.3), CRAN.
"""
from __future__ import annotations

import csv
from functools import lru_cache
from importlib import resources
from typing import Any, Mapping

import numpy as np

from detectors.algorithms._batch import (BatchDetection, as_matrix, check_range, detect_one,
                                         merge_params, reference_values)
from detectors.algorithms.base import Detection, Series

__all__ = ["detect", "detect_many", "DEFAULT_PARAMS", "ci_upper_table"]

DEFAULT_PARAMS: dict[str, Any] = {"b": 2, "w": 4, "actY": False}


@lru_cache(maxsize=1)
def ci_upper_table() -> np.ndarray:
    """Column ``O`` of R's ``CIdata`` (row ``i`` = upper limit for a mean in ``[i, i+1)``)."""
    text = resources.files("detectors.algorithms").joinpath("data/rki_cidata.csv").read_text()
    rows = list(csv.DictReader(text.splitlines()))
    table = np.array([float(r["O"]) for r in rows])
    if [int(float(r["mu"])) for r in rows] != list(range(len(rows))):
        raise ValueError("rki_cidata.csv: column mu must be 0, 1, 2, ...")
    return table


def detect_many(
    observed: np.ndarray,
    start: int,
    end: int,
    params: Mapping[str, Any],
    *,
    freq: int = 52,
    start_epoch: int = 1,
) -> BatchDetection:
    """RKI system on the points ``start..end`` of every row of ``observed`` (``(S, n)``)."""
    p = merge_params("rki", params, DEFAULT_PARAMS)
    y = as_matrix(observed)
    t = check_range(y.shape[1], start, end)
    ref, _ = reference_values(y, t, b=int(p["b"]), w=int(p["w"]), freq=int(freq),
                              act_y=bool(p["actY"]))
    mean = ref.mean(axis=2)
    with np.errstate(invalid="ignore"):
        sd = ref.std(axis=2, ddof=1) if ref.shape[2] > 1 else np.full_like(mean, np.nan)
        normal = mean > 20
    table = ci_upper_table()
    row = np.where(np.isfinite(mean) & ~normal, np.floor(np.nan_to_num(mean)), 0).astype(int)
    upper = np.where(normal, mean + 2 * sd, table[np.minimum(row, table.size - 1)])
    upper[np.isnan(mean)] = np.nan
    x = y[:, t - 1]
    return BatchDetection(t=t, observed=x.copy(), upperbound=upper, alarm=x > upper,
                          expected=mean, stat=np.full_like(upper, np.nan))


def detect(series: Series, start: int, end: int, params: Mapping[str, Any]) -> Detection:
    """RKI system on one series; see the module docstring. ``expected`` is the reference mean."""
    return detect_one(detect_many, series, start, end, params)
