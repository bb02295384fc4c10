"""The weekly cube: cases and reports per (org unit, disease, epi week of onset), kept incrementally.

Every counted report (state ``active``, :data:`ingest.tables.COUNTED`) adds its cases to three
cells of ``weekly_cube`` — its own org unit (level ``site`` when it is below the health area), its
health area and its district — for the epi week of its onset (weeks start on ``start_day``, 0 =
Monday/ISO, as ``SEBAC_EPIWEEK_START_DAY``; the day is part of the key so a changed setting reads
nothing stale, :func:`rebuild_cube` fills the new one).
Regions and the nation are sums of their districts' cells (a few rows), not stored.

Writes happen in the transaction that changes ``reports`` (an UPSERT per cell, one ``executemany``
per batch), so the cube always equals ``GROUP BY (unit, disease, week)`` over the counted reports
— the property ``tests/ingest/test_cube.py`` checks after random inserts, corrections, retractions
and holds.

* :func:`apply_reports` — new reports (the intake path, one statement per batch);
* :func:`apply_report_delta` — a revision (:func:`ingest.corrections.revise_report`): ``old`` out,
  ``new`` in (either None; a version that is not ``active`` counts for nothing).
  Call it *after* the ``reports`` row was replaced or deleted, in the same transaction: when the
  removed report held a cell's earliest onset, that onset is recomputed from the reports left.

Reads (:func:`weekly`, :func:`first_onset`) are what the statistical detectors need: a series by
week, and since when an org unit reports (any disease). Both use the primary key or
``ix_weekly_cube_orgunit_week``: their cost depends on the weeks asked for, not on the reports stored.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ingest.tables import reports as reports_table
from ingest.tables import COUNTED, upsert_into, weekly_cube

_COLUMN = {"site": reports_table.c.orgunit_id, "health_area": reports_table.c.health_area_id,
           "district": reports_table.c.district_id}
Cell = tuple[str, str, dt.date]  # (orgunit_id, disease, week_start)


def week_start_of(day: dt.date, start_day: int = 0) -> dt.date:
    """First day of the epi week containing ``day`` (weeks start on ``start_day``, 0 = Monday)."""
    return day - dt.timedelta(days=(day.weekday() - start_day) % 7)


def units_of(report: Any) -> dict[str, str]:
    """The cube's org units of one report, with their level: district, health area, own unit."""
    units = {report.district_id: "district", report.health_area_id: "health_area"}
    units.setdefault(report.orgunit_id, "site")
    return units


class _Delta:
    __slots__ = ("cases", "first", "level", "removed", "reports")

    def __init__(self, level: str):
        self.level, self.cases, self.reports, self.first, self.removed = level, 0, 0, None, False


def _deltas(added: Iterable[Any], removed: Iterable[Any], start_day: int) -> dict[Cell, _Delta]:
    out: dict[Cell, _Delta] = {}
    for sign, rows in ((1, added), (-1, removed)):
        for r in rows:
            if getattr(r, "state", "active") != "active":
                continue  # held, duplicate or retracted: out of every count (ingest.tables.COUNTED)
            week = week_start_of(r.onset_date, start_day)
            for unit, level in units_of(r).items():
                d = out.get((unit, r.disease, week))
                if d is None:
                    d = out[(unit, r.disease, week)] = _Delta(level)
                d.cases += sign * int(r.cases)
                d.reports += sign
                if sign > 0:
                    d.first = r.onset_date if d.first is None else min(d.first, r.onset_date)
                else:
                    d.removed = True
    return out


def _upsert(conn: Connection, rows: list[dict[str, Any]]) -> None:
    ins, least = upsert_into(conn, weekly_cube)
    stmt = ins.on_conflict_do_update(
        index_elements=["orgunit_id", "disease", "start_day", "week_start"],
        set_={"cases": weekly_cube.c.cases + ins.excluded.cases,
              "reports": weekly_cube.c.reports + ins.excluded.reports,
              "first_onset": least(weekly_cube.c.first_onset, ins.excluded.first_onset)})
    conn.execute(stmt, rows)


def apply_reports(conn: Connection, reports: Iterable[Any], *, start_day: int = 0) -> int:
    """Add new reports (anything with the report fields) to the cube; returns the cells touched."""
    deltas = _deltas(reports, (), start_day)
    if deltas:
        _upsert(conn, [{"orgunit_id": u, "disease": dis, "start_day": start_day, "week_start": w, "level": d.level,
                            "cases": d.cases, "reports": d.reports, "first_onset": d.first}
                       for (u, dis, w), d in deltas.items()])
    return len(deltas)


def apply_report_delta(conn: Connection, old: Any | None, new: Any | None, *, start_day: int = 0) -> int:
    """A report replaced (``old`` → ``new``), retracted (``new`` None) or added (``old`` None).

    Call after the ``reports`` table holds the new state (same transaction). Returns cells touched."""
    deltas = _deltas([new] if new is not None else [], [old] if old is not None else [], start_day)
    t = weekly_cube
    added = []
    for (unit, disease, week), d in deltas.items():
        key = (t.c.orgunit_id == unit) & (t.c.disease == disease) & (t.c.start_day == start_day) \
            & (t.c.week_start == week)
        if not d.removed:
            added.append({"orgunit_id": unit, "disease": disease, "start_day": start_day, "week_start": week,
                              "level": d.level, "cases": d.cases, "reports": d.reports, "first_onset": d.first})
            continue
        conn.execute(t.update().where(key).values(cases=t.c.cases + d.cases, reports=t.c.reports + d.reports))
        col = _COLUMN[d.level]
        first = conn.execute(sa.select(sa.func.min(reports_table.c.onset_date)).where(
            COUNTED, col == unit, reports_table.c.disease == disease, reports_table.c.onset_date >= week,
            reports_table.c.onset_date <= week + dt.timedelta(days=6))).scalar()
        if first is None:  # the cell's last report left
            conn.execute(t.delete().where(key))
        else:
            conn.execute(t.update().where(key).values(first_onset=_date(first)))
    if added:
        _upsert(conn, added)
    return len(deltas)


def rebuild_cube(conn: Connection, *, start_day: int = 0) -> int:
    """Refill the cube of ``start_day`` from the reports table (a new start day, a repair)."""
    conn.execute(weekly_cube.delete().where(weekly_cube.c.start_day == start_day))
    r = reports_table
    q = (sa.select(r.c.orgunit_id, r.c.health_area_id, r.c.district_id, r.c.disease, r.c.onset_date,
                   sa.func.sum(r.c.cases), sa.func.count())
         .where(COUNTED)
         .group_by(r.c.orgunit_id, r.c.health_area_id, r.c.district_id, r.c.disease, r.c.onset_date))
    cells: dict[Cell, list[Any]] = {}
    for orgunit, area, district, disease, onset, cases, n in conn.execute(q):
        onset = _date(onset)
        units = {district: "district", area: "health_area"}
        units.setdefault(orgunit, "site")
        for unit, level in units.items():
            c = cells.setdefault((unit, disease, week_start_of(onset, start_day)), [level, 0, 0, onset])
            c[1] += int(cases or 0)
            c[2] += int(n)
            c[3] = min(c[3], onset)
    if cells:
        conn.execute(weekly_cube.insert(), [
            {"orgunit_id": u, "disease": d, "start_day": start_day, "week_start": w, "level": c[0], "cases": c[1],
                 "reports": c[2], "first_onset": c[3]} for (u, d, w), c in cells.items()])
    return len(cells)


# -- reads -------------------------------------------------------------------------------------------
_B, _T = sa.bindparam, weekly_cube
_WEEKLY = sa.select(_T.c.week_start, _T.c.cases).where(
    _T.c.orgunit_id == _B("b_unit"), _T.c.disease == _B("b_disease"), _T.c.start_day == _B("b_day"),
    _T.c.week_start >= _B("b_since"), _T.c.week_start <= _B("b_until"))
_EARLIEST = (sa.select(sa.func.min(_T.c.week_start))
             .where(_T.c.orgunit_id == _B("b_unit"), _T.c.start_day == _B("b_day")).scalar_subquery())
_FIRST_ONSET = sa.select(sa.func.min(_T.c.first_onset)).where(
    _T.c.orgunit_id == _B("b_unit"), _T.c.start_day == _B("b_day"), _T.c.week_start == _EARLIEST)


def _date(v: Any) -> dt.date:
    return v if isinstance(v, dt.date) else dt.date.fromisoformat(str(v)[:10])


def weekly(conn: Connection, orgunit_id: str, disease: str, since: dt.date, until: dt.date, *,
           start_day: int = 0) -> dict[dt.date, int]:
    """Cases by week start in ``[since, until]`` (week starts) of one org unit; absent weeks: none."""
    params = {"b_unit": orgunit_id, "b_disease": disease, "b_day": start_day, "b_since": since, "b_until": until}
    return {_date(w): int(n) for w, n in conn.execute(_WEEKLY, params)}


def first_onset(conn: Connection, orgunit_id: str, *, start_day: int = 0) -> dt.date | None:
    """Earliest onset reported in the org unit, any disease (its earliest week's cells only)."""
    v = conn.execute(_FIRST_ONSET, {"b_unit": orgunit_id, "b_day": start_day}).scalar()
    return _date(v) if v is not None else None


def cube_rows(conn: Connection, *, start_day: int = 0) -> Mapping[Cell, tuple[str, int, int, dt.date]]:
    """Every cell of ``start_day``: (level, cases, reports, first onset) — for checks and tests."""
    t = weekly_cube
    q = sa.select(t.c.orgunit_id, t.c.disease, t.c.week_start, t.c.level, t.c.cases, t.c.reports,
                  t.c.first_onset).where(t.c.start_day == start_day)
    return {(u, d, _date(w)): (lv, int(c), int(n), _date(f)) for u, d, w, lv, c, n, f in conn.execute(q)}
