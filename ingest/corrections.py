"""Revising a stored report: the one function that changes a report row after intake.

A report row changes in five ways, all through :func:`revise_report` (so that whatever keeps
derived counts — the weekly cube (:mod:`ingest.cube`) and the detectors' queries — has one place
to hook into, and one value, :class:`Revision`, that says what changed):

============  ==============================  ====================================================
change        from state                      effect
============  ==============================  ====================================================
corrected     active, held                    new content (a DHIS2 event seen again with a later
                                              ``updatedAt``, or re-sent with UPDATE); same state
retracted     active, held, duplicate         state ``retracted`` (a DHIS2 event deleted)
held          active                          state ``held`` (a cross-channel possible duplicate)
released      held                            state ``active`` (the pair was dismissed)
duplicate     active, held                    state ``duplicate`` (the pair was confirmed)
============  ==============================  ====================================================

Only ``active`` reports count (:data:`ingest.tables.COUNTED`). Every revision bumps ``version``
and keeps the replaced version, content as it was, in ``report_versions``: nothing is physically
lost, and the history of a report can be listed (:func:`report_history`). The (health area,
disease, epi week) cells whose counts changed — the old one and the new one when a correction
moved the onset — are queued for re-evaluation (:mod:`ingest.reevaluation`).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ingest.contracts import Report
from ingest.cube import apply_report_delta
from ingest.epiweek import epiweek
from ingest.errors import DomainError
from ingest.reevaluation import mark_for_reevaluation
from ingest.repository import report_from_row
from ingest.tables import report_versions, reports

# change -> (states it may start from, state it leaves; None keeps the state)
CHANGES: dict[str, tuple[frozenset[str], str | None]] = {
    "corrected": (frozenset({"active", "held"}), None),
    "retracted": (frozenset({"active", "held", "duplicate"}), "retracted"),
    "held": (frozenset({"active"}), "held"),
    "released": (frozenset({"held"}), "active"),
    "duplicate": (frozenset({"active", "held"}), "duplicate"),
}
# what a correction may replace (never the ids, the channel or the time of first receipt)
CONTENT = ("orgunit_id", "health_area_id", "district_id", "disease", "cases", "deaths", "sex", "age_group",
           "onset_date", "report_date", "reporter", "text")


@dataclass(frozen=True)
class Revision:
    """What one revision did. A count keeper subtracts ``before`` when ``before.counted`` and adds
    ``after`` when ``after.counted`` (cells: health area or district, disease, onset week)."""

    change: str
    before: Report
    after: Report
    marked: tuple[tuple[str, str, str], ...]  # (health area, disease, epi week) cells queued

    @property
    def counts_changed(self) -> bool:
        if self.before.counted != self.after.counted:
            return True
        return self.after.counted and not same_content(self.before, self.after)


def same_content(a: Report, b: Report) -> bool:
    return all(getattr(a, f) == getattr(b, f) for f in CONTENT)


def _cell(report: Report, start_day: int) -> tuple[str, str, str]:
    return report.health_area_id, report.disease, str(epiweek(report.onset_date, start_day))


def revise_report(conn: Connection, report_id: str, change: str, *, now: dt.datetime,
                  content: Report | None = None, source_updated_at: str | None = None, by: str | None = None,
                  reason: str = "", epiweek_start_day: int = 0) -> Revision:
    """Apply one ``change`` (see the module table) to the stored report ``report_id``, in the
    caller's transaction. ``content`` (a validated :class:`Report`) is the new version of a
    correction; its ids, channel and receipt time are ignored. Raises :class:`DomainError`
    ``report.not_found`` (404), ``report.revision.state`` (409: e.g. correcting a retracted report)
    or ``report.revision.conflict`` (409: a concurrent revision of the same version)."""
    if change not in CHANGES:
        raise ValueError(f"unknown change {change!r}")
    if (change == "corrected") != (content is not None):
        raise ValueError("a correction, and only a correction, carries content")
    q = sa.select(reports).where(reports.c.report_id == report_id)
    row = conn.execute(q.with_for_update() if conn.dialect.name == "postgresql" else q).first()
    if row is None:
        raise DomainError("report.not_found", f"no report {report_id}", status=404, report_id=report_id)
    before = report_from_row(row)
    allowed, target = CHANGES[change]
    if before.state not in allowed:
        raise DomainError("report.revision.state", f"a {before.state} report cannot be {change}", status=409,
                          state=before.state, change=change)
    update: dict[str, Any] = {"version": before.version + 1, "state": target or before.state}
    if content is not None:
        update |= {f: getattr(content, f) for f in CONTENT}
    if source_updated_at is not None:
        update["source_updated_at"] = source_updated_at
    after = before.model_copy(update=update)
    try:
        with conn.begin_nested():
            conn.execute(report_versions.insert().values(
                report_id=report_id, version=before.version, change=change, at=now, by=by, reason=reason[:200],
                before=before.model_dump(mode="json")))
    except sa.exc.IntegrityError:
        raise DomainError("report.revision.conflict", "the report was revised concurrently", status=409,
                          report_id=report_id) from None
    values = {k: (v.value if hasattr(v, "value") else v) for k, v in update.items()}
    done = conn.execute(reports.update().where(reports.c.report_id == report_id,
                                               reports.c.version == before.version).values(**values)).rowcount
    if done != 1:  # pragma: no cover - the versions' primary key refuses the second writer first
        raise DomainError("report.revision.conflict", "the report was revised concurrently", status=409,
                          report_id=report_id)
    revision = Revision(change, before, after, ())
    cells: list[tuple[str, str, str]] = []
    if revision.counts_changed:
        apply_report_delta(conn, before, after, start_day=epiweek_start_day)  # the weekly cube follows
        for r in (before, after):
            cell = _cell(r, epiweek_start_day)
            if r.counted and cell not in cells:
                cells.append(cell)
        for area, disease, week in cells:
            mark_for_reevaluation(conn, area, disease, week, now=now, reason=f"report {change}")
    return Revision(change, before, after, tuple(cells))


def report_history(conn: Connection, report_id: str) -> list[dict[str, Any]]:
    """The replaced versions of a report, oldest first: ``{version, change, at, by, reason, before}``."""
    t = report_versions
    q = sa.select(t).where(t.c.report_id == report_id).order_by(t.c.version)
    out = []
    for r in conn.execute(q):
        d = dict(r._mapping)
        d["at"] = d["at"] if d["at"].tzinfo else d["at"].replace(tzinfo=dt.UTC)
        out.append(d)
    return out
