"""All SQL of the detectors stage: read reports, the weekly cube and historical weekly counts.

Statistical detectors read their series from ingest's weekly cube (:mod:`ingest.cube`, one row per
week) and only the days of a week that alarmed from ``reports``; case-definition rules read the
reports of their window.

Read-only over ``reports`` (ingest's table; detectors sit downstream of ingest), counting the
``active`` rows only (:data:`ingest.tables.COUNTED`: not retracted, not a held or confirmed
duplicate). Historical weekly
counts come from ingest's ``history_counts(conn, orgunit_id, disease)`` when that repository
function exists (CSV uploads of weekly counts from before SEBAC); without it history is empty.
"""
from __future__ import annotations

import datetime as dt
import importlib
from typing import Any, Callable, Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from detectors.epiweek import EpiWeek
from ingest import cube
from ingest.tables import COUNTED, reports, weekly_counts_history

_COLUMN = {"health_area": reports.c.health_area_id, "district": reports.c.district_id}
SUPPORTED_LEVELS = tuple(_COLUMN)
# the statements of the hot reads, built once (their values are bound at each call)
_B = sa.bindparam
_IN_WINDOW = (COUNTED, reports.c.disease == _B("b_disease"), reports.c.onset_date >= _B("b_since"),
              reports.c.onset_date <= _B("b_until"))
_ALL_CASE_ROWS = sa.select(reports.c.report_id, reports.c.orgunit_id, reports.c.health_area_id, reports.c.district_id,
                           reports.c.onset_date, reports.c.cases, reports.c.received_at).where(*_IN_WINDOW)
_CASE_ROWS = {None: _ALL_CASE_ROWS} | {lv: _ALL_CASE_ROWS.where(col == _B("b_unit")) for lv, col in _COLUMN.items()}
#: a signal's order of its reports (detectors.rules.base.signal_order), as columns of a case row
SIGNAL_ORDER = ("onset_date", "received_at", "report_id")
_FIRST_CASE_ROWS = {lv: q.order_by(*(reports.c[c] for c in SIGNAL_ORDER)).limit(_B("b_limit"))
                    for lv, q in _CASE_ROWS.items() if lv is not None}
_DAILY = {lv: sa.select(reports.c.onset_date, sa.func.sum(reports.c.cases)).where(*_IN_WINDOW, col == _B("b_unit"))
          .group_by(reports.c.onset_date) for lv, col in _COLUMN.items()}


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def _date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def _case_rows(conn: Connection, q: Any, params: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for r in conn.execute(q, params):
        d = dict(r._mapping)
        d["received_at"] = _utc(d["received_at"])
        d["onset_date"] = _date(d["onset_date"])
        out.append(d)
    return out


class DetectorRepository:
    """``start_day``: the epi week start of the weekly cube read by :meth:`weekly_cases` and
    :meth:`observed_since` (the raw-report reads :meth:`daily_cases` and :meth:`first_onset` give the
    same figures from ``reports``; they stay for one week's days and for checks)."""

    def __init__(self, start_day: int = 0):
        self.start_day = start_day

    def case_rows(self, conn: Connection, disease: str, since: dt.date, until: dt.date, *,
                  level: str | None = None, orgunit_id: str | None = None) -> list[dict[str, Any]]:
        """Reports of ``disease`` with onset in ``[since, until]``, in one org unit or everywhere."""
        params = {"b_disease": disease, "b_since": since, "b_until": until, "b_unit": orgunit_id}
        return _case_rows(conn, _CASE_ROWS[level], params)

    def first_case_rows(self, conn: Connection, disease: str, since: dt.date, until: dt.date, *, level: str,
                        orgunit_id: str, limit: int) -> list[dict[str, Any]]:
        """The first ``limit`` rows of :meth:`case_rows` in a signal's order (onset, receipt, id):
        what a signal names when its rule decided from the weekly cube (the index on (unit, disease,
        onset) gives them in onset order; only the ties are sorted)."""
        params = {"b_disease": disease, "b_since": since, "b_until": until, "b_unit": orgunit_id, "b_limit": limit}
        return _case_rows(conn, _FIRST_CASE_ROWS[level], params)

    def daily_cases(self, conn: Connection, level: str, orgunit_id: str, disease: str,
                    since: dt.date, until: dt.date) -> dict[dt.date, int]:
        """Cases by onset day in one org unit (one row per day: cheap for long baselines)."""
        params = {"b_disease": disease, "b_since": since, "b_until": until, "b_unit": orgunit_id}
        return {_date(d): int(n or 0) for d, n in conn.execute(_DAILY[level], params)}

    def first_onset(self, conn: Connection, level: str, orgunit_id: str,
                    without: Sequence[str] = ()) -> dt.date | None:
        """Earliest onset reported in the org unit for any disease: surveillance there starts then
        (later weeks without reports are true zeros; earlier weeks are unknown, not zero).
        ``without``: report ids left out (reports of a batch stored after the one evaluated)."""
        q = sa.select(sa.func.min(reports.c.onset_date)).where(COUNTED, _COLUMN[level] == orgunit_id)
        if without:
            q = q.where(reports.c.report_id.not_in(list(without)))
        v = conn.execute(q).scalar()
        return _date(v) if v is not None else None

    def weekly_cases(self, conn: Connection, level: str, orgunit_id: str, disease: str,
                     since: dt.date, until: dt.date) -> dict[dt.date, int]:
        """Cases by week start (``since``..``until`` are week starts) in one org unit, from the cube:
        one row per week whatever the number of reports."""
        return cube.weekly(conn, orgunit_id, disease, since, until, start_day=self.start_day)

    def observed_since(self, conn: Connection, level: str, orgunit_id: str) -> dt.date | None:
        """:meth:`first_onset` read from the cube (its earliest week's cells only)."""
        if level not in _COLUMN:
            return self.first_onset(conn, level, orgunit_id)
        return cube.first_onset(conn, orgunit_id, start_day=self.start_day)

    def history(self, conn: Connection, orgunit_id: str, disease: str) -> dict[EpiWeek, int]:
        """Historical weekly counts of one org unit: ingest's ``history_counts`` when it exists,
        else the ``weekly_counts_history`` table directly (ISO year/week), else nothing."""
        fn = history_function()
        if fn is not None:
            return normalise_history(fn(conn, orgunit_id, disease))
        table = getattr(importlib.import_module("ingest.tables"), "weekly_counts_history", None)
        if table is None:
            return {}
        q = sa.select(table.c.iso_year, table.c.iso_week, table.c["count"]).where(
            table.c.area_id == orgunit_id, table.c.disease == disease)
        return {EpiWeek(int(y), int(w)): int(n) for y, w, n in conn.execute(q)}

    def history_since(self, conn: Connection, orgunit_id: str, disease: str, since: EpiWeek
                      ) -> tuple[EpiWeek | None, dict[EpiWeek, int]]:
        """The first historical week of one org unit (None: no history) and its counts from
        ``since`` on: two reads on the primary key, whatever the years loaded."""
        t = weekly_counts_history
        where = (t.c.area_id == orgunit_id, t.c.disease == disease)
        first = conn.execute(sa.select(t.c.iso_year, t.c.iso_week).where(*where)
                             .order_by(t.c.iso_year, t.c.iso_week).limit(1)).first()
        if first is None:
            return None, {}
        q = sa.select(t.c.iso_year, t.c.iso_week, t.c["count"]).where(
            *where, sa.or_(t.c.iso_year > since.year, (t.c.iso_year == since.year) & (t.c.iso_week >= since.week)))
        return EpiWeek(int(first[0]), int(first[1])), {EpiWeek(int(y), int(w)): int(n) for y, w, n in conn.execute(q)}

    def history_sum_since(self, conn: Connection, orgunit_ids: Iterable[str], disease: str, since: EpiWeek
                          ) -> tuple[EpiWeek | None, dict[EpiWeek, int]]:
        """:meth:`history_since` summed over org units (a district from its health areas)."""
        first: EpiWeek | None = None
        out: dict[EpiWeek, int] = {}
        for oid in orgunit_ids:
            f, counts = self.history_since(conn, oid, disease, since)
            if f is not None:
                first = f if first is None else min(first, f)
            for w, n in counts.items():
                out[w] = out.get(w, 0) + n
        return first, out

    def history_sum(self, conn: Connection, orgunit_ids: Iterable[str], disease: str) -> dict[EpiWeek, int]:
        out: dict[EpiWeek, int] = {}
        for oid in orgunit_ids:
            for w, n in self.history(conn, oid, disease).items():
                out[w] = out.get(w, 0) + n
        return out


def history_function() -> Callable[..., Any] | None:
    """ingest's ``history_counts`` repository function, wherever it lives, or None."""
    for module in ("ingest.history", "ingest.repository"):
        try:
            mod = importlib.import_module(module)
        except ImportError:
            continue
        fn = getattr(mod, "history_counts", None)
        if callable(fn):
            return fn
    return None


def _week(value: Any) -> EpiWeek:
    if isinstance(value, EpiWeek):
        return value
    if isinstance(value, tuple) and len(value) == 2:
        return EpiWeek(int(value[0]), int(value[1]))
    return EpiWeek.parse(str(value))


def normalise_history(raw: Any) -> dict[EpiWeek, int]:
    """Accept ``[(iso_year, iso_week, count)]`` (``ingest.history.history_counts``), ``{week: count}``
    or rows/objects with ``epiweek``/``week`` (``2024-W07``,
    ``EpiWeek`` or ``(year, week)``) or ``year``+``week`` fields, and a ``count``/``cases``."""
    if raw is None:
        return {}
    if isinstance(raw, list) and all(type(i) is tuple and len(i) == 3 for i in raw):
        fast: dict[EpiWeek, int] = {}  # ingest.history's rows: the common case, without the checks below
        for y, w, n in raw:
            k = EpiWeek(int(y), int(w))
            fast[k] = fast.get(k, 0) + int(n)
        return fast
    items: Iterable[Any] = raw.items() if isinstance(raw, dict) else raw
    out: dict[EpiWeek, int] = {}
    wk: Any  # an EpiWeek, a "2024-W07" string or a (year, week) pair, resolved by _week
    for item in items:
        if isinstance(item, tuple) and len(item) == 3 and not hasattr(item, "_mapping"):
            wk, n = (item[0], item[1]), item[2]          # ingest.history: (iso_year, iso_week, count)
        elif isinstance(item, tuple) and len(item) == 2 and not hasattr(item, "_mapping"):
            wk, n = item
        else:
            m = dict(item._mapping) if hasattr(item, "_mapping") else (
                item if isinstance(item, dict) else vars(item))
            n = m.get("count", m.get("cases"))
            if m.get("epiweek") is not None:
                wk = m["epiweek"]
            elif "year" in m and "week" in m:
                wk = (m["year"], m["week"])
            else:
                wk = m.get("week")
        w = _week(wk)
        out[w] = out.get(w, 0) + int(n)
    return out
