"""The re-evaluation queue: (health area, disease, epi week) cells that late data changed.

Ingest marks a cell when it stores a late report (:func:`mark_for_reevaluation`); the detectors
stage pops due cells (:func:`pop_due`) and re-runs its detectors on them. Marking twice is harmless:
the cell keeps its first ``marked_at`` (so a steady trickle of late reports cannot postpone it
forever) and counts the reports. Popping deletes the rows inside the caller's transaction, so a
crash before commit leaves them queued (at-least-once; detectors are idempotent by dedup key).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ingest.tables import reevaluation_queue, upsert_into


@dataclass(frozen=True)
class ReevaluationItem:
    area_id: str
    disease: str
    epiweek: str  # "2026-W45"
    marked_at: dt.datetime
    reason: str
    report_count: int = 1


def _utc(v: dt.datetime) -> dt.datetime:
    return v if v.tzinfo else v.replace(tzinfo=dt.timezone.utc)


def _item(row) -> ReevaluationItem:
    d = dict(row._mapping)
    d["marked_at"] = _utc(d["marked_at"])
    return ReevaluationItem(**d)


_q = reevaluation_queue
_BUMP = _q.update().where(_q.c.area_id == sa.bindparam("b_area"), _q.c.disease == sa.bindparam("b_disease"),
                          _q.c.epiweek == sa.bindparam("b_week")).values(report_count=_q.c.report_count + 1)


def mark_for_reevaluation(conn: Connection, area_id: str, disease: str, epiweek: str, *,
                          now: dt.datetime, reason: str) -> None:
    """Queue one cell (idempotent: a second mark only increments ``report_count``)."""
    key = {"b_area": area_id, "b_disease": disease, "b_week": epiweek}
    if conn.execute(_BUMP, key).rowcount:
        return
    try:
        with conn.begin_nested():
            conn.execute(_q.insert(), {"area_id": area_id, "disease": disease, "epiweek": epiweek,
                                       "marked_at": now, "reason": reason[:200]})
    except sa.exc.IntegrityError:  # a concurrent writer queued it first
        conn.execute(_BUMP, key)


def mark_many(conn: Connection, marks: Mapping[tuple[str, str, str], tuple[str, int]], *, now: dt.datetime) -> None:
    """:func:`mark_for_reevaluation` of many cells at once, (area, disease, week) → (reason of its first
    mark, number of marks), in one ``INSERT … ON CONFLICT``: a queued cell keeps its ``marked_at`` and
    reason and counts the reports."""
    if not marks:
        return
    ins, _ = upsert_into(conn, reevaluation_queue)
    stmt = ins.on_conflict_do_update(index_elements=["area_id", "disease", "epiweek"],
                                     set_={"report_count": _q.c.report_count + ins.excluded.report_count})
    conn.execute(stmt, [{"area_id": a, "disease": d, "epiweek": w, "marked_at": now, "reason": reason[:200],
                         "report_count": n} for (a, d, w), (reason, n) in marks.items()])


def pending(conn: Connection, limit: int = 1000) -> list[ReevaluationItem]:
    """Queued cells, oldest first (read-only)."""
    q = sa.select(reevaluation_queue).order_by(reevaluation_queue.c.marked_at).limit(limit)
    return [_item(r) for r in conn.execute(q)]


def pop_due(conn: Connection, now: dt.datetime | None = None, *, settle: dt.timedelta = dt.timedelta(0),
            limit: int = 1000) -> list[ReevaluationItem]:
    """Remove and return the cells marked at least ``settle`` before ``now`` (all when ``now`` is None).

    ``settle`` lets a burst of late reports (a tablet syncing a week of data) land before the
    detectors re-run the week once.
    """
    t = reevaluation_queue  # ties broken by the key: a batch popping n·k cells pops what n pops of k would
    q = sa.select(t).order_by(t.c.marked_at, t.c.area_id, t.c.disease, t.c.epiweek).limit(limit)
    if now is not None:
        q = q.where(reevaluation_queue.c.marked_at <= now - settle)
    items = [_item(r) for r in conn.execute(q)]
    for it in items:
        conn.execute(reevaluation_queue.delete().where(
            (reevaluation_queue.c.area_id == it.area_id) & (reevaluation_queue.c.disease == it.disease)
            & (reevaluation_queue.c.epiweek == it.epiweek)))
    return items
