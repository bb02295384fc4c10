"""Possible duplicates: the same content arriving under two idempotency keys.

Exact repeats (same client id, gateway message id or DHIS2 event UID) are caught by the unique
idempotency key and answered "duplicate". This module catches the other kind: the same event sent
through two channels (an SMS *and* the tablet) or entered twice. Two reports are *possible
duplicates* when

    same place ∧ same disease ∧ same onset_date ∧ same cases
    ∧ different idempotency keys ∧ |received_at₁ − received_at₂| ≤ window

where *same place* is the same org unit, or a site and its own health area (one report filed at
the CSCom, the other at the site). Both reports are kept (merging could hide a real second
cluster); the pair is listed (``GET /api/v1/reports/possible-duplicates``) for a person to
confirm, and it feeds the duplicate rate of the data-quality indicators.

**Cross-channel** possible duplicates — one report by SMS, the other by DHIS2 (a CHW who sends
the SMS and later enters the same cases on the tablet) — are matched more widely, since a tablet
syncs days later:

    same CHW ∧ same disease ∧ same cases ∧ |onset₁ − onset₂| ≤ window ∧ one sms, one dhis2

(*same CHW*: the same ``reporter`` when both name one, else the same place). The later report
is **held** out of the counts (state ``held``) until a person decides: confirmed → it stays out
for good (``duplicate``), dismissed (``distinct``) → it counts (``released``), both through
:func:`ingest.corrections.revise_report`, by :func:`decide_possible_duplicate`.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ingest.contracts import Channel, Report
from ingest.corrections import Revision, revise_report
from ingest.errors import DomainError
from ingest.tables import possible_duplicates, reports

CROSS_CHANNEL = {Channel.sms.value: Channel.dhis2.value, Channel.dhis2.value: Channel.sms.value}
DECISIONS = ("confirmed", "distinct")


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
    report_state: str = "active"      # the state of ``report_id`` (``held`` while a cross-channel pair waits)
    decided_at: dt.datetime | None = None
    decided_by: str | None = None

    @property
    def cross_channel(self) -> bool:
        return CROSS_CHANNEL.get(self.channels[0]) == self.channels[1]


def _utc(v: dt.datetime) -> dt.datetime:
    return v if v.tzinfo else v.replace(tzinfo=dt.timezone.utc)


def _same_place(report: Report) -> sa.ColumnElement[bool]:
    # the same org unit, or one report filed at the health area and the other at one of its sites
    # (a CSCom nurse's tablet and a CHW's SMS about the same cases); both are in its health area,
    # which the test names too so that the read uses the (health area, disease, onset) index
    if report.orgunit_id == report.health_area_id:
        return reports.c.health_area_id == report.health_area_id
    return sa.and_(reports.c.health_area_id == report.health_area_id,
                   sa.or_(reports.c.orgunit_id == report.orgunit_id, reports.c.orgunit_id == report.health_area_id))


def _same_place_py(a: Report, b: Report) -> bool:
    """:func:`_same_place` of ``a`` for a report ``b`` in hand."""
    if a.orgunit_id == a.health_area_id:
        return b.health_area_id == a.health_area_id
    return b.health_area_id == a.health_area_id and b.orgunit_id in (a.orgunit_id, a.health_area_id)


def same_content(a: Report, b: Report, window: dt.timedelta) -> bool:
    """:func:`find_same_content`'s rule for two reports in hand (``b`` stored before ``a``)."""
    return (b.state in ("active", "held") and _same_place_py(a, b) and b.disease == a.disease
            and b.onset_date == a.onset_date and b.cases == a.cases
            and b.idempotency_key != a.idempotency_key and b.report_id != a.report_id
            and abs(b.received_at - a.received_at) <= window)


def cross_channel(a: Report, b: Report, window: dt.timedelta) -> bool:
    """:func:`find_cross_channel`'s rule for two reports in hand (``b`` stored before ``a``)."""
    other = CROSS_CHANNEL.get(a.channel.value)
    if other is None or b.channel.value != other or b.state != "active" or b.report_id == a.report_id:
        return False
    same_chw = (b.reporter == a.reporter or (b.reporter is None and _same_place_py(a, b))) if a.reporter \
        else _same_place_py(a, b)
    days = dt.timedelta(days=window.days)
    return (same_chw and b.district_id == a.district_id and b.disease == a.disease and b.cases == a.cases
            and abs(b.onset_date - a.onset_date) <= days)


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


def find_cross_channel(conn: Connection, report: Report, window: dt.timedelta,
                       pending: Iterable[Report] = ()) -> list[str]:
    """Ids of counted reports of the *other* channel (SMS for a DHIS2 report and back) by the same
    CHW, in the same district, with the same disease and cases and an onset within ``window`` of
    ``report``'s;
    ``pending``: reports stored before it in this batch but not yet written (after the table's)."""
    other = CROSS_CHANNEL.get(report.channel.value)
    if other is None:
        return []
    days = dt.timedelta(days=window.days)
    same_chw = (sa.or_(reports.c.reporter == report.reporter,
                       sa.and_(reports.c.reporter.is_(None), _same_place(report)))
                if report.reporter else _same_place(report))
    q = sa.select(reports.c.report_id).where(
        reports.c.channel == other, reports.c.state == "active", same_chw,
        reports.c.district_id == report.district_id,  # a CHW reports in one district (and the index)
        reports.c.disease == report.disease, reports.c.cases == report.cases,
        reports.c.onset_date >= report.onset_date - days, reports.c.onset_date <= report.onset_date + days,
        reports.c.report_id != report.report_id,
    ).order_by(reports.c.received_at)
    return list(conn.execute(q).scalars()) + [p.report_id for p in pending if cross_channel(report, p, window)]


def find_same_content(conn: Connection, report: Report, window: dt.timedelta,
                      pending: Iterable[Report] = (), stored: Iterable[Report] | None = None) -> list[str]:
    """Ids of stored reports with the same content as ``report`` received within ``window``;
    ``pending``: reports stored before it in this batch but not yet written (after the table's);
    ``stored``: the table's candidates already read (:func:`stored_same_cells`) instead of a query."""
    if stored is not None:
        return [p.report_id for group in (stored, pending) for p in group if same_content(report, p, window)]
    q = sa.select(reports.c.report_id, reports.c.received_at).where(
        reports.c.state.in_(("active", "held")),
        _same_place(report),
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
                               stored: Iterable[Report] | None = None,
                               cross: Iterable[str] | None = None) -> list[str]:
    """Flag ``report`` against every same-content report in the window, and every cross-channel
    match (``cross`` when the caller found them already, else :func:`find_cross_channel`); returns
    their ids. ``pending``, ``stored``: as :func:`find_same_content`."""
    if cross is None:
        cross = find_cross_channel(conn, report, window, pending)
    others = list(dict.fromkeys(find_same_content(conn, report, window, pending, stored) + list(cross)))
    if not others:
        return others
    pd = possible_duplicates
    # idempotent, in either direction: a stream worker storing both reports in one batch sees each
    # from the other, and a redelivered batch records its notes again (one read, one insert)
    known = set()
    for a, b in conn.execute(sa.select(pd.c.report_id, pd.c.duplicate_of).where(sa.or_(
            (pd.c.report_id == report.report_id) & pd.c.duplicate_of.in_(others),
            pd.c.report_id.in_(others) & (pd.c.duplicate_of == report.report_id)))):
        known.add(b if a == report.report_id else a)
    new = [{"report_id": report.report_id, "duplicate_of": o, "district_id": report.district_id, "detected_at": now}
           for o in others if o not in known]
    if new:
        conn.execute(pd.insert(), new)
    return others


def list_possible_duplicates(conn: Connection, *, district_ids: list[str] | None = None,
                             status: str | None = "open", limit: int = 100, offset: int = 0) -> list[DuplicatePair]:
    a = reports.alias("a")
    b = reports.alias("b")
    pd = possible_duplicates
    q = (sa.select(pd, a.c.channel.label("ch_a"), b.c.channel.label("ch_b"), a.c.orgunit_id, a.c.disease,
                   a.c.onset_date, a.c.cases, a.c.state.label("report_state"))
         .join(a, a.c.report_id == pd.c.report_id).join(b, b.c.report_id == pd.c.duplicate_of)
         .order_by(pd.c.detected_at.desc()).limit(limit).offset(offset))
    if district_ids is not None:
        q = q.where(pd.c.district_id.in_(district_ids))
    if status:
        q = q.where(pd.c.status == status)
    return [DuplicatePair(report_id=r.report_id, duplicate_of=r.duplicate_of, district_id=r.district_id,
                          detected_at=_utc(r.detected_at), status=r.status, channels=(r.ch_a, r.ch_b),
                          orgunit_id=r.orgunit_id, disease=r.disease, onset_date=_day(r.onset_date),
                          cases=r.cases, report_state=r.report_state,
                          decided_at=_utc(r.decided_at) if r.decided_at else None, decided_by=r.decided_by)
            for r in conn.execute(q)]


def _day(v: object) -> dt.date:
    return v if isinstance(v, dt.date) else dt.date.fromisoformat(str(v))


def pending_possible_duplicates(conn: Connection, *, district_ids: list[str] | None = None,
                                cross_channel_only: bool = False, limit: int = 100,
                                offset: int = 0) -> list[DuplicatePair]:
    """Open pairs, newest first: what waits for a person (the console's queue). ``cross_channel_only``
    keeps the pairs whose report is held out of the counts."""
    pairs = list_possible_duplicates(conn, district_ids=district_ids, status="open", limit=limit, offset=offset)
    return [p for p in pairs if p.cross_channel] if cross_channel_only else pairs


def decide_possible_duplicate(conn: Connection, report_id: str, duplicate_of: str, decision: str, *,
                              by: str, now: dt.datetime, epiweek_start_day: int = 0) -> Revision | None:
    """Confirm (``confirmed``) or dismiss (``distinct``) one pair, in the caller's transaction.

    Confirmed: ``report_id`` is a duplicate and stops counting for good. Dismissed: a held report
    counts again once no other open cross-channel pair holds it. The revision (None when the
    counts do not change) is what the pipeline passes on to the alerts' timeline. Raises
    ``duplicate.not_found`` (404) or ``duplicate.decided`` (409: decided already)."""
    if decision not in DECISIONS:
        raise ValueError(f"unknown decision {decision!r}")
    pd = possible_duplicates
    pair = (pd.c.report_id == report_id) & (pd.c.duplicate_of == duplicate_of)
    status = conn.execute(sa.select(pd.c.status).where(pair)).scalar_one_or_none()
    if status is None:
        raise DomainError("duplicate.not_found", "no such possible-duplicate pair", status=404)
    if status != "open":
        raise DomainError("duplicate.decided", f"the pair was already decided ({status})", status=409,
                          decision=status)
    conn.execute(pd.update().where(pair, pd.c.status == "open").values(status=decision, decided_at=now,
                                                                          decided_by=by[:100]))
    state = conn.execute(sa.select(reports.c.state).where(reports.c.report_id == report_id)).scalar_one()
    if decision == "confirmed" and state in ("active", "held"):
        return revise_report(conn, report_id, "duplicate", now=now, by=by, epiweek_start_day=epiweek_start_day,
                             reason=f"duplicate of {duplicate_of}")
    if decision == "distinct" and state == "held":
        a, b = reports.alias("a"), reports.alias("b")
        still = conn.execute(
            sa.select(sa.func.count()).select_from(pd.join(a, a.c.report_id == pd.c.report_id)
                                                   .join(b, b.c.report_id == pd.c.duplicate_of))
            .where(pd.c.report_id == report_id, pd.c.status == "open", a.c.channel != b.c.channel,
                   a.c.channel.in_(tuple(CROSS_CHANNEL)), b.c.channel.in_(tuple(CROSS_CHANNEL)))).scalar_one()
        if not still:
            return revise_report(conn, report_id, "released", now=now, by=by,
                                 epiweek_start_day=epiweek_start_day, reason=f"not a duplicate of {duplicate_of}")
    return None


def set_duplicate_status(conn: Connection, report_id: str, duplicate_of: str, status: str) -> bool:
    """The pair's status alone (no effect on counts): prefer :func:`decide_possible_duplicate`."""
    if status not in ("open", "confirmed", "distinct"):
        raise ValueError(f"unknown duplicate status {status!r}")
    n = conn.execute(possible_duplicates.update().where(
        (possible_duplicates.c.report_id == report_id) & (possible_duplicates.c.duplicate_of == duplicate_of)
    ).values(status=status)).rowcount
    return bool(n)
