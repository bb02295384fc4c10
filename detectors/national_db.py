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
from typing import Any, Iterable, Mapping, Sequence

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
from ingest.tables import COUNTED, reports, weekly_counts_history as history

__all__ = ["load_matrices", "load_levels", "evaluate_national"]


def load_matrices(conn: Connection, pyramid: Pyramid, level: str, diseases: Iterable[str], first: EpiWeek,
                  last: EpiWeek, start_day: int = 0) -> dict[str, CountMatrix]:
    """One :class:`CountMatrix` per disease over every org unit of ``level`` (weeks ``first..last``)."""
    return load_levels(conn, pyramid, {level: diseases}, first, last, start_day).get(level, {})


def _fetch(conn: Connection, q: Any) -> Sequence[Any]:
    """All rows as plain DBAPI tuples (no Row objects: millions of history rows)."""
    res = conn.execute(q)
    try:
        return res.cursor.fetchall() if res.cursor is not None else []
    finally:
        res.close()


def _codes(values: Sequence[Any], index: dict[Any, int]) -> np.ndarray:
    return np.fromiter((index.get(v, -1) for v in values), dtype=np.int64, count=len(values))


def _history_rows(conn: Connection, pyramid: Pyramid, levels: list[str], rows: dict[str, dict[str, int]],
                  diseases: list[str], cache: dict | None) -> tuple | None:
    """History rows of ``diseases`` as arrays: disease code, ``iso_year*100+iso_week``, count, row
    per level, and the district row of a health area's rows. Reading millions of rows is the
    slow part of a national run: with a ``cache`` dict they are read again only when the table
    changed (row count or latest ``loaded_at``: every load sets it)."""
    where = history.c.disease.in_(diseases)
    mark = tuple(conn.execute(sa.select(sa.func.count(), sa.func.max(history.c.loaded_at)).where(where)).one())
    key = (tuple(levels), tuple(diseases), id(pyramid), str(mark))
    if cache is not None and cache.get("key") == key:
        return cache["value"]
    got = _fetch(conn, sa.select(history.c.area_id, history.c.disease, history.c.iso_year, history.c.iso_week,
                                 history.c["count"]).where(where))
    value = None
    if got:
        area, dis, yy, ww, n = zip(*got)
        k = _codes(dis, {d: i for i, d in enumerate(diseases)})
        yw = np.asarray(yy, np.int64) * 100 + np.asarray(ww, np.int64)
        unit_rows = {lv: _codes(area, rows[lv]) for lv in levels}
        r_ds = None
        if "district" in levels:
            dist_of = {}
            for d_id, r in rows["district"].items():
                for u in pyramid.descendants(d_id):
                    if u.level == "health_area":
                        dist_of[u.id] = r
            r_ds = _codes(area, dist_of)
        value = (k, yw, np.asarray(n, np.float64), unit_rows, r_ds)
    if cache is not None:
        cache.clear()
        cache.update(key=key, value=value)
    return value


def load_levels(conn: Connection, pyramid: Pyramid, wanted: Mapping[str, Iterable[str]], first: EpiWeek,
                last: EpiWeek, start_day: int = 0, *, cache: dict | None = None) -> dict[str, dict[str, CountMatrix]]:
    """``{level: {disease: CountMatrix}}`` for the (level, diseases) wanted, weeks ``first..last``.

    Three grouped reads shared by the levels (reports by health area, district, disease and onset
    day; first onset per org unit; the history rows of the diseases), binned with numpy. ``cache``
    (a dict kept by the caller) keeps the history rows between runs until the table changes."""
    levels = [lv for lv in ("health_area", "district") if wanted.get(lv)]
    diseases = sorted({d for lv in levels for d in wanted[lv]})
    if not levels or not diseases:
        return {}
    dix = {d: k for k, d in enumerate(diseases)}
    units = {lv: sorted(u.id for u in pyramid.at_level(lv)) for lv in levels}
    rows = {lv: {u: i for i, u in enumerate(units[lv])} for lv in levels}
    weeks = tuple(weeks_between(first, last, start_day))
    N, D = len(weeks), len(diseases)
    origin, until = week_start(first, start_day), week_end(last, start_day)
    rep = {lv: np.zeros((D, len(units[lv]), N)) for lv in levels}
    # reports by onset day, health area and district at once
    q = (sa.select(reports.c.health_area_id, reports.c.district_id, reports.c.disease, reports.c.onset_date,
                   sa.func.sum(reports.c.cases))
         .where(COUNTED, reports.c.disease.in_(diseases), reports.c.onset_date >= origin, reports.c.onset_date <= until)
         .group_by(reports.c.health_area_id, reports.c.district_id, reports.c.disease, reports.c.onset_date))
    got = _fetch(conn, q)
    if got:
        ha, ds, dis, day, sums = zip(*got)
        j = (np.fromiter((_date(x).toordinal() for x in day), np.int64, len(day)) - origin.toordinal()) // 7
        k = _codes(dis, dix)
        n = np.fromiter((int(x or 0) for x in sums), np.float64, len(sums))
        for lv, ids in (("health_area", ha), ("district", ds)):
            if lv in rep:
                i = _codes(ids, rows[lv])
                ok = (i >= 0) & (k >= 0)
                np.add.at(rep[lv], (k[ok], i[ok], j[ok]), n[ok])
    seen = {}
    for lv in levels:   # earliest onset in the org unit, any disease: its series starts there
        s = np.full(len(units[lv]), np.iinfo(np.int64).max)
        for oid, d in conn.execute(sa.select(_COLUMN[lv], sa.func.min(reports.c.onset_date))
                                    .where(COUNTED).group_by(_COLUMN[lv])):
            if oid in rows[lv] and d is not None:
                s[rows[lv][oid]] = _date(d).toordinal()
        seen[lv] = s
    # history: every row of the diseases (the first history week matters, not only the window)
    hist = {lv: np.zeros((D, len(units[lv]), N)) for lv in levels}
    big = np.iinfo(np.int64).max
    hmin = {lv: np.full((D, len(units[lv])), big) for lv in levels}
    coded = _history_rows(conn, pyramid, levels, rows, diseases, cache)
    if coded is not None:
        k, yw, n, unit_rows, r_ds = coded
        lo = min(int(yw.min()), weeks[0].year * 100)
        lut = np.full(max(int(yw.max()), weeks[-1].year * 100 + 99) - lo + 1, -1, np.int64)
        for jj, w in enumerate(weeks):
            lut[w.year * 100 + w.week - lo] = jj
        j = lut[yw - lo]
        own = {}
        for lv in levels:
            i = unit_rows[lv]
            ok = (i >= 0) & (k >= 0)
            np.minimum.at(hmin[lv], (k[ok], i[ok]), yw[ok])
            inw = ok & (j >= 0)
            S = len(units[lv])
            hist[lv] += np.bincount((k[inw] * S + i[inw]) * N + j[inw], weights=n[inw],
                                    minlength=D * S * N).reshape(D, S, N)
            own[lv] = hmin[lv] < big
        if "district" in levels:   # a district without its own history: the sum of its health areas'
            ok = (r_ds >= 0) & (k >= 0)
            ok[ok] = ~own["district"][k[ok], r_ds[ok]]
            np.minimum.at(hmin["district"], (k[ok], r_ds[ok]), yw[ok])
            inw = ok & (j >= 0)
            S = len(units["district"])
            hist["district"] += np.bincount((k[inw] * S + r_ds[inw]) * N + j[inw], weights=n[inw],
                                            minlength=D * S * N).reshape(D, S, N)
    out: dict[str, dict[str, CountMatrix]] = {}
    for lv in levels:
        S = len(units[lv])
        hfirst = np.array([week_start(EpiWeek(int(v) // 100, int(v) % 100), start_day).toordinal() if v < big
                           else big for v in hmin[lv].ravel()], dtype=np.int64).reshape(D, S) \
            if S else np.zeros((D, 0), np.int64)
        out[lv] = {}
        for d in sorted(set(wanted[lv])):
            dk = dix[d]
            firsts = np.full(S, N, dtype=int)
            start = np.minimum(seen[lv], hfirst[dk])
            for u in np.nonzero(start < big)[0]:
                fw = week_start(epiweek(dt.date.fromordinal(int(start[u])), start_day), start_day)
                firsts[u] = min(N, max(0, (fw - origin).days // 7))
            out[lv][d] = CountMatrix(lv, d, tuple(units[lv]), weeks, np.maximum(rep[lv][dk], hist[lv][dk]), firsts)
    return out


def _shift(week: EpiWeek, n: int, start_day: int) -> EpiWeek:
    return epiweek(week_start(week, start_day) + dt.timedelta(weeks=n), start_day)


def evaluate_national(conn: Connection, pyramid: Pyramid, configs: Iterable[DetectorConfig], last: EpiWeek,
                      now: dt.datetime, *, start_day: int = 0, n_eval: int = 1, levels: Iterable[str] | None = None,
                      workers: int = 1, typical_delay: dt.timedelta | None = None,
                      closed_after_days: int | None = None, cache: dict | None = None
                      ) -> tuple[list[Signal], dict[str, int]]:
    """Evaluate every enabled detector on every org unit of its level for the weeks
    ``last - n_eval + 1 .. last``; signals (deterministic ids) and counts (cells, points, signals)."""
    from detectors.rules.base import DEFAULT_CLOSED_AFTER_DAYS, DEFAULT_TYPICAL_DELAY
    wanted = set(levels) if levels else None
    configs = [c for c in configs if c.enabled and (wanted is None or c.level in wanted)]
    jobs: list[Job] = []
    by_level: dict[str, list[DetectorConfig]] = defaultdict(list)
    for cfg in configs:
        by_level[cfg.level].append(cfg)
    if by_level:
        width = max(window_weeks(c, n_eval) for c in configs)
        mats = load_levels(conn, pyramid, {lv: {c.disease for c in cs} for lv, cs in by_level.items()},
                           _shift(last, 1 - width, start_day), last, start_day, cache=cache)
        jobs = [Job(c, mats[c.level][c.disease], n_eval) for c in configs]
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
