"""``POST /api/tracker`` with DHIS2's own semantics: import parameters, atomic mode, the import report.

Middleware that forwards DHIS2 payloads (or a DHIS2 client pointed at SEBAC) expects the tracker
importer's behaviour, not SEBAC's ``/api/v1/dhis2/tracker`` answer. Reference: DHIS2 developer
manual, *Tracker* → *Tracker Import* (request parameters, import summary, error codes).

* ``importStrategy`` CREATE (an existing UID is E1030) / UPDATE (an unknown one is E1032) /
  CREATE_AND_UPDATE (default) / DELETE (only UIDs needed; unknown E1032). An update of a stored
  event is a correction (:func:`ingest.corrections.revise_report`); a delete retracts it.
* ``atomicMode`` ALL (default): every event is checked first; one error and nothing is committed,
  every other event counted ``ignored``. OBJECT: the valid events are committed.
* ``importMode`` VALIDATE checks and writes nothing; COMMIT (default) imports.
* Events are read flat (``events``) and nested (``trackedEntities[].enrollments[].events``,
  ``enrollments[].events``); SEBAC keeps events only (tracked entities and enrollments carry no
  case counts), so only the ``EVENT`` type is reported.
* The report: ``status`` (ERROR when any error, even with atomicMode OBJECT, as DHIS2), ``stats``,
  ``validationReport{errorReports, warningReports}``, ``bundleReport.typeReportMap.EVENT`` with one
  ``objectReport`` per event (``trackerType, uid, index, errorReports``) and ``message``. Error codes
  come from the table in :mod:`ingest.dhis2_codes`, SEBAC's key in ``args[0]``.
"""
from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ingest.dhis2 import Dhis2Mapping
from ingest.dhis2_codes import error_report
from ingest.dhis2_import import EventOutcome, apply_plan, plan_event
from ingest.messages import translate_detail


class TrackerParams(BaseModel):
    """The query parameters SEBAC honours (others DHIS2 documents are accepted and ignored)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    run_async: bool = Field(default=True, alias="async")
    importStrategy: Literal["CREATE", "UPDATE", "CREATE_AND_UPDATE", "DELETE"] = "CREATE_AND_UPDATE"
    atomicMode: Literal["ALL", "OBJECT"] = "ALL"
    importMode: Literal["COMMIT", "VALIDATE"] = "COMMIT"
    reportMode: Literal["FULL", "ERRORS", "WARNINGS"] = "ERRORS"

    @field_validator("importStrategy", "atomicMode", "importMode", "reportMode", mode="before")
    @classmethod
    def _upper(cls, v: Any) -> Any:  # DHIS2 reads ``importStrategy=delete`` too
        return v.upper() if isinstance(v, str) else v

    def as_dhis2(self) -> dict[str, Any]:
        return {"importStrategy": self.importStrategy, "atomicMode": self.atomicMode,
                "importMode": self.importMode, "reportMode": self.reportMode, "async": self.run_async}


def tracker_events(body: Mapping[str, Any]) -> list[Any]:
    """Every event of a flat or nested tracker payload, in payload order."""
    out: list[Any] = list(body.get("events") or []) if isinstance(body.get("events"), list) else []

    def of_enrollments(enrollments: Any) -> None:
        for enr in enrollments if isinstance(enrollments, list) else []:
            if isinstance(enr, Mapping) and isinstance(enr.get("events"), list):
                out.extend(enr["events"])

    for te in body.get("trackedEntities") or [] if isinstance(body.get("trackedEntities"), list) else []:
        if isinstance(te, Mapping):
            of_enrollments(te.get("enrollments"))
    of_enrollments(body.get("enrollments"))
    return out


def run_tracker_import(pipeline: Any, mapping: Dhis2Mapping, body: Mapping[str, Any], params: TrackerParams,
                       by: str | None = None) -> dict[str, Any]:
    """Import (or validate) the payload's events as DHIS2's importer would; its import report."""
    t0 = time.perf_counter()
    events = tracker_events(body)
    strategy = params.importStrategy
    if params.importMode == "VALIDATE" or params.atomicMode == "ALL":
        plans = [plan_event(pipeline, mapping, e, i, strategy) for i, e in enumerate(events)]
        failed = any(p.action == "error" for p in plans)
        if params.importMode == "VALIDATE" or failed:
            # nothing committed: bad events are still kept as rejected items (when importing),
            # every other event is ignored
            outcomes = [apply_plan(pipeline, p, by) if p.action == "error" and params.importMode == "COMMIT"
                        else EventOutcome(p.index, p.uid, "error" if p.action == "error" else "ignored",
                                          errors=list(p.errors))
                        for p in plans]
            return import_summary(outcomes, params, time.perf_counter() - t0, programs=_programs(events))
    # committed one by one, each decided on the database as it is then (an event twice in one
    # payload: its second occurrence sees the first)
    outcomes = [apply_plan(pipeline, plan_event(pipeline, mapping, e, i, strategy), by) for i, e in enumerate(events)]
    return import_summary(outcomes, params, time.perf_counter() - t0, programs=_programs(events))


def _programs(events: list[Any]) -> dict[int, str | None]:
    return {i: e.get("program") if isinstance(e, Mapping) and isinstance(e.get("program"), str) else None
            for i, e in enumerate(events)}


def import_summary(outcomes: list[EventOutcome], params: TrackerParams, seconds: float = 0.0, *,
                   programs: Mapping[int, str | None] | None = None) -> dict[str, Any]:
    """DHIS2's import summary of per-event outcomes."""
    programs = programs or {}
    stats = {"created": 0, "updated": 0, "deleted": 0, "ignored": 0}
    objects, errors = [], []
    for o in outcomes:
        if o.status in stats:
            stats[o.status] += 1
        else:
            stats["ignored"] += 1  # an event in error is not persisted
        reports = [error_report(d, uid=o.uid, message=translate_detail(d, "en"), program=programs.get(o.index))
                   for d in o.errors]
        errors += reports
        objects.append({"trackerType": "EVENT", "uid": o.uid, "index": o.index, "errorReports": reports})
    stats["total"] = len(outcomes)
    status = "ERROR" if errors else "OK"
    summary: dict[str, Any] = {
        "status": status,
        "validationReport": {"errorReports": errors, "warningReports": []},
        "stats": stats,
        "bundleReport": {"status": status, "stats": stats, "typeReportMap": {"EVENT": {
            "trackerType": "EVENT", "stats": stats, "objectReports": objects}}},
        "message": (f"Import complete with status {status}, {stats['created']} created, {stats['updated']} "
                    f"updated, {stats['deleted']} deleted, {stats['ignored']} ignored"),
    }
    if params.importMode == "VALIDATE":
        summary["message"] = f"Validation complete with status {status}, {len(errors)} error(s)"
    if params.reportMode == "FULL":
        summary["timingsStats"] = {"timers": {"totalImport": f"{seconds:.3f} sec."}}
    return summary
