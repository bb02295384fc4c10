"""Alert inbox and actions, each within the caller's part of the pyramid.

* ``GET /api/v1/alerts`` — filters ``status`` (repeatable), ``district``, ``disease``, ``level``;
  pagination ``limit``/``offset``; ordered by risk then recency; only alerts within the user's org unit.
* ``GET /api/v1/alerts/{id}`` — the alert with its events, signals, notifications and 7-1-7 timeliness.
* ``POST /api/v1/alerts/{id}/{acknowledge|verify|discard|respond|close|escalate|take_over|assess}`` —
  body ``{"reason": "..."}`` (required for discard and close: the outcome), ``{"level": "..."}``
  optionally for escalate, ``{"assessment": {...}}`` for assess (:mod:`alerts.assessment`). The
  detail lists the caller's ``allowed_actions`` (:mod:`alerts.permissions`). An alert outside the caller's jurisdiction answers 403 and nothing changes.
"""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel, ConfigDict, Field

from alerts.assessment import summary
from alerts.lifecycle import ACTIONS
from alerts.outbox import OutboxRepository
from alerts.timeliness import timeliness
from alerts.users import alert_scope, authorize_read
from api.auth import CurrentUser
from api.deps import ServicesDep
from api.params import AlertId, Offset
from api.schemas import AUTH, AlertDetailOut, AlertsOut, errors
from ingest.errors import DomainError

router = APIRouter(prefix="/api/v1", tags=["alerts"])
outbox = OutboxRepository()


@router.get("/alerts", response_model=AlertsOut, responses=AUTH)
def list_alerts(user: CurrentUser, pipeline: ServicesDep, status: list[str] | None = Query(default=None),
                district: str | None = None, disease: str | None = None, level: str | None = None,
                limit: int = Query(default=50, ge=1, le=500), offset: Offset = 0) -> dict[str, Any]:
    _, jurisdiction = alert_scope(user, pipeline.pyramid)
    filters: dict[str, Any] = dict(status=status, district_ids=[district] if district else None, disease=disease,
                   orgunit_ids=jurisdiction, level=level)
    with pipeline.db.connect() as conn:
        rows = pipeline.alerts.list(conn, limit=limit, offset=offset, **filters)
        total = pipeline.alerts.total(conn, **filters)
    return {"items": [a.model_dump(mode="json") for a in rows], "total": total, "limit": limit, "offset": offset}


def _detail(pipeline: Any, conn: Any, alert: Any, user: Any) -> dict[str, Any]:
    events = pipeline.alerts.events(conn, alert.alert_id)
    signals = pipeline.alerts.signals(conn, alert.alert_id)
    sent = [{k: r[k] for k in ("outbox_id", "channel", "reason", "level", "status", "attempts", "created_at",
                               "sent_at", "last_error")} for r in outbox.for_alert(conn, alert.alert_id)]
    return alert.model_dump(mode="json") | {
        "events": [e.model_dump(mode="json") for e in events],
        "signals": [s.model_dump(mode="json") for s in signals],
        "notifications": [{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in n.items()} for n in sent],
        "timeliness": timeliness(alert, pipeline.alert_clock.now()),
        "assessment": summary(events),
        "allowed_actions": pipeline.alerting.allowed_actions(user, alert),
    }


@router.get("/alerts/{alert_id}", response_model=AlertDetailOut, responses=AUTH | errors(404))
def get_alert(alert_id: AlertId, user: CurrentUser, pipeline: ServicesDep) -> dict[str, Any]:
    with pipeline.db.connect() as conn:
        alert = pipeline.alerts.get(conn, alert_id)
        if alert is None:
            raise DomainError("alert.notFound", f"alert {alert_id} not found", status=404, id=alert_id)
        authorize_read(user, alert, pipeline.pyramid)
        return _detail(pipeline, conn, alert, user)


class ActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=2000)
    level: str | None = Field(default=None, description="escalate only: target level (default: the next one)")
    assessment: dict[str, Any] | None = Field(default=None, description="assess only: {kind: risk|response, "
                                              "risk: low|moderate|high|very_high (risk only), text}")


@router.post("/alerts/{alert_id}/{action}", response_model=AlertDetailOut, responses=AUTH | errors(404, 409))
def act_on_alert(alert_id: AlertId, action: str, user: CurrentUser, pipeline: ServicesDep,
                 body: ActionIn | None = Body(default=None)) -> dict[str, Any]:
    if action not in ACTIONS:
        raise DomainError("alert.action.unknown", f"unknown action {action!r}; one of {', '.join(ACTIONS)}",
                          status=404)
    body = body or ActionIn()
    if body.level is not None and action != "escalate":
        raise DomainError("alert.action.levelNotAllowed", "level is only for escalate", status=422)
    now = pipeline.alert_clock.now()
    with pipeline.db.begin() as conn:  # a refusal raises inside: the transaction rolls back, nothing changes
        alert = pipeline.alerting.act(conn, alert_id, action, user, now, reason=body.reason, to_level=body.level,
                                      assessment=body.assessment)
    with pipeline.db.connect() as conn:
        return _detail(pipeline, conn, alert, user)
