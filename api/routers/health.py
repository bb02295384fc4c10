"""``/healthz`` (liveness + database check) and ``/metrics`` (Prometheus text format).

A failing database check answers 503 with the key ``health.database.unavailable``; the error itself
(which may name hosts, files or SQL) goes to the log only.

``/metrics`` serves the in-process metrics (merged over every worker process when
``PROMETHEUS_MULTIPROC_DIR`` is set) and the gauges computed from the database (see
:mod:`api.metrics`).
"""
from __future__ import annotations

import logging

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from api.deps import ServicesDep
from api.errors import error_body
from api.schemas import ErrorOut, HealthOut
from api.metrics import exposition
from ingest.messages import register

router = APIRouter(tags=["operations"])
log = logging.getLogger("sebac.api")
register("en", {"health.database.unavailable": "The database does not answer."})
register("fr", {"health.database.unavailable": "La base de données ne répond pas."})


@router.get("/healthz", response_model=HealthOut,
            responses={503: {"model": ErrorOut, "description": "the database does not answer (key only)"}})
def healthz(pipeline: ServicesDep) -> JSONResponse:
    try:
        with pipeline.db.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return JSONResponse({"status": "ok", "orgunits": len(pipeline.pyramid)})
    except Exception:  # the database is down: say so (503), and keep its error text in the log
        log.exception("health check: the database does not answer")
        return JSONResponse({"status": "error"} | error_body("health.database.unavailable",
                                                             "the database does not answer"), status_code=503)


@router.get("/metrics", summary="Prometheus metrics (text exposition format)", response_class=Response,
            responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}}})
def metrics(request: Request) -> Response:
    return Response(exposition(request.app.state), media_type=CONTENT_TYPE_LATEST)
