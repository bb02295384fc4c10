"""``/healthz`` (liveness + database check) and ``/metrics`` (Prometheus text format).

``/metrics`` serves the in-process metrics (merged over every worker process when
``PROMETHEUS_MULTIPROC_DIR`` is set) and the gauges computed from the database (see
:mod:`api.metrics`).
"""
from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from api.deps import PipelineDep
from api.metrics import exposition

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz(pipeline: PipelineDep) -> JSONResponse:
    try:
        with pipeline.db.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return JSONResponse({"status": "ok", "orgunits": len(pipeline.pyramid)})
    except Exception as exc:  # the database is down: say so, 503
        return JSONResponse({"status": "error", "detail": str(exc)}, status_code=503)


@router.get("/metrics", summary="Prometheus metrics (text exposition format)")
def metrics(request: Request) -> Response:
    return Response(exposition(request.app.state), media_type=CONTENT_TYPE_LATEST)
