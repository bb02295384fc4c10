"""Import DHIS2 events one by one through the pipeline; the DHIS2 import report of the results.

:func:`import_event` is the one place where a DHIS2 event becomes a stored report (or a kept
rejected item): ``POST /api/v1/dhis2/tracker``, ``POST /api/tracker`` and ``sebac dhis2 pull`` all
call it. Its :class:`EventOutcome` says ``created``, ``ignored`` (already imported) or ``error``.

The import report follows DHIS2's *Import summary*: ``status`` OK / WARNING / ERROR, ``stats``
{created, updated, deleted, ignored, total}, ``validationReport`` {errorReports, warningReports}
and ``bundleReport.typeReportMap.EVENT`` with one ``objectReport`` per event. Reference: DHIS2
developer manual, *Tracker* → *Import summary response*.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from ingest.contracts import Channel
from ingest.dhis2 import Dhis2Mapping, EventError, event_to_payload, valid_uid
from ingest.errors import DomainError, ErrorDetail, ValidationFailed

STATUSES = ("created", "updated", "deleted", "ignored", "error")


@dataclass
class EventOutcome:
    index: int
    uid: str | None
    status: str  # one of STATUSES
    report_id: str | None = None
    rejected_id: str | None = None
    errors: list[ErrorDetail] = field(default_factory=list)
    warning: str | None = None  # why an event was ignored (a warningReport)
    kept_before: bool = False   # an error whose event (same raw text) was already kept as rejected

    def as_object(self, lang: str = "en") -> dict[str, Any]:
        """The per-object dict :func:`import_report` reads."""
        from ingest.messages import translate_detail

        return {"index": self.index, "uid": self.uid, "status": self.status, "report_id": self.report_id,
                **({"rejected_id": self.rejected_id} if self.rejected_id else {}),
                **({"warning": self.warning} if self.warning else {}),
                "errors": [{"key": e.key, "message": translate_detail(e, lang), "params": dict(e.params)}
                           for e in self.errors]}


def event_uid(event: Any) -> str | None:
    """The event's UID when it is a usable one (:func:`ingest.dhis2.valid_uid`), else None."""
    return valid_uid(event.get("event")) if isinstance(event, Mapping) else None


def import_event(pipeline: Any, mapping: Dhis2Mapping, event: Any, index: int = 0) -> EventOutcome:
    """Store one DHIS2 event as a report (idempotency key ``dhis2:<uid>``), or keep it rejected once."""
    from ingest.rejections import bounded_key, reject_once
    from ingest.validation import validate_report

    uid = event_uid(event)
    try:
        uid, payload = event_to_payload(event, mapping, pipeline.diseases)
        # validate before submitting, so a failure keeps the DHIS2 event itself (re-processable with a
        # fixed mapping), not the payload derived from it
        validate_report(payload, channel=Channel.dhis2, pyramid=pipeline.pyramid, diseases=pipeline.diseases,
                        now=pipeline.clock.now(), limits=pipeline.limits, idempotency_key=f"dhis2:{uid}")
    except (EventError, ValidationFailed) as exc:
        errors = [exc.detail] if isinstance(exc, EventError) else exc.errors
        # a tablet re-sending the same bad event finds it kept, not copied once per attempt
        kept = reject_once(pipeline, Channel.dhis2, event, errors, bounded_key("dhis2", uid, event))
        return EventOutcome(index, uid, "error", rejected_id=kept.rejected_id, errors=list(errors),
                            kept_before=not kept.is_new)
    res = pipeline.submit(payload, Channel.dhis2, idempotency_key=f"dhis2:{uid}")
    report_id = res.report.report_id if res.report else None
    if res.status == "accepted":
        return EventOutcome(index, uid, "created", report_id=report_id)
    if res.status == "duplicate":
        return EventOutcome(index, uid, "ignored", report_id=report_id, warning="event already imported")
    return EventOutcome(index, uid, "error", rejected_id=res.rejected_id, errors=list(res.errors))


def import_report(objects: list[dict[str, Any]]) -> dict[str, Any]:
    """Assemble the DHIS2 import report from per-object results (:meth:`EventOutcome.as_object`)."""
    stats = {s: sum(1 for o in objects if o["status"] == s) for s in ("created", "updated", "deleted")}
    stats |= {"ignored": len(objects) - sum(stats.values()), "total": len(objects)}
    failed = [o for o in objects if o["status"] == "error"]
    done = stats["created"] + stats["updated"] + stats["deleted"]
    status = "OK" if not failed else ("ERROR" if done == 0 else "WARNING")
    error_reports = [{"uid": o["uid"], "trackerType": "EVENT", "errorCode": e["key"], "message": e["message"],
                      "index": o["index"], **({"rejected_id": o["rejected_id"]} if o.get("rejected_id") else {})}
                     for o in failed for e in o["errors"]]
    warning_reports = [{"uid": o["uid"], "trackerType": "EVENT", "warningCode": "dhis2.event.duplicate",
                        "message": o.get("warning") or "event already imported", "index": o["index"]}
                       for o in objects if o["status"] == "ignored"]
    return {
        "status": status,
        "stats": stats,
        "validationReport": {"errorReports": error_reports, "warningReports": warning_reports},
        "bundleReport": {"status": status, "stats": stats, "typeReportMap": {"EVENT": {
            "trackerType": "EVENT", "stats": stats,
            "objectReports": [{"trackerType": "EVENT", "uid": o["uid"], "index": o["index"],
                               "errorReports": [{"errorCode": e["key"], "message": e["message"]} for e in o["errors"]],
                               **({"reportId": o["report_id"]} if o.get("report_id") else {})}
                              for o in objects]}}},
    }


def import_events(pipeline: Any, mapping: Dhis2Mapping, body: Any) -> dict[str, Any]:
    """Import every event of a tracker payload ``{"events": [...]}``; the import report."""
    if not isinstance(body, Mapping) or not isinstance(body.get("events"), list):
        raise DomainError("dhis2.payload.invalid", "expected {\"events\": [...]}", status=400,
                          detail="expected an 'events' list")
    return import_report([import_event(pipeline, mapping, event, i).as_object()
                          for i, event in enumerate(body["events"])])
