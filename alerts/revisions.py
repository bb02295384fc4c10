"""A report behind an alert was revised: the alert's timeline says so.

When a DHIS2 event an alert was raised on is corrected (new case count, new onset), deleted at the
source, or confirmed as a duplicate of another report, every alert whose signals name that report
gets one event — ``report_corrected``, ``report_retracted`` or ``report_duplicate`` — with the
report's version before and after. The event does not change the alert's status: people decide
(the detectors re-evaluate the week through the re-evaluation queue and may raise or merge more).
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from alerts.contracts import Alert, AlertEvent

# revision change (ingest.corrections.CHANGES) -> alert event type; other changes touch no alert
EVENT_OF_CHANGE = {"corrected": "report_corrected", "retracted": "report_retracted",
                   "duplicate": "report_duplicate"}


def _summary(report: Any) -> dict[str, Any]:
    return {"version": report.version, "state": report.state, "cases": report.cases, "deaths": report.deaths,
            "disease": report.disease, "orgunit_id": report.orgunit_id, "onset_date": report.onset_date.isoformat()}


def revision_event(alert: Alert, revision: Any, seq: int, now: dt.datetime) -> AlertEvent | None:
    """The timeline entry for ``revision`` (an :class:`ingest.corrections.Revision`), or None."""
    kind = EVENT_OF_CHANGE.get(revision.change)
    if kind is None:
        return None
    before, after = revision.before, revision.after
    reason = {"report_corrected": f"report {before.report_id[:8]} corrected: {before.cases} → {after.cases} case(s)"
                                  + (f", onset {before.onset_date} → {after.onset_date}"
                                     if before.onset_date != after.onset_date else ""),
              "report_retracted": f"report {before.report_id[:8]} retracted (deleted at the source)",
              "report_duplicate": f"report {before.report_id[:8]} confirmed as a duplicate"}[kind]
    return AlertEvent(alert_id=alert.alert_id, seq=seq, type=kind, at=now, by="system", level=alert.level,
                      reason=reason, data={"report_id": before.report_id, "before": _summary(before),
                                           "after": _summary(after)})
