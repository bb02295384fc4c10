"""``POST /api/v1/reports``: one CHW report (JSON object) or a batch (JSON list).

The body is read raw so that malformed JSON, invalid UTF-8 and oversized bodies are kept in the
rejected table with their reason before answering 4xx. A batch accepts the valid items and answers a
per-item result list (HTTP 207-like semantics with status 200).
"""
from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.deps import PipelineDep
from api.errors import error_body
from ingest.contracts import Channel
from ingest.errors import ErrorDetail
from ingest.messages import translate

router = APIRouter(prefix="/api/v1", tags=["reports"])


def _result_item(res: Any, lang: str) -> dict[str, Any]:
    out: dict[str, Any] = {"status": res.status}
    if res.report is not None:
        out["report_id"] = res.report.report_id
        out["idempotency_key"] = res.report.idempotency_key
    if res.errors:
        out["errors"] = [dict(e.as_dict(), message=translate(e.key, lang, field=e.field, **e.params))
                         for e in res.errors]
        out["rejected_id"] = res.rejected_id
    if res.alerts:
        out["alert_ids"] = [a.alert_id for a in res.alerts]
    return out


@router.post("/reports", summary="Submit one report (object) or a batch (list)")
async def post_reports(request: Request, pipeline: PipelineDep) -> JSONResponse:
    lang = "fr" if request.headers.get("accept-language", "").lower().startswith("fr") else "en"
    limit = request.app.state.settings.max_body_bytes
    body = await request.body()
    if len(body) > limit:
        res = pipeline.reject(Channel.http, body[:limit],
                              [ErrorDetail("report.body.too_large", None, {"bytes": len(body), "max": limit})])
        return JSONResponse(error_body("report.body.too_large", translate("report.body.too_large", lang),
                                       _result_item(res, lang)["errors"]), status_code=413)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        res = pipeline.reject(Channel.http, body, [ErrorDetail("report.encoding.invalid", None,
                                                               {"position": exc.start})])
        return JSONResponse(error_body("report.encoding.invalid", translate("report.encoding.invalid", lang),
                                       _result_item(res, lang)["errors"]), status_code=400)
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        res = pipeline.reject(Channel.http, text, [ErrorDetail("report.json.malformed", None,
                                                               {"line": exc.lineno, "column": exc.colno})])
        return JSONResponse(error_body("report.json.malformed", translate("report.json.malformed", lang),
                                       _result_item(res, lang)["errors"]), status_code=400)
    if isinstance(payload, list):
        results = [_result_item(pipeline.submit(item, Channel.http), lang) for item in payload]
        summary = {s: sum(1 for r in results if r["status"] == s) for s in ("accepted", "duplicate", "rejected")}
        return JSONResponse({"results": results, "summary": summary}, status_code=200)
    res = pipeline.submit(payload, Channel.http)
    item = _result_item(res, lang)
    if res.status == "rejected":
        first = res.errors[0]
        return JSONResponse(error_body(first.key, item["errors"][0]["message"], item["errors"]) |
                            {"rejected_id": res.rejected_id}, status_code=422)
    return JSONResponse(item, status_code=201 if res.status == "accepted" else 200)
