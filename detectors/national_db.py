"""Database adapter of the national weekly batch (:mod:`detectors.national`): read the weekly count
matrices of a level in a few queries, run the batch, turn alarms into signals.

Counts are those of the per-cell path (:meth:`detectors.stage.DetectionStage._run`): reports by
onset epi week, combined week by week with ``weekly_counts_history`` as ``max(history, reports)``;
a district without its own history uses the sum of its health areas' history. A row starts at the
first week observed in the org unit (first report of any disease, or first history week).
"""
from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from typing import Iterable

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from detectors import metrics
from detectors.contracts import Signal
from detectors.epiweek import EpiWeek, epiweek, week_end, week_start
from detectors.national import CountMatrix, Job, evaluate_jobs, signal_id, window_weeks
from detectors.repository import _COLUMN, DetectorRepository, _date
from detectors.rules.base import Scope
from detectors.statistical import DetectorConfig, signal_for
from detectors.weekly import weeks_between
from ingest.pyramid import Pyramid
from ingest.tables import reports, weekly_counts_history as history

__all__ = ["load_matrices", "evaluate_national"]


def load_matrices(conn: Connection, pyramid: Pyramid, level: str, diseases: Iterable[str], first: EpiWeek,
                  last: EpiWeek, start_day: int = 0) -> dict[str, CountMatrix]:
    """One :class:`CountMatrix` per disease over every org unit of ``level`` (weeks ``first..last``)."""
    diseases = sorted(set(diseases))
    units = sorted(u.id for u in pyramid.at_level(level))
    row = {u: i for i, u in enumerate(units)}
    weeks = tuple(weeks_between(first, last, start_day))
    col = {w: j for j, w in enumerate(weeks)}
    S, N = len(units), len(weeks)
    origin, until = week_start(first, start_day), week_end(last, start_day)
    rep = {d: np.zeros((S, N)) for d in diseases}
    hist = {d: np.zeros((S, N)) for d in diseases}
    seen = np.full(S, None, dtype=object)   # earliest date observed per row, any disease
    if not units or not diseases:
        return {}
    c = _COLUMN[level]
    q = (sa.select(c, reports.c.disease, reports.c.onset_date, sa.func.sum(reports.c.cases))
         .where(reports.c.disease.in_(diseases), reports.c.onset_date >= origin, reports.c.onset_date <= until)
         .group_by(c, reports.c.disease, reports.c.onset_date))
    for oid, disease, onset, n in conn.execute(q):
        i = row.get(oid)
        if i is not None:
            rep[disease][i, (_date(onset) - origin).days // 7] += int(n or 0)
    for oid, d in conn.execute(sa.select(c, sa.func.min(reports.c.onset_date)).group_by(c)):
        if oid in row:
            seen[row[oid]] = _date(d)
    # history: own rows of the org unit; for a district without any, the sum of its health areas
    own = {(a, d): w for a, d, w in conn.execute(
        sa.select(history.c.area_id, history.c.disease, sa.func.min(history.c.iso_year * 100 + history.c.iso_week))
        .where(history.c.disease.in_(diseases)).group_by(history.c.area_id, history.c.disease))}
    source: dict[str, list[tuple[int, str]]] = defaultdict(list)   # history area -> [(row, disease)]
    first_hist: dict[tuple[int, str], int] = {}
    for oid in units:
        i = row[oid]
        for d in diseases:
            areas = [oid]
            if level == "district" and (oid, d) not in own:
                areas = [u.id for u in pyramid.descendants(oid) if u.level == "health_area"]
            mins = [own[(a, d)] for a in areas if (a, d) in own]
            if mins:
                first_hist[(i, d)] = min(mins)
                for a in areas:
                    if (a, d) in own:
                        source[a].append((i, d))
    if source:
        q = (sa.select(history.c.area_id, history.c.disease, history.c.iso_year, history.c.iso_week,
                       history.c["count"])
             .where(history.c.disease.in_(diseases), history.c.iso_year >= first.year - 1,
                    history.c.iso_year <= last.year + 1))
        for a, d, y, w, n in conn.execute(q):
            j = col.get(EpiWeek(int(y), int(w)))
            if j is None:
                continue
            for i, dd in source.get(a, ()):
                if dd == d:
                    hist[d][i, j] += int(n)
    out = {}
    for d in diseases:
        firsts = np.full(S, N, dtype=int)
        for i in range(S):
            dates = [x for x in (seen[i],) if x is not None]
            if (i, d) in first_hist:
                v = first_hist[(i, d)]
                dates.append(week_start(EpiWeek(v // 100, v % 100), start_day))
            if dates:
                fw = week_start(epiweek(min(dates), start_day), start_day)
                firsts[i] = min(N, max(0, (fw - origin).days // 7))
        out[d] = CountMatrix(level, d, tuple(units), weeks, np.maximum(rep[d], hist[d]), firsts)
    return out


def _shift(week: EpiWeek, n: int, start_day: int) -> EpiWeek:
    return epiweek(week_start(week, start_day) + dt.timedelta(weeks=n), start_day)


def evaluate_national(conn: Connection, pyramid: Pyramid, configs: Iterable[DetectorConfig], last: EpiWeek,
                      now: dt.datetime, *, start_day: int = 0, n_eval: int = 1, levels: Iterable[str] | None = None,
                      workers: int = 1, typical_delay: dt.timedelta | None = None,
                      closed_after_days: int | None = None) -> tuple[list[Signal], dict[str, int]]:
    """Evaluate every enabled detector on every org unit of its level for the weeks
    ``last - n_eval + 1 .. last``; signals (deterministic ids) and counts (cells, points, signals)."""
    from detectors.rules.base import DEFAULT_CLOSED_AFTER_DAYS, DEFAULT_TYPICAL_DELAY
    wanted = set(levels) if levels else None
    configs = [c for c in configs if c.enabled and (wanted is None or c.level in wanted)]
    jobs: list[Job] = []
    by_level: dict[str, list[DetectorConfig]] = defaultdict(list)
    for cfg in configs:
        by_level[cfg.level].append(cfg)
    for level, cfgs in by_level.items():
        width = max(window_weeks(c, n_eval) for c in cfgs)
        mats = load_matrices(conn, pyramid, level, {c.disease for c in cfgs}, _shift(last, 1 - width, start_day),
                             last, start_day)
        jobs += [Job(c, mats[c.disease], n_eval) for c in cfgs]
    t0 = time.perf_counter()
    results = evaluate_jobs(jobs, workers=workers)
    elapsed = time.perf_counter() - t0
    repo = DetectorRepository()
    signals: list[Signal] = []
    stats = {"detectors": len(jobs), "cells": 0, "points": 0, "signals": 0}
    for job, res in zip(jobs, results):
        cfg = job.cfg
        metrics.observe_duration(cfg.algorithm, elapsed * len(res.orgunits) / max(1, sum(
            len(r.orgunits) for r in results)))
        stats["cells"] += int(res.evaluated.any(axis=1).sum())
        stats["points"] += int(res.evaluated.sum())
        for i, j in res.alarms():
            oid, week = res.orgunits[i], res.weeks[j]
            unit = pyramid.units[oid]
            district = oid if cfg.level == "district" else (pyramid.ancestor_at(oid, "district") or unit).id
            scope = Scope(oid, cfg.level, district, unit.population)
            daily = repo.daily_cases(conn, cfg.level, oid, cfg.disease, week_start(week, start_day),
                                     week_end(week, start_day))
            s = signal_for(cfg, scope, cfg.disease, week, float(res.observed[i, j]), float(res.upperbound[i, j]),
                           res.params(i), daily, now, start_day=start_day,
                           typical_delay=typical_delay or DEFAULT_TYPICAL_DELAY,
                           closed_after_days=DEFAULT_CLOSED_AFTER_DAYS if closed_after_days is None
                           else closed_after_days)
            signals.append(s.model_copy(update={"signal_id": signal_id(s.dedup_key, s.observed, s.threshold)}))
        for fired in (True, False):
            n = int((res.evaluated.any(axis=1) & (res.alarm.any(axis=1) == fired)).sum())
            if n:
                metrics.observe_evaluation(cfg.algorithm, cfg.disease, fired, count=n)
    stats["signals"] = len(signals)
    return signals, stats
