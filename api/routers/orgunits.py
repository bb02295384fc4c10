"""``GET /api/v1/orgunits`` (the pyramid, filterable) and ``GET /api/v1/diseases``."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from api.deps import PipelineDep

router = APIRouter(prefix="/api/v1", tags=["reference"])


@router.get("/orgunits")
def list_orgunits(pipeline: PipelineDep, level: str | None = None, parent: str | None = None,
                  limit: int = Query(default=1000, ge=1, le=10000), offset: int = Query(default=0, ge=0)) -> dict[str, Any]:
    p = pipeline.pyramid
    units = list(p.units.values())
    if level:
        units = [u for u in units if u.level == level]
    if parent:
        units = [u for u in units if u.parent_id == parent]
    return {"levels": list(p.levels), "total": len(units),
            "items": [u.model_dump(mode="json") for u in units[offset:offset + limit]]}


@router.get("/diseases")
def list_diseases(pipeline: PipelineDep) -> dict[str, Any]:
    return {"items": [d.model_dump(mode="json") for d in pipeline.diseases]}
