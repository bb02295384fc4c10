"""``GET /api/v1/quality?week=2026-W46&district=...``: completeness, promptness, duplicate rate and
silent sites per site and CSCom for one epi week (definitions in :mod:`ingest.quality`)."""
from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Query, Request

from api.auth import CurrentUser
from api.deps import ServicesDep, get_settings
from api.schemas import AUTH, errors
from api.schemas_ingest import QualityOut
from api.routers._ingest_deps import require_within
from ingest.epiweek import EpiWeek, epiweek
from ingest.errors import DomainError
from ingest.quality import UnitQuality, quality_report

router = APIRouter(prefix="/api/v1", tags=["quality"])


def _unit(u: UnitQuality) -> dict[str, Any]:
    return {"orgunit_id": u.orgunit_id, "name": u.name, "level": u.level, "sites": u.sites,
            "complete": u.complete, "prompt": u.prompt, "reports": u.reports, "flagged_duplicates": u.flagged,
            "completeness": u.completeness, "promptness": u.promptness, "duplicate_rate": u.duplicate_rate}


def _iso(v: dt.datetime | None) -> str | None:
    return v.isoformat() if v else None


@router.get("/quality", response_model_exclude_unset=True, summary="Reporting completeness, promptness, duplicates and silent sites for a week",
            response_model=QualityOut, responses=AUTH | errors(404))
def quality(request: Request, pipeline: ServicesDep, user: CurrentUser,
            week: str | None = Query(default=None, pattern=r"^\d{4}-W\d{2}$",
                                     description="epi week, e.g. 2026-W46; default: the last complete week"),
            district: str | None = None, region: str | None = None,
            sites: bool = Query(default=True, description="include the per-site rows")) -> dict[str, Any]:
    settings = get_settings(request)
    now = pipeline.clock.now()
    start_day = pipeline.start_day
    wk = EpiWeek.parse(week) if week else epiweek(now.date() - dt.timedelta(days=7), start_day)
    if not 1 <= wk.week <= 53:
        raise DomainError("quality.week.invalid", f"no week {week}", status=422)
    scope = district or region or user.orgunit_id  # default: the user's own jurisdiction
    unit = pipeline.pyramid.resolve(scope)
    if unit is None:
        raise DomainError("report.orgunit.unknown", f"unknown org unit {scope}", status=404, orgunit_id=scope)
    require_within(pipeline, user, unit.id)
    silent_days = getattr(settings, "silent_after_days", 3)
    with pipeline.db.connect() as conn:
        q = quality_report(conn, pipeline.pyramid, unit.id, wk, now=now, start_day=start_day, silent_days=silent_days,
                           deadline_days=getattr(settings, "promptness_deadline_days", 1))
    out: dict[str, Any] = {
        "week": str(q.week), "scope": _unit(q.summary), "deadline": q.deadline.isoformat(),
        "silent_since": q.silent_since.isoformat(),
        "health_areas": [_unit(a) for a in q.health_areas],
        "silent_sites": [{"site_id": s.site_id, "name": s.name, "health_area_id": s.health_area_id,
                          "last_received_at": _iso(s.last_received)} for s in q.sites if s.silent],
    }
    if sites:
        out["sites"] = [{"site_id": s.site_id, "name": s.name, "health_area_id": s.health_area_id,
                         "reports": s.reports, "complete": s.complete, "prompt": s.prompt,
                         "first_received_at": _iso(s.first_received), "last_received_at": _iso(s.last_received),
                         "silent": s.silent} for s in q.sites]
    return out
