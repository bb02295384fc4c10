"""``POST /api/v1/dhis2/tracker``: DHIS2 tracker events in, a DHIS2-style import report out.

The mapping of program / data element UIDs to report fields is configuration
(``SEBAC_DHIS2_MAPPING_PATH``, default ``ingest/data/dhis2_mapping.yaml``); see :mod:`ingest.dhis2`.
The HTTP status follows DHIS2: 200 when the import report status is OK or WARNING, 409 when ERROR.
"""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.auth import CurrentUser, Reporter
from api.deps import ServicesDep
from api.schemas import AUTH, errors
from api.schemas_ingest import Dhis2ImportReport, Dhis2TrackerIn, MappingOut, body
from api.routers._ingest_deps import ChannelsDep, SafeJSONResponse, read_json_body, request_lang
from ingest.contracts import Channel
from ingest.dhis2 import import_events, import_report
from ingest.errors import ErrorDetail
from ingest.messages import translate
from ingest.rejections import content_key, reject_once

router = APIRouter(prefix="/api/v1/dhis2", tags=["dhis2"])


@router.post("/tracker", summary="Import DHIS2 tracker events ({events: [...]}); answers an import report",
             response_model=Dhis2ImportReport, openapi_extra=body(("application/json", Dhis2TrackerIn)),
             responses=errors(401, 403, 413, 422) | {
                 400: {"model": Dhis2ImportReport, "description": "not {events: [...]}: kept as one rejected item"},
                 409: {"model": Dhis2ImportReport, "description": "every event refused (status ERROR)"}})
async def tracker_import(request: Request, pipeline: ServicesDep, channels: ChannelsDep, _by: Reporter) -> JSONResponse:
    body = await read_json_body(request, pipeline, Channel.dhis2, request_lang(request))
    if isinstance(body, JSONResponse):
        return body
    if not isinstance(body, dict) or not isinstance(body.get("events"), list):
        detail = ErrorDetail("dhis2.payload.invalid", "events", {"detail": "expected {\"events\": [...]}"})
        res = reject_once(pipeline, Channel.dhis2, body, [detail], content_key("dhis2", body))
        report: dict[str, Any] = import_report([])
        report["status"] = report["bundleReport"]["status"] = "ERROR"
        report["validationReport"]["errorReports"].append({
            "uid": None, "trackerType": "EVENT", "errorCode": detail.key, "index": None,
            "message": translate(detail.key, "en", **detail.params), "rejected_id": res.rejected_id})
        return SafeJSONResponse(report, status_code=400)
    report = import_events(pipeline, channels.dhis2_mapping, body)
    # messages quote the values sent, which may hold a lone surrogate (JSON "\ud800"): escaped, not a 500
    return SafeJSONResponse(report, status_code=409 if report["status"] == "ERROR" else 200)


@router.get("/mapping", summary="The DHIS2 program / data element mapping in force", response_model=MappingOut,
            responses=AUTH)
def mapping(channels: ChannelsDep, _user: CurrentUser) -> dict[str, Any]:
    return channels.dhis2_mapping.model_dump(mode="json")
