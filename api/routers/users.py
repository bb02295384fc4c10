"""Users, device/gateway API keys and notification subscriptions (administration).

``GET/POST /api/v1/users`` (admin), ``POST /api/v1/users/{id}/unlock`` (admin: end the login
throttling of an account, :mod:`api.login_throttle`), ``POST /api/v1/api-keys`` and
``DELETE /api/v1/api-keys/{id}`` (admin; the key is shown once), ``GET/POST /api/v1/subscriptions`` (admin for any org unit; any
other user for their own org unit, e.g. a district epidemiologist adding their email).
"""
from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from alerts.notify import SubscriptionIn, SubscriptionRepository
from alerts.users import UserIn
from api import login_throttle
from api.auth import KEY_KINDS, AdminUser, CurrentUser, describe, keys, people
from api.deps import ServicesDep
from api.params import UserId
from api.schemas import (AUTH, ApiKeyOut, RevokedKeyOut, SubscriptionOut, SubscriptionsOut, UnlockOut, UserOut,
                         UsersOut, errors)
from ingest.errors import DomainError

router = APIRouter(prefix="/api/v1", tags=["users"])
subscriptions = SubscriptionRepository()
log = logging.getLogger("sebac.auth")


@router.get("/users", response_model=UsersOut, responses=AUTH)
def list_users(admin: AdminUser, pipeline: ServicesDep) -> dict[str, Any]:
    with pipeline.db.connect() as conn:
        return {"items": [describe(u) for u in people.list(conn)]}


@router.post("/users", status_code=201, response_model=UserOut, responses=AUTH | errors(409))
def create_user(body: UserIn, admin: AdminUser, pipeline: ServicesDep) -> dict[str, Any]:
    with pipeline.db.begin() as conn:
        return describe(people.create(conn, body, pipeline.pyramid, pipeline.alert_clock.now()))


@router.post("/users/{user_id}/unlock", summary="End the login throttling of an account (failures in a row)",
             response_model=UnlockOut, responses=AUTH | errors(404))
def unlock_user(user_id: UserId, admin: AdminUser, pipeline: ServicesDep) -> dict[str, Any]:
    with pipeline.db.begin() as conn:
        user = people.get(conn, user_id)
        if user is None:
            raise DomainError("user.notFound", f"no user {user_id}", status=404)
        cleared = login_throttle.unlock(conn, user.username)
    log.info("user #%d's login failures cleared by administrator #%d (%s)", user_id, admin.user_id,
             "there were some" if cleared else "there were none")
    return {"user_id": user_id, "status": "unlocked", "cleared": cleared}


class ApiKeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    kind: str = Field(pattern="^(" + "|".join(KEY_KINDS) + ")$")
    orgunit_id: str | None = None


@router.post("/api-keys", status_code=201, summary="Create a device or gateway API key (shown once)",
             response_model=ApiKeyOut, responses=AUTH)
def create_api_key(body: ApiKeyIn, admin: AdminUser, pipeline: ServicesDep) -> dict[str, Any]:
    if body.orgunit_id is not None and body.orgunit_id not in pipeline.pyramid:
        raise DomainError("apikey.orgunit.unknown", f"unknown org unit {body.orgunit_id!r}", status=422)
    with pipeline.db.begin() as conn:
        key, raw = keys.create(conn, body.name, body.kind, body.orgunit_id, pipeline.alert_clock.now())
    return {"key_id": key.key_id, "name": key.name, "kind": key.kind, "orgunit_id": key.orgunit_id, "api_key": raw}


@router.delete("/api-keys/{key_id}", response_model=RevokedKeyOut, responses=AUTH | errors(404))
def revoke_api_key(key_id: str, admin: AdminUser, pipeline: ServicesDep) -> dict[str, Any]:
    with pipeline.db.begin() as conn:
        if not keys.revoke(conn, key_id, pipeline.alert_clock.now()):
            raise DomainError("apikey.notFound", f"no active API key {key_id!r}", status=404)
    return {"key_id": key_id, "status": "revoked"}


@router.get("/subscriptions", response_model=SubscriptionsOut, responses=AUTH)
def list_subscriptions(user: CurrentUser, pipeline: ServicesDep) -> dict[str, Any]:
    with pipeline.db.connect() as conn:
        rows = subscriptions.list(conn, None if user.role == "admin" else [user.orgunit_id])
    return {"items": [s.model_dump(mode="json") for s in rows]}


@router.post("/subscriptions", status_code=201, response_model=SubscriptionOut, responses=AUTH)
def create_subscription(body: SubscriptionIn, user: CurrentUser, pipeline: ServicesDep) -> dict[str, Any]:
    if user.role != "admin":
        if body.orgunit_id != user.orgunit_id or user.role == "chw":
            raise DomainError("auth.jurisdiction.denied", "you may subscribe only to your own org unit", status=403)
        body = body.model_copy(update={"user_id": user.user_id})
    with pipeline.db.begin() as conn:
        return subscriptions.create(conn, body, pipeline.pyramid, pipeline.diseases).model_dump(mode="json")
