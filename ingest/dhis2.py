"""DHIS2 tracker events → reports, with a configurable mapping, answered by a DHIS2-style import report.

Input: the tracker import payload (``POST /api/tracker``, DHIS2 ≥ 2.36)::

    {"events": [{"event": "<uid>", "program": "<uid>", "programStage": "<uid>", "orgUnit": "<uid>",
                 "occurredAt": "2026-11-18", "dataValues": [{"dataElement": "<uid>", "value": "3"}]}]}

(the older ``/api/events`` names ``eventDate``/``completedDate`` are accepted too). The mapping
(YAML, :class:`Dhis2Mapping`) says, per program (and optionally program stage), which data element
holds which report field, how option codes translate, and the disease when the program is for one
disease. The org unit is matched by DHIS2 UID (``Pyramid.resolve``). The event UID is the
idempotency key (``dhis2:<uid>``): a re-sent event is *ignored* (DHIS2's word for "not imported"),
never counted twice; a later version of it (``updatedAt``, or other content) is a correction and a
deleted one a retraction (:mod:`ingest.dhis2_import`, :mod:`ingest.corrections`).

Output: a DHIS2 tracker import report — ``status`` OK / WARNING (some objects had errors) / ERROR
(nothing imported), ``stats`` {created, updated, deleted, ignored, total}, ``validationReport``
{errorReports: [{uid, trackerType, errorCode, message}]} and ``bundleReport`` with per-object
reports. ``errorCode`` is SEBAC's stable key. Reference: DHIS2 developer manual, *Tracker* →
*Import* (``/api/tracker``), "Import Summary".
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Mapping

import yaml
from pydantic import BaseModel, ConfigDict, Field

from ingest.diseases import DiseaseCatalogue
from ingest.errors import DomainError, ErrorDetail

FIELDS = ("disease", "cases", "deaths", "sex", "age_group", "onset_date", "report_date", "reporter", "text")


class ProgramMapping(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    program: str = Field(min_length=1)
    programStage: str | None = None
    name: str | None = None
    disease: str | None = Field(default=None, description="fixed disease code for single-disease programs")
    default_cases: int = Field(default=1, ge=0, description="cases when no data element gives them")
    dataElements: dict[str, str] = Field(default_factory=dict, description="report field -> data element UID")
    options: dict[str, dict[str, str]] = Field(default_factory=dict, description="field -> {option code: value}")

    def matches(self, program: str | None, stage: str | None) -> bool:
        return self.program == program and (self.programStage is None or self.programStage == stage)


class Dhis2Mapping(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    programs: list[ProgramMapping]

    def check(self, diseases: DiseaseCatalogue) -> "Dhis2Mapping":
        """Cross-references at load: known fields, known disease codes, a disease source per program."""
        for p in self.programs:
            unknown = (set(p.dataElements) | set(p.options)) - set(FIELDS)
            if unknown:
                raise DomainError("dhis2.mapping.invalid", f"program {p.program}: unknown fields {sorted(unknown)}")
            if p.disease is None and "disease" not in p.dataElements:
                raise DomainError("dhis2.mapping.invalid",
                                  f"program {p.program}: give 'disease' or dataElements.disease")
            for code in [p.disease, *p.options.get("disease", {}).values()]:
                if code is not None and code not in diseases:
                    raise DomainError("dhis2.mapping.invalid", f"program {p.program}: unknown disease {code!r}")
        return self

    def find(self, program: str | None, stage: str | None) -> ProgramMapping | None:
        exact = [p for p in self.programs if p.matches(program, stage) and p.programStage is not None]
        return exact[0] if exact else next((p for p in self.programs if p.matches(program, stage)), None)


def load_dhis2_mapping(path: str | Path | None, diseases: DiseaseCatalogue) -> Dhis2Mapping:
    path = Path(path) if path else Path(__file__).parent / "data" / "dhis2_mapping.yaml"
    with open(path, encoding="utf-8") as fh:
        doc = yaml.safe_load(fh)
    try:
        mapping = Dhis2Mapping.model_validate(doc)
    except Exception as exc:
        raise DomainError("dhis2.mapping.invalid", f"{path}: {exc}") from exc
    return mapping.check(diseases)


class EventError(Exception):
    def __init__(self, detail: ErrorDetail):
        super().__init__(detail.key)
        self.detail = detail


_UID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


def valid_uid(value: Any) -> str | None:
    """``value`` when it can be an event UID, else None. DHIS2 generates 11 letters and digits; SEBAC
    accepts up to 64 of them (with ``-`` and ``_``) so that other middleware ids fit, and nothing
    else: the UID becomes the idempotency key ``dhis2:<uid>`` (stored, logged, compared)."""
    return value if isinstance(value, str) and _UID.fullmatch(value) else None


def _date(value: Any) -> str | None:
    if value in (None, ""):
        return None
    return str(value)[:10]  # DHIS2 sends "2026-11-18T00:00:00.000"; the day is what counts


def event_to_payload(event: Any, mapping: Dhis2Mapping, diseases: DiseaseCatalogue) -> tuple[str, dict[str, Any]]:
    """(event UID, ReportIn-shaped payload) — or :class:`EventError` with a ``dhis2.*`` key."""
    if not isinstance(event, Mapping):
        raise EventError(ErrorDetail("dhis2.payload.invalid", None, {"detail": "an event must be an object"}))
    uid = event.get("event")
    if uid in (None, ""):
        raise EventError(ErrorDetail("dhis2.event.uid_missing", "event", {}))
    if valid_uid(uid) is None:
        raise EventError(ErrorDetail("dhis2.event.uid_invalid", "event", {}))
    prog = mapping.find(event.get("program"), event.get("programStage"))
    if prog is None:
        raise EventError(ErrorDetail("dhis2.program.unmapped", "program", {
            "program": event.get("program"), "programStage": event.get("programStage")}))
    values: dict[str, Any] = {}
    dvs = event.get("dataValues") or []
    if not isinstance(dvs, list):
        raise EventError(ErrorDetail("dhis2.payload.invalid", "dataValues", {"detail": "dataValues must be a list"}))
    by_de = {dv["dataElement"]: dv.get("value") for dv in dvs
             if isinstance(dv, Mapping) and isinstance(dv.get("dataElement"), str)}
    for fld, de in prog.dataElements.items():
        if by_de.get(de) not in (None, ""):
            raw = by_de[de]
            values[fld] = prog.options.get(fld, {}).get(str(raw), raw)
    if prog.disease is not None:
        values["disease"] = prog.disease
    elif "disease" not in values:
        raise EventError(ErrorDetail("dhis2.dataelement.missing", "disease", {
            "dataElement": prog.dataElements["disease"], "field": "disease"}))
    elif isinstance(values["disease"], str) and values["disease"] not in diseases \
            and values["disease"].lower() in diseases:
        values["disease"] = str(values["disease"]).lower()
    values.setdefault("cases", prog.default_cases)
    onset = _date(values.pop("onset_date", None)) or _date(event.get("occurredAt") or event.get("eventDate"))
    if onset is None:
        raise EventError(ErrorDetail("dhis2.dataelement.missing", "occurredAt", {
            "dataElement": prog.dataElements.get("onset_date", "occurredAt"), "field": "onset_date"}))
    report_date = _date(values.pop("report_date", None)) or _date(event.get("completedAt") or event.get("completedDate"))
    payload = {"client_id": uid, "orgunit_id": event.get("orgUnit") or "", "onset_date": onset, **values}
    if report_date and report_date >= onset:
        payload["report_date"] = report_date
    if "reporter" not in payload and isinstance(event.get("storedBy"), str):
        payload["reporter"] = event["storedBy"][:64]
    return uid, payload


def import_report(objects: list[dict[str, Any]]) -> dict[str, Any]:
    """The DHIS2 import report of per-object results (see :func:`ingest.dhis2_import.import_report`)."""
    from ingest.dhis2_import import import_report as build

    return build(objects)


def import_events(pipeline: Any, mapping: Dhis2Mapping, body: Any) -> dict[str, Any]:
    """Import every event of a tracker payload; the import report (:mod:`ingest.dhis2_import`)."""
    from ingest.dhis2_import import import_events as run

    return run(pipeline, mapping, body)
