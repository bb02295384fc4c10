"""The weekly series behind an alert, for its chart: counts of the alert's org unit and disease over
the last 52 weeks up to the alert week, and the upperbound of the detector that fired.

Counts are read as the detectors read them (:func:`detectors.weekly.weekly_counts`: reports by onset
week, ``max`` with uploaded history). For a statistical detector the upperbound of every visible week
is recomputed with the same algorithm and parameters (:mod:`detectors.statistical`), each week judged
on the data before it, so the line is the threshold the detector applied that week; for a case
definition (a fixed rule) the signals' own thresholds are shown at their weeks.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np

from detectors.algorithms import registry
from detectors.algorithms.base import Series
from detectors.epiweek import EpiWeek, epiweek, week_end, week_start
from detectors.statistical import FREQ, fitted_params
from detectors.weekly import weekly_counts

WEEKS = 52


@dataclass(frozen=True)
class WeeklySeries:
    weeks: list[str]
    counts: list[float]
    thresholds: list[float | None]
    alert_week: str | None
    detector: str


def _shift(week: EpiWeek, n: int, start_day: int) -> EpiWeek:
    return epiweek(week_start(week, start_day) + dt.timedelta(weeks=n), start_day)


def alert_series(pipeline: Any, conn: Any, alert: Any, signals: list[Any]) -> WeeklySeries:
    start_day = pipeline.start_day
    stage = pipeline.detection
    last_signal = max(signals, key=lambda s: s.period_start) if signals else None
    last = EpiWeek.parse(last_signal.epiweek) if last_signal else epiweek(alert.emergence_date, start_day)
    cfg = next((c for c in stage.detectors if last_signal and c.id == last_signal.rule_id), None)
    level = alert.orgunit_level
    need = cfg.needed_history() if cfg else 0
    first = _shift(last, -(WEEKS - 1 + need), start_day)
    reads = stage.repo
    daily = reads.daily_cases(conn, level, alert.orgunit_id, alert.disease, week_start(first, start_day),
                              week_end(last, start_day)) if level in ("health_area", "district") else {}
    history = reads.history(conn, alert.orgunit_id, alert.disease)
    weeks, counts = weekly_counts(daily, history, first, last, start_day)
    shown = slice(max(0, len(weeks) - WEEKS), len(weeks))
    if cfg is not None:
        thresholds = _upperbounds(cfg, weeks, counts)
    else:  # a case definition: the signals' own thresholds, at their weeks
        by_week = {s.epiweek: s.threshold for s in signals}
        thresholds = [by_week.get(str(w)) for w in weeks]
    return WeeklySeries([str(w) for w in weeks[shown]], [float(c) for c in counts[shown]], thresholds[shown],
                        str(last) if last_signal else None, (last_signal.detector if last_signal else ""))


def _upperbounds(cfg: Any, weeks: list[EpiWeek], counts: np.ndarray) -> list[float | None]:
    n = len(counts)
    params = fitted_params(cfg, n)
    out: list[float | None] = [None] * n
    if params is None:
        return out
    spec = registry.get(cfg.algorithm)
    start = max(1, spec.start_rule(n, FREQ, params, False), n - WEEKS + 1)
    series = Series(np.asarray(counts, dtype=float), FREQ, weeks[0].year, weeks[0].week)
    det = registry.detector(cfg.algorithm)(series, start, n, params)
    for i, t in enumerate(np.asarray(det.t, dtype=int)):
        ub = float(det.upperbound[i])
        out[t - 1] = ub if np.isfinite(ub) else None
    return out
