"""Uploads: report backlogs (CSV / NDJSON) and historical weekly counts (CSV), plus reading history.

* ``POST /api/v1/uploads/reports?format=csv|ndjson`` — body is the file; answers the replay summary
  (accepted / duplicate / rejected, late, possible duplicates, first errors with line numbers).
* ``POST /api/v1/uploads/history`` — CSV ``area_id,disease,iso_year,iso_week,count``; upsert.
* ``GET /api/v1/history?area=...&disease=...`` — the stored weekly counts.
"""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from api.auth import AdminUser, CurrentUser
from api.body_limits import UPLOAD_FACTOR
from api.deps import ServicesDep, get_settings
from api.schemas import AUTH, HistoryOut, errors
from api.schemas_ingest import CSV, HistoryUploadOut, ReplayOut, body
from api.errors import error_body
from api.routers._ingest_deps import read_body_text, request_lang, require_within, translated
from ingest.backlog import detect_format, lines_of, read_backlog, replay
from ingest.contracts import Channel
from ingest.errors import DomainError, ErrorDetail
from ingest.history import history_counts, parse_history_csv, store_history
from ingest.messages import translate

router = APIRouter(prefix="/api/v1", tags=["uploads"])


def _limit(request: Request) -> int:
    return get_settings(request).max_body_bytes * UPLOAD_FACTOR


@router.post("/uploads/reports", summary="Replay a backlog file of reports (CSV or NDJSON)", response_model=ReplayOut,
             openapi_extra=body(("text/csv", CSV), ("application/x-ndjson", CSV)),
             responses=AUTH | errors(400, 413))
async def upload_reports(request: Request, pipeline: ServicesDep, _admin: AdminUser,
                         format: str | None = Query(default=None, pattern="^(csv|ndjson)$")) -> JSONResponse:
    lang = request_lang(request)
    text = await read_body_text(request, pipeline, Channel.csv, lang, _limit(request))
    if isinstance(text, JSONResponse):
        return text
    ctype = request.headers.get("content-type", "")
    fmt = format or ("ndjson" if "ndjson" in ctype or "jsonl" in ctype else detect_format(None, text[:200]))
    try:
        summary = replay(pipeline, read_backlog(lines_of(text), fmt))
    except ValueError as exc:  # a CSV header that is not a report header
        pipeline.reject(Channel.csv, text[:4096], [_header_error(str(exc))])
        return JSONResponse(error_body("csv.header.invalid", translate("csv.header.invalid", lang, detail=str(exc))),
                            status_code=400)
    return JSONResponse(summary.as_dict() | {"format": fmt})


def _header_error(detail: str) -> ErrorDetail:
    return ErrorDetail("csv.header.invalid", None, {"detail": detail})


@router.post("/uploads/history", summary="Load historical weekly counts (CSV) for detector baselines",
             response_model=HistoryUploadOut, openapi_extra=body(("text/csv", CSV)),
             responses=AUTH | errors(400, 413) | {422: {"model": HistoryUploadOut, "description": "no row stored"}})
async def upload_history(request: Request, pipeline: ServicesDep, _admin: AdminUser) -> JSONResponse:
    lang = request_lang(request)
    text = await read_body_text(request, pipeline, Channel.csv, lang, _limit(request))
    if isinstance(text, JSONResponse):
        return text
    rows, errors = parse_history_csv(lines_of(text), pipeline.pyramid, pipeline.diseases)
    with pipeline.db.begin() as conn:
        stored = store_history(conn, rows, now=pipeline.clock.now(), source=request.headers.get("x-source", "upload"))
    body: dict[str, Any] = {"stored": stored, "rejected": len(errors),
                            "errors": [{"line": n} | translated([e], lang)[0] for n, e in errors[:100]]}
    return JSONResponse(body, status_code=200 if stored or not errors else 422)


@router.get("/history", summary="Historical weekly counts of one area and disease", response_model=HistoryOut,
            responses=AUTH | errors(404))
def get_history(pipeline: ServicesDep, user: CurrentUser, area: str, disease: str) -> dict[str, Any]:
    unit = pipeline.pyramid.resolve(area)
    if unit is None:
        raise DomainError("report.orgunit.unknown", f"unknown org unit {area}", status=404, orgunit_id=area)
    require_within(pipeline, user, unit.id)
    with pipeline.db.connect() as conn:
        counts = history_counts(conn, unit.id if unit else area, disease)
    return {"area_id": unit.id if unit else area, "disease": disease,
            "items": [{"iso_year": y, "iso_week": w, "count": c} for y, w, c in counts]}
