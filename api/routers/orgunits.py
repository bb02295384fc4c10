"""``GET /api/v1/orgunits`` (the pyramid, filterable) and ``GET /api/v1/diseases``."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from api.deps import ServicesDep
from api.params import Offset
from api.schemas import DiseasesOut, OrgUnitsOut, errors

router = APIRouter(prefix="/api/v1", tags=["reference"])


@router.get("/orgunits", response_model=OrgUnitsOut, responses=errors(422))
def list_orgunits(pipeline: ServicesDep, level: str | None = None, parent: str | None = None,
                  limit: int = Query(default=1000, ge=1, le=10000), offset: Offset = 0) -> dict[str, Any]:
    p = pipeline.pyramid
    units = list(p.units.values())
    if level:
        units = [u for u in units if u.level == level]
    if parent:
        units = [u for u in units if u.parent_id == parent]
    return {"levels": list(p.levels), "total": len(units),
            "items": [u.model_dump(mode="json") for u in units[offset:offset + limit]]}


@router.get("/diseases", response_model=DiseasesOut)
def list_diseases(pipeline: ServicesDep) -> dict[str, Any]:
    return {"items": [d.model_dump(mode="json") for d in pipeline.diseases]}
