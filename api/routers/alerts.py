"""Alert inbox: ``GET /api/v1/alerts`` (ordered by risk) and ``GET /api/v1/alerts/{id}``."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from api.deps import PipelineDep
from ingest.errors import DomainError

router = APIRouter(prefix="/api/v1", tags=["alerts"])


@router.get("/alerts")
def list_alerts(pipeline: PipelineDep, status: list[str] | None = Query(default=None),
                district: str | None = None, disease: str | None = None,
                limit: int = Query(default=50, ge=1, le=500), offset: int = Query(default=0, ge=0)) -> dict[str, Any]:
    with pipeline.db.connect() as conn:
        rows = pipeline.alerts.list(conn, status=status, district_ids=[district] if district else None,
                                    disease=disease, limit=limit, offset=offset)
    return {"items": [a.model_dump(mode="json") for a in rows], "limit": limit, "offset": offset}


@router.get("/alerts/{alert_id}")
def get_alert(alert_id: int, pipeline: PipelineDep) -> dict[str, Any]:
    with pipeline.db.connect() as conn:
        alert = pipeline.alerts.get(conn, alert_id)
        if alert is None:
            raise DomainError("alert.not_found", f"alert {alert_id} not found", status=404)
        events = pipeline.alerts.events(conn, alert_id)
        signals = pipeline.alerts.signals(conn, alert_id)
    return alert.model_dump(mode="json") | {"events": [e.model_dump(mode="json") for e in events],
                                            "signals": [s.model_dump(mode="json") for s in signals]}
