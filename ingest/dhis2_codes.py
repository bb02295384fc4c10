"""DHIS2 tracker error codes for SEBAC's error keys: a table, read by ``POST /api/tracker``'s report.

DHIS2 clients (middleware, the Android app's sync log, scripts) branch on ``errorCode``; SEBAC's own
key stays in ``args[0]`` (then the values the message quotes), so nothing is lost in the mapping.
Reference: DHIS2 developer manual, *Tracker* → *Error codes* (2.36 – 2.41); messages as DHIS2
words them, with ``{0}``… filled from ``args[1:]``.

A key maps by ``(key, field)`` first (``dhis2.dataelement.missing`` is E1031 for ``occurredAt``,
E1303 for a mandatory data element), then by key alone, then to E9999 (DHIS2's "undefined").
"""
from __future__ import annotations

from typing import Any

from ingest.errors import ErrorDetail

# DHIS2 code -> DHIS2's message (placeholders filled from the detail's parameters, see ARGS)
MESSAGES: dict[str, str] = {
    "E1010": "Could not find Program: `{0}`, linked to Event.",
    "E1011": "Could not find OrganisationUnit: `{0}`, linked to Event.",
    "E1029": "Event OrganisationUnit: `{0}`, and Program: `{1}`, don't match.",
    "E1030": "Event: `{0}`, already exists.",
    "E1031": "Event OccurredAt date is missing.",
    "E1032": "Event: `{0}`, do not exist.",
    "E1048": "Object: `{0}`, uid: `{1}`, has an invalid uid format.",
    "E1082": "Event: `{0}`, is already deleted and can't be modified.",
    "E1123": "Missing required event property: `{0}`.",
    "E1125": "Value `{0}` is not a valid option code in option set `{1}`",
    "E1302": "DataElement `{0}` is not valid: `{1}`",
    "E1303": "Mandatory DataElement `{0}` is not present",
    "E9999": "{0}",
}

# (SEBAC key, field or None) -> DHIS2 code
CODES: dict[tuple[str, str | None], str] = {
    ("dhis2.orgunit.unknown", None): "E1011",
    ("report.orgunit.unknown", None): "E1011",
    ("report.orgunit.level", None): "E1029",
    ("dhis2.program.unmapped", None): "E1010",
    ("dhis2.event.exists", None): "E1030",
    ("dhis2.event.not_found", None): "E1032",
    ("report.not_found", None): "E1032",
    ("dhis2.event.deleted", None): "E1082",
    ("report.revision.state", None): "E1082",
    ("dhis2.event.uid_invalid", None): "E1048",
    ("dhis2.event.uid_missing", None): "E1123",
    ("report.field.missing", None): "E1123",
    ("dhis2.dataelement.missing", "occurredAt"): "E1031",
    ("dhis2.dataelement.missing", None): "E1303",
    ("report.disease.unknown", None): "E1125",
    ("report.field.choice", None): "E1125",
    ("report.field.type", None): "E1302",
    ("report.field.too_long", None): "E1302",
    ("report.field.empty", None): "E1302",
    ("report.count.negative", None): "E1302",
    ("report.cases.absurd", None): "E1302",
    ("report.deaths.exceed_cases", None): "E1302",
    ("report.date.invalid", "onset_date"): "E1031",
    ("report.date.invalid", None): "E1302",
    ("report.date.future", None): "E1302",
    ("report.date.too_old", None): "E1302",
    ("report.date.onset_after_report", None): "E1302",
}

# DHIS2 code -> which values fill its placeholders, in order: detail parameter names, or
# ``:uid`` (the event's UID), ``:field`` (the report field), ``:message`` (SEBAC's own words)
ARGS: dict[str, tuple[str, ...]] = {
    "E1010": ("program",), "E1011": ("orgunit_id|orgUnit",), "E1029": ("orgunit_id", ":program"),
    "E1030": (":uid",), "E1032": (":uid",), "E1048": (":type", ":uid"), "E1082": (":uid",),
    "E1123": (":field",), "E1125": ("disease|value", ":field"), "E1302": ("dataElement|:field", ":message"),
    "E1303": ("dataElement|:field",), "E9999": (":message",),
}


def dhis2_code(detail: ErrorDetail) -> str:
    return CODES.get((detail.key, detail.field)) or CODES.get((detail.key, None)) or "E9999"


def _value(name: str, detail: ErrorDetail, context: dict[str, Any]) -> str:
    for alt in name.split("|"):
        v = context.get(alt[1:]) if alt.startswith(":") else detail.params.get(alt)
        if v not in (None, ""):
            return str(v)
    return ""


def error_report(detail: ErrorDetail, *, uid: str | None, message: str, program: str | None = None) -> dict[str, Any]:
    """One DHIS2 ``errorReport``: ``{message, errorCode, trackerType, uid, args}``; ``args[0]`` is
    SEBAC's key, the rest the values DHIS2's message quotes."""
    code = dhis2_code(detail)
    context = {"uid": uid or "", "field": detail.field or "", "message": message, "type": "Event",
               "program": program or ""}
    values = [_value(n, detail, context) for n in ARGS.get(code, ())]
    return {"message": MESSAGES[code].format(*values), "errorCode": code, "trackerType": "EVENT", "uid": uid,
            "args": [detail.key, *values]}
