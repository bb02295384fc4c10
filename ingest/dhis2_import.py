"""Import DHIS2 events one by one through the pipeline; the DHIS2 import report of the results.

:func:`import_event` is the one place where a DHIS2 event becomes a stored report (or a kept
rejected item): ``POST /api/v1/dhis2/tracker``, ``POST /api/tracker`` and ``sebac dhis2 pull`` all
call it. It is two steps — :func:`plan_event` decides on the database as it is, :func:`apply_plan`
writes — so that ``atomicMode=ALL`` can check every event before committing any. Its
:class:`EventOutcome` says ``created``, ``updated`` (a later version of a stored event: a
correction, :func:`ingest.corrections.revise_report`), ``deleted`` (``deleted: true`` or
``importStrategy=DELETE``: the report is retracted, kept, and no longer counted), ``ignored``
(the same version again) or ``error``.

The import report follows DHIS2's *Import summary*: ``status`` OK / WARNING / ERROR, ``stats``
{created, updated, deleted, ignored, total}, ``validationReport`` {errorReports, warningReports}
and ``bundleReport.typeReportMap.EVENT`` with one ``objectReport`` per event. Reference: DHIS2
developer manual, *Tracker* → *Import summary response*.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from ingest.contracts import Channel, Report
from ingest.corrections import same_content
from ingest.dhis2 import Dhis2Mapping, EventError, event_to_payload, valid_uid
from ingest.errors import DomainError, ErrorDetail, ValidationFailed

STATUSES = ("created", "updated", "deleted", "ignored", "error")
STRATEGIES = ("CREATE", "UPDATE", "CREATE_AND_UPDATE", "DELETE")


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


@dataclass
class EventPlan:
    """What importing one event would do, decided on the database as it is (nothing written)."""

    index: int
    uid: str | None
    action: str  # create | update | delete | ignore | error
    event: Any = None
    report: Report | None = None    # the validated content (create, update)
    current: Report | None = None   # the stored report of this UID (update, delete, some errors)
    errors: list[ErrorDetail] = field(default_factory=list)
    bad_payload: bool = False       # an error of the event itself: kept as a rejected item
    warning: str | None = None


def _stale(event: Any, current: Report) -> bool:
    """The event is not a later version than the stored one (by DHIS2's ``updatedAt``)."""
    from ingest.dhis2_pull.paging import parse_instant

    new = parse_instant(event.get("updatedAt")) if isinstance(event, Mapping) else None
    old = parse_instant(current.source_updated_at)
    return new is not None and old is not None and new <= old


def plan_event(pipeline: Any, mapping: Dhis2Mapping, event: Any, index: int = 0,
               strategy: str = "CREATE_AND_UPDATE") -> EventPlan:
    """Decide one event: a new report, a correction (a later version of a stored event), a
    retraction (``deleted: true`` or ``strategy=DELETE``), ignored (the same version again) or an
    error (a bad event, or one the strategy refuses: exists for CREATE, unknown for UPDATE/DELETE,
    deleted already)."""
    from ingest.validation import validate_report

    if strategy not in STRATEGIES:
        raise ValueError(f"unknown import strategy {strategy!r}")
    uid = event_uid(event)
    key = f"dhis2:{uid}"
    deleting = strategy == "DELETE" or (isinstance(event, Mapping) and event.get("deleted") is True)
    if deleting:
        if uid is None:
            missing = not isinstance(event, Mapping) or event.get("event") in (None, "")
            detail = ErrorDetail("dhis2.event.uid_missing" if missing else "dhis2.event.uid_invalid", "event", {})
            return EventPlan(index, None, "error", event, errors=[detail], bad_payload=True)
        with pipeline.db.connect() as conn:
            current = pipeline.reports.by_idempotency_key(conn, key)
        if current is None:
            if strategy == "DELETE":
                return EventPlan(index, uid, "error", event, errors=[ErrorDetail("dhis2.event.not_found", "event",
                                                                                 {"uid": uid})])
            return EventPlan(index, uid, "ignore", event, warning="deleted event never imported")
        if current.state == "retracted":
            return EventPlan(index, uid, "ignore", event, current=current, warning="event already deleted")
        return EventPlan(index, uid, "delete", event, current=current)
    try:
        uid, payload = event_to_payload(event, mapping, pipeline.diseases)
        # validated here, so that a failure keeps the DHIS2 event itself (re-processable with a fixed
        # mapping), not the payload derived from it
        report = validate_report(payload, channel=Channel.dhis2, pyramid=pipeline.pyramid,
                                 diseases=pipeline.diseases, now=pipeline.clock.now(), limits=pipeline.limits,
                                 idempotency_key=f"dhis2:{uid}")
    except (EventError, ValidationFailed) as exc:
        errors = [exc.detail] if isinstance(exc, EventError) else exc.errors
        return EventPlan(index, uid, "error", event, errors=list(errors), bad_payload=True)
    updated_at = event.get("updatedAt") if isinstance(event.get("updatedAt"), str) else None
    report = report.model_copy(update={"source_updated_at": updated_at[:40] if updated_at else None})
    with pipeline.db.connect() as conn:
        current = pipeline.reports.by_idempotency_key(conn, f"dhis2:{uid}")
    if current is None:
        if strategy == "UPDATE":
            return EventPlan(index, uid, "error", event, report, errors=[ErrorDetail("dhis2.event.not_found",
                                                                                     "event", {"uid": uid})])
        return EventPlan(index, uid, "create", event, report)
    if strategy == "CREATE":
        return EventPlan(index, uid, "error", event, report, current,
                         errors=[ErrorDetail("dhis2.event.exists", "event", {"uid": uid})])
    if current.state == "retracted":
        return EventPlan(index, uid, "error", event, report, current,
                         errors=[ErrorDetail("dhis2.event.deleted", "event", {"uid": uid})])
    if _stale(event, current) or same_content(current, report):
        return EventPlan(index, uid, "ignore", event, report, current, warning="event already imported")
    return EventPlan(index, uid, "update", event, report, current)


def apply_plan(pipeline: Any, plan: EventPlan, by: str | None = None) -> EventOutcome:
    """Carry one plan out (each in its own transaction); a bad event is kept as rejected once."""
    from ingest.errors import DomainError as Refused
    from ingest.rejections import bounded_key, reject_once

    i, uid = plan.index, plan.uid
    if plan.action == "error":
        if not plan.bad_payload:  # a valid event the strategy refuses: answered, nothing to keep
            return EventOutcome(i, uid, "error", report_id=plan.current.report_id if plan.current else None,
                                errors=list(plan.errors))
        # a tablet re-sending the same bad event finds it kept, not copied once per attempt
        kept = reject_once(pipeline, Channel.dhis2, plan.event, plan.errors,
                           bounded_key("dhis2", uid, plan.event))
        return EventOutcome(i, uid, "error", rejected_id=kept.rejected_id, errors=list(plan.errors),
                            kept_before=not kept.is_new)
    if plan.action == "ignore":
        rid = plan.current.report_id if plan.current else None
        return EventOutcome(i, uid, "ignored", report_id=rid, warning=plan.warning)
    if plan.action == "create":
        assert plan.report is not None
        res = pipeline.accept(plan.report)
        rid = res.report.report_id if res.report else None
        if res.status == "accepted":
            return EventOutcome(i, uid, "created", report_id=rid)
        return EventOutcome(i, uid, "ignored", report_id=rid, warning="event already imported")
    assert plan.current is not None
    try:
        if plan.action == "update":
            assert plan.report is not None
            pipeline.revise(plan.current.report_id, "corrected", content=plan.report, by=by,
                            source_updated_at=plan.report.source_updated_at, reason="DHIS2 event updated")
            return EventOutcome(i, uid, "updated", report_id=plan.current.report_id)
        stamp = plan.event.get("updatedAt") if isinstance(plan.event, Mapping) else None
        pipeline.revise(plan.current.report_id, "retracted", by=by, reason="DHIS2 event deleted",
                        source_updated_at=stamp[:40] if isinstance(stamp, str) else None)
        return EventOutcome(i, uid, "deleted", report_id=plan.current.report_id)
    except Refused as exc:  # revised concurrently since the plan (or deleted meanwhile)
        return EventOutcome(i, uid, "error", report_id=plan.current.report_id,
                            errors=[ErrorDetail(exc.key, "event", {"uid": uid})])


def import_event(pipeline: Any, mapping: Dhis2Mapping, event: Any, index: int = 0,
                 strategy: str = "CREATE_AND_UPDATE", by: str | None = None) -> EventOutcome:
    """Import one DHIS2 event: created, updated (a correction), deleted (a retraction), ignored, or
    an error (a bad event is kept as a rejected item once)."""
    return apply_plan(pipeline, plan_event(pipeline, mapping, event, index, strategy), by)


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
