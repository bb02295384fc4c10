"""Rejected items: ``GET /api/v1/rejected`` (filter by channel, reason, status),
``POST /api/v1/rejected/{id}/reprocess`` and the bulk ``POST /api/v1/rejected/reprocess``.

Nothing is dropped: every item that could not become a report is kept with its reasons, and can be
re-processed once the pyramid, the CHW registry or the DHIS2 mapping is fixed (:mod:`ingest.reprocess`).
"""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request

from api.auth import AdminUser
from api.deps import ServicesDep
from api.params import Offset
from api.schemas import AUTH, errors
from api.schemas_ingest import RejectedListOut, ReprocessBulkOut, ReprocessOut
from api.routers._ingest_deps import ChannelsDep, SafeJSONResponse, loads_strict, request_lang, translated
from ingest.contracts import Channel
from ingest.errors import DomainError, ErrorDetail
from ingest.reprocess import ReprocessResult, reprocess

router = APIRouter(prefix="/api/v1/rejected", tags=["rejected"])
MAX_BULK = 1000


def _raw(text: str) -> Any:
    """A kept item as JSON when it is JSON (strictly: ``NaN`` stays text), else its text."""
    try:
        return loads_strict(text)
    except ValueError:
        return text


def _result(r: ReprocessResult, lang: str) -> dict[str, Any]:
    out: dict[str, Any] = {"rejected_id": r.rejected_id, "status": r.status}
    if r.report_id:
        out["report_id"] = r.report_id
    if r.errors:
        out["errors"] = translated(r.errors, lang)
    return out


@router.get("", summary="Items that could not become reports, newest first", response_model=RejectedListOut,
            responses=AUTH)
def list_rejected(request: Request, pipeline: ServicesDep, _admin: AdminUser, channel: Channel | None = None,
                  reason: str | None = Query(default=None, description="an error key, e.g. report.orgunit.unknown"),
                  status: str = Query(default="rejected", pattern="^(rejected|reprocessed|all)$"),
                  limit: int = Query(default=100, ge=1, le=1000), offset: Offset = 0
                  ) -> SafeJSONResponse:
    lang = request_lang(request)
    with pipeline.db.connect() as conn:
        items = pipeline.rejected.list(conn, status=None if status == "all" else status, channel=channel,
                                       reason=reason, limit=limit, offset=offset)
    out = [{"rejected_id": i.rejected_id, "channel": i.channel.value, "received_at": i.received_at.isoformat(),
            "status": i.status, "idempotency_key": i.idempotency_key, "raw": _raw(i.raw),
            "errors": translated([ErrorDetail(e["key"], e.get("field"), e.get("params") or {}) for e in i.errors],
                                 lang)} for i in items]
    return SafeJSONResponse({"items": out, "limit": limit, "offset": offset})


@router.post("/reprocess", summary="Re-process many rejected items (by ids, or by channel/reason filter)",
             response_model=ReprocessBulkOut, responses=AUTH)
def reprocess_bulk(request: Request, pipeline: ServicesDep, channels: ChannelsDep, _admin: AdminUser,
                   ids: list[str] | None = Query(default=None), channel: Channel | None = None,
                   reason: str | None = None, limit: int = Query(default=100, ge=1, le=MAX_BULK)
                   ) -> SafeJSONResponse:
    lang = request_lang(request)
    if not ids:
        with pipeline.db.connect() as conn:
            ids = [i.rejected_id for i in pipeline.rejected.list(conn, channel=channel, reason=reason, limit=limit)]
    results = []
    for rid in ids[:MAX_BULK]:
        try:
            results.append(_result(reprocess(pipeline, channels, rid), lang))
        except DomainError as exc:
            results.append({"rejected_id": rid, "status": "error", "errors": [{"key": exc.key, "message": exc.message}]})
    summary: dict[str, int] = {}
    for r in results:
        summary[r["status"]] = summary.get(r["status"], 0) + 1
    return SafeJSONResponse({"results": results, "summary": summary})


@router.post("/{rejected_id}/reprocess", summary="Re-process one rejected item", response_model=ReprocessOut,
             responses=AUTH | errors(404, 409))
def reprocess_one(rejected_id: str, request: Request, pipeline: ServicesDep, channels: ChannelsDep,
                  _admin: AdminUser) -> SafeJSONResponse:
    return SafeJSONResponse(_result(reprocess(pipeline, channels, rejected_id), request_lang(request)))
