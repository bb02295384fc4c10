"""``/healthz`` (liveness + database check) and ``/metrics`` (Prometheus text format)."""
from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.deps import PipelineDep

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz(pipeline: PipelineDep) -> JSONResponse:
    try:
        with pipeline.db.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return JSONResponse({"status": "ok", "orgunits": len(pipeline.pyramid)})
    except Exception as exc:  # the database is down: say so, 503
        return JSONResponse({"status": "error", "detail": str(exc)}, status_code=503)


@router.get("/metrics")
def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
