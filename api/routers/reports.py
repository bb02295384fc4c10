"""``POST /api/v1/reports``: one CHW report (JSON object) or a batch (JSON list); report listings.

The body is read raw so that malformed JSON, invalid UTF-8 and oversized bodies are kept in the
rejected table with their reason before answering 4xx. A batch (at most ``max_batch_items``)
accepts the valid items and answers a per-item result list, each with its ``index`` in the batch
and status accepted / duplicate / rejected (+ error keys), with HTTP 200 (207-like semantics).
"""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.auth import CurrentUser, ReportSubmitter
from api.deps import ServicesDep, get_settings
from api.errors import error_body
from api.params import Offset
from api.schemas import AUTH, ErrorOut, errors
from api.services import Services
from api.schemas_ingest import (REPORT_BODY, BatchOut, DuplicateDecisionOut, PossibleDuplicatesOut,
                                 ReportResult, body)
from api.routers._ingest_deps import read_json_body, request_lang, require_within, translated
from ingest.contracts import Channel
from ingest.duplicates import list_possible_duplicates
from ingest.errors import DomainError, ErrorDetail
from ingest.messages import translate

router = APIRouter(prefix="/api/v1", tags=["reports"])


def result_item(res: Any, lang: str, index: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {} if index is None else {"index": index}
    out["status"] = res.status
    if res.report is not None:
        out["report_id"] = res.report.report_id
        out["idempotency_key"] = res.report.idempotency_key
    if res.errors:
        out["errors"] = translated(res.errors, lang)
        out["rejected_id"] = res.rejected_id
    if res.alerts:
        out["alert_ids"] = [a.alert_id for a in res.alerts]
    notes = getattr(res, "notes", None)
    if notes is not None:
        out["late"] = notes.late
        if notes.possible_duplicate_of:
            out["possible_duplicate_of"] = notes.possible_duplicate_of
    return out


POST_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": ReportResult | BatchOut, "description": "a duplicate (same key), or a batch's per-item results"},
    400: {"model": ErrorOut, "description": "malformed JSON or UTF-8 (kept as rejected)"},
    422: {"model": ErrorOut, "description": "an invalid report (kept as rejected)"}, **errors(401, 403, 413)}


@router.post("/reports", summary="Submit one report (object) or a batch (list)", response_model=ReportResult,
             openapi_extra=body(("application/json", REPORT_BODY)), status_code=201, responses=POST_RESPONSES)
async def post_reports(request: Request, pipeline: ServicesDep, who: ReportSubmitter) -> JSONResponse:
    """Credentials (a device API key in ``X-API-Key``, or a login token) are checked when sent and
    required when ``SEBAC_ENVIRONMENT=production``; development and test accept anonymous CHW apps."""
    lang = request_lang(request)
    payload = await read_json_body(request, pipeline, Channel.http, lang)
    if isinstance(payload, JSONResponse):
        return payload
    # storage, detection and (in scaled-out mode) the broker acknowledgement block: keep them off
    # the event loop so one slow submission does not stall every other request
    max_items = getattr(get_settings(request), "max_batch_items", 500)
    return await run_in_threadpool(_submit, pipeline, payload, lang, max_items)


def _submit(pipeline: Services, payload: Any, lang: str, max_items: int) -> JSONResponse:
    if isinstance(payload, list):
        if len(payload) > max_items:
            detail = ErrorDetail("report.batch.too_large", None, {"items": len(payload), "max": max_items})
            res = pipeline.reject(Channel.http, payload, [detail])
            return JSONResponse(error_body(detail.key, translate(detail.key, lang, **detail.params),
                                           translated([detail], lang)) | {"rejected_id": res.rejected_id},
                                status_code=413)
        done = pipeline.submit_many([(item, None) for item in payload], Channel.http)  # one transaction
        results = [result_item(res, lang, i) for i, res in enumerate(done)]
        summary = {s: sum(1 for r in results if r["status"] == s) for s in ("accepted", "duplicate", "rejected")}
        return JSONResponse({"results": results, "summary": summary | {"total": len(results)}}, status_code=200)
    res = pipeline.submit(payload, Channel.http)
    item = result_item(res, lang)
    if res.status == "rejected":
        first = res.errors[0]
        return JSONResponse(error_body(first.key, item["errors"][0]["message"], item["errors"]) |
                            {"rejected_id": res.rejected_id}, status_code=422)
    return JSONResponse(item, status_code=201 if res.status == "accepted" else 200)


@router.get("/reports/possible-duplicates", summary="Same content received under two keys within the window",
            response_model=PossibleDuplicatesOut, responses=AUTH)
def get_possible_duplicates(pipeline: ServicesDep, user: CurrentUser, district: str | None = None,
                            status: str | None = Query(default="open", pattern="^(open|confirmed|distinct)$"),
                            limit: int = Query(default=100, ge=1, le=1000), offset: Offset = 0) -> dict[str, Any]:
    if district:
        require_within(pipeline, user, district)
    with pipeline.db.connect() as conn:
        pairs = list_possible_duplicates(conn, district_ids=[district] if district else None, status=status,
                                         limit=limit, offset=offset)
    if user.role != "admin":  # below a district, keep the user's own places only
        pairs = [p for p in pairs if pipeline.pyramid.is_within(p.orgunit_id, user.orgunit_id)]
    return {"items": [{"report_id": p.report_id, "duplicate_of": p.duplicate_of, "district_id": p.district_id,
                       "detected_at": p.detected_at.isoformat(), "status": p.status, "channels": list(p.channels),
                       "cross_channel": p.channels[0] != p.channels[1], "orgunit_id": p.orgunit_id,
                       "disease": p.disease, "onset_date": p.onset_date.isoformat(), "cases": p.cases,
                       "report_state": p.report_state, "held": p.report_state == "held",
                       "decided_at": p.decided_at.isoformat() if p.decided_at else None,
                       "decided_by": p.decided_by}
                      for p in pairs], "limit": limit, "offset": offset}


@router.post("/reports/possible-duplicates/{report_id}/{duplicate_of}", summary="Confirm or dismiss a pair",
             response_model=DuplicateDecisionOut, responses=AUTH | errors(404))
def decide_possible_duplicate(report_id: str, duplicate_of: str, pipeline: ServicesDep, user: CurrentUser,
                              status: str = Query(pattern="^(confirmed|distinct)$")) -> dict[str, Any]:
    """``confirmed``: ``report_id`` is a duplicate and never counts; ``distinct``: a report held out of
    the counts (cross-channel pair) counts again. Both are revisions of the report (its history keeps
    them); the detectors re-evaluate its week."""
    with pipeline.db.connect() as conn:
        report = pipeline.reports.get(conn, report_id)
    if report is None:
        raise DomainError("duplicate.not_found", "no such possible-duplicate pair", status=404)
    require_within(pipeline, user, report.orgunit_id)
    res = pipeline.decide_duplicate(report_id, duplicate_of, status, by=f"user:{user.username}")
    after = res.revision.after if res.revision is not None else report
    return {"report_id": report_id, "duplicate_of": duplicate_of, "status": status, "report_state": after.state,
            "report_version": after.version}


@router.get("/reports/{report_id}/history", summary="The versions of a report a revision replaced")
def report_versions(report_id: str, pipeline: ServicesDep, user: CurrentUser) -> dict[str, Any]:
    from ingest.corrections import report_history

    with pipeline.db.connect() as conn:
        report = pipeline.reports.get(conn, report_id)
        if report is None:
            raise DomainError("report.not_found", f"no report {report_id}", status=404, report_id=report_id)
        require_within(pipeline, user, report.orgunit_id)
        history = report_history(conn, report_id)
    return {"report": report.model_dump(mode="json"),
            "versions": [h | {"at": h["at"].isoformat()} for h in history]}
