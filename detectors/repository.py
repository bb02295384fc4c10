"""All SQL of the detectors stage: read reports (and historical weekly counts) by event time.

Read-only over ``reports`` (ingest's table; detectors sit downstream of ingest), counting the
``active`` rows only (:data:`ingest.tables.COUNTED`: not retracted, not a held or confirmed
duplicate). Historical weekly
counts come from ingest's ``history_counts(conn, orgunit_id, disease)`` when that repository
function exists (CSV uploads of weekly counts from before SEBAC); without it history is empty.
"""
from __future__ import annotations

import datetime as dt
import importlib
from typing import Any, Callable, Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from detectors.epiweek import EpiWeek
from ingest.tables import COUNTED, reports

_COLUMN = {"health_area": reports.c.health_area_id, "district": reports.c.district_id}
SUPPORTED_LEVELS = tuple(_COLUMN)


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def _date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


class DetectorRepository:
    def case_rows(self, conn: Connection, disease: str, since: dt.date, until: dt.date, *,
                  level: str | None = None, orgunit_id: str | None = None) -> list[dict[str, Any]]:
        """Reports of ``disease`` with onset in ``[since, until]``, in one org unit or everywhere."""
        q = sa.select(reports.c.report_id, reports.c.orgunit_id, reports.c.health_area_id,
                      reports.c.district_id, reports.c.onset_date, reports.c.cases, reports.c.received_at
                      ).where(COUNTED, reports.c.disease == disease, reports.c.onset_date >= since,
                              reports.c.onset_date <= until)
        if level is not None:
            q = q.where(_COLUMN[level] == orgunit_id)
        out = []
        for r in conn.execute(q):
            d = dict(r._mapping)
            d["received_at"] = _utc(d["received_at"])
            d["onset_date"] = _date(d["onset_date"])
            out.append(d)
        return out

    def daily_cases(self, conn: Connection, level: str, orgunit_id: str, disease: str,
                    since: dt.date, until: dt.date) -> dict[dt.date, int]:
        """Cases by onset day in one org unit (one row per day: cheap for long baselines)."""
        col = _COLUMN[level]
        q = (sa.select(reports.c.onset_date, sa.func.sum(reports.c.cases))
             .where(COUNTED, col == orgunit_id, reports.c.disease == disease,
                    reports.c.onset_date >= since, reports.c.onset_date <= until)
             .group_by(reports.c.onset_date))
        return {_date(d): int(n or 0) for d, n in conn.execute(q)}

    def first_onset(self, conn: Connection, level: str, orgunit_id: str) -> dt.date | None:
        """Earliest onset reported in the org unit for any disease: surveillance there starts then
        (later weeks without reports are true zeros; earlier weeks are unknown, not zero)."""
        v = conn.execute(sa.select(sa.func.min(reports.c.onset_date))
                         .where(COUNTED, _COLUMN[level] == orgunit_id)).scalar()
        return _date(v) if v is not None else None

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
