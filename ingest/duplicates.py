"""Possible duplicates: the same content arriving under two idempotency keys.

Exact repeats (same client id, gateway message id or DHIS2 event UID) are caught by the unique
idempotency key and answered "duplicate". This module catches the other kind: the same event sent
through two channels (an SMS *and* the tablet) or entered twice. Two reports are *possible
duplicates* when

    same place ∧ same disease ∧ same onset_date ∧ same cases
    ∧ different idempotency keys ∧ |received_at₁ − received_at₂| ≤ window

where *same place* is the same org unit, or a site and its own health area (one report filed at
the CSCom, the other at the site). Both reports are kept and counted (merging could hide a real
second cluster); the pair is listed (``GET /api/v1/reports/possible-duplicates``) for a person to
confirm, and it feeds the duplicate rate of the data-quality indicators.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ingest.contracts import Report
from ingest.tables import possible_duplicates, reports


@dataclass(frozen=True)
class DuplicatePair:
    report_id: str
    duplicate_of: str
    district_id: str
    detected_at: dt.datetime
    status: str
    channels: tuple[str, str]
    orgunit_id: str
    disease: str
    onset_date: dt.date
    cases: int


def _utc(v: dt.datetime) -> dt.datetime:
    return v if v.tzinfo else v.replace(tzinfo=dt.timezone.utc)


def same_content(a: Report, b: Report, window: dt.timedelta) -> bool:
    """The rule above for two reports (``b`` the one stored before ``a``), in Python."""
    if a.orgunit_id == a.health_area_id:
        place = b.health_area_id == a.health_area_id
    else:
        place = b.orgunit_id in (a.orgunit_id, a.health_area_id)
    return (place and b.disease == a.disease and b.onset_date == a.onset_date and b.cases == a.cases
            and b.idempotency_key != a.idempotency_key and b.report_id != a.report_id
            and abs(b.received_at - a.received_at) <= window)


def stored_same_cells(conn: Connection, batch: Iterable[Report]) -> dict[tuple[str, str, dt.date], list[Report]]:
    """The stored reports of the batch's (health area, disease, onset) cells, one query per 300
    cells: every same-content candidate of a batch report is in its cell (same place implies the
    same health area)."""
    from ingest.repository import report_from_row

    cells = list(dict.fromkeys((r.health_area_id, r.disease, r.onset_date) for r in batch))
    out: dict[tuple[str, str, dt.date], list[Report]] = {c: [] for c in cells}
    for i in range(0, len(cells), 300):
        q = sa.select(reports).where(sa.tuple_(reports.c.health_area_id, reports.c.disease,
                                               reports.c.onset_date).in_(cells[i:i + 300]))
        for row in conn.execute(q):
            r = report_from_row(row)
            out[(r.health_area_id, r.disease, r.onset_date)].append(r)
    return out


def find_same_content(conn: Connection, report: Report, window: dt.timedelta,
                      pending: Iterable[Report] = (), stored: Iterable[Report] | None = None) -> list[str]:
    """Ids of stored reports with the same content as ``report`` received within ``window``;
    ``pending``: reports stored before it in this batch but not yet written (after the table's);
    ``stored``: the table's candidates already read (:func:`stored_same_cells`) instead of a query."""
    if stored is not None:
        return [p.report_id for group in (stored, pending) for p in group if same_content(report, p, window)]
    # same place: the same org unit, or one report filed at the health area and the other at one of
    # its sites (a CSCom nurse's tablet and a CHW's SMS about the same cases)
    if report.orgunit_id == report.health_area_id:
        same_place = reports.c.health_area_id == report.health_area_id
    else:
        same_place = sa.or_(reports.c.orgunit_id == report.orgunit_id,
                            reports.c.orgunit_id == report.health_area_id)
    q = sa.select(reports.c.report_id, reports.c.received_at).where(
        same_place,
        reports.c.disease == report.disease,
        reports.c.onset_date == report.onset_date,
        reports.c.cases == report.cases,
        reports.c.idempotency_key != report.idempotency_key,
        reports.c.report_id != report.report_id,
    )
    out = []
    for rid, received in conn.execute(q):
        if abs(_utc(received) - report.received_at) <= window:
            out.append(rid)
    return out + [p.report_id for p in pending if same_content(report, p, window)]


def record_possible_duplicates(conn: Connection, report: Report, window: dt.timedelta,
                               now: dt.datetime, pending: Iterable[Report] = (),
                               stored: Iterable[Report] | None = None) -> list[str]:
    """Flag ``report`` against every same-content report in the window; returns their ids."""
    others = find_same_content(conn, report, window, pending, stored)
    pd = possible_duplicates
    for other in others:
        # idempotent, in either direction: a stream worker storing both reports in one batch sees
        # each from the other, and a redelivered batch records its notes again
        known = conn.execute(sa.select(sa.literal(1)).where(sa.or_(
            (pd.c.report_id == report.report_id) & (pd.c.duplicate_of == other),
            (pd.c.report_id == other) & (pd.c.duplicate_of == report.report_id)))).first()
        if known is None:
            conn.execute(pd.insert().values(report_id=report.report_id, duplicate_of=other,
                                            district_id=report.district_id, detected_at=now))
    return others


def list_possible_duplicates(conn: Connection, *, district_ids: list[str] | None = None,
                             status: str | None = "open", limit: int = 100, offset: int = 0) -> list[DuplicatePair]:
    a = reports.alias("a")
    b = reports.alias("b")
    pd = possible_duplicates
    q = (sa.select(pd, a.c.channel.label("ch_a"), b.c.channel.label("ch_b"), a.c.orgunit_id, a.c.disease,
                   a.c.onset_date, a.c.cases)
         .join(a, a.c.report_id == pd.c.report_id).join(b, b.c.report_id == pd.c.duplicate_of)
         .order_by(pd.c.detected_at.desc()).limit(limit).offset(offset))
    if district_ids is not None:
        q = q.where(pd.c.district_id.in_(district_ids))
    if status:
        q = q.where(pd.c.status == status)
    return [DuplicatePair(report_id=r.report_id, duplicate_of=r.duplicate_of, district_id=r.district_id,
                          detected_at=_utc(r.detected_at), status=r.status, channels=(r.ch_a, r.ch_b),
                          orgunit_id=r.orgunit_id, disease=r.disease, onset_date=r.onset_date, cases=r.cases)
            for r in conn.execute(q)]


def set_duplicate_status(conn: Connection, report_id: str, duplicate_of: str, status: str) -> bool:
    if status not in ("open", "confirmed", "distinct"):
        raise ValueError(f"unknown duplicate status {status!r}")
    n = conn.execute(possible_duplicates.update().where(
        (possible_duplicates.c.report_id == report_id) & (possible_duplicates.c.duplicate_of == duplicate_of)
    ).values(status=status)).rowcount
    return bool(n)
