"""Values shared by every statistical detector: the input series and the per-point detection.

The vocabulary follows the R package ``surveillance`` (Höhle 2007; Salmon, Schumacher & Höhle
2016, *J Stat Softw* 70(10)): a detector monitors the points ``start..end`` (1-based, inclusive)
of a time series and returns, per monitored point, ``observed``, ``expected``, ``upperbound`` and
``alarm``. Not enough baseline is a normal result (``upperbound`` NaN, ``alarm`` False), never an
exception.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol

import numpy as np

__all__ = ["Series", "Detection", "Detector"]


@dataclass(frozen=True)
class Series:
    """One univariate count series, as an ``sts`` object of R ``surveillance`` holds it.

    observed:    counts, float64, shape (n,)
    freq:        observations per year (52 weekly, 12 monthly, 365 daily)
    start_year, start_epoch: year and epoch-in-year of the first observation
    dates:       ``datetime64[D]`` per observation when the series is dated (``epochAsDate``)
    population:  population (or population fraction) per observation, optional
    """

    observed: np.ndarray
    freq: int
    start_year: int = 2000
    start_epoch: int = 1
    dates: np.ndarray | None = None
    population: np.ndarray | None = None

    @property
    def n(self) -> int:
        return int(self.observed.shape[0])


def _nan(m: int) -> np.ndarray:
    return np.full(m, np.nan)


@dataclass
class Detection:
    """Per monitored point ``t`` (1-based): observed, upperbound, alarm and the algorithm's extras.

    NaN means NA (as in R). ``trend`` is 1.0/0.0 where the algorithm reports it, else NaN.
    """

    t: np.ndarray
    observed: np.ndarray
    upperbound: np.ndarray
    alarm: np.ndarray
    expected: np.ndarray | None = None
    stat: np.ndarray | None = None
    pvalue: np.ndarray | None = None
    phi: np.ndarray | None = None
    trend: np.ndarray | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        m = int(self.t.shape[0])
        for name in ("expected", "stat", "pvalue", "phi", "trend"):
            if getattr(self, name) is None:
                setattr(self, name, _nan(m))
        self.alarm = np.asarray(self.alarm, dtype=bool)


class Detector(Protocol):
    """Every algorithm module exposes ``detect(series, start, end, params) -> Detection``."""

    def __call__(
        self, series: Series, start: int, end: int, params: Mapping[str, Any]
    ) -> Detection: ...
