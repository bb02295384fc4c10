"""``POST /api/v1/auth/token`` (log in), ``POST /api/v1/auth/logout``, ``GET /api/v1/auth/me``.

The login body is JSON ``{"username", "password"}`` or an OAuth2 password form
(``application/x-www-form-urlencoded``), so the OpenAPI "Authorize" button works too.
"""
from __future__ import annotations

import datetime as dt
import json
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request

from api.auth import CurrentUser, _bearer, describe, people, tokens
from alerts.metrics import observe_auth_denied
from api.deps import PipelineDep
from ingest.errors import DomainError

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


async def _credentials(request: Request) -> tuple[str, str]:
    body = await request.body()
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        form = parse_qs(body.decode("utf-8", "replace"))
        data = {k: v[0] for k, v in form.items()}
    else:
        try:
            data = json.loads(body or b"{}")
        except (json.JSONDecodeError, UnicodeDecodeError):
            data = None
    if not isinstance(data, dict) or not isinstance(data.get("username"), str) \
            or not isinstance(data.get("password"), str):
        raise DomainError("auth.login.invalid", "send username and password", status=422)
    return data["username"], data["password"]


@router.post("/token", summary="Log in: a bearer token for a username and password")
async def login(request: Request, pipeline: PipelineDep) -> dict[str, Any]:
    username, password = await _credentials(request)
    now = pipeline.alert_clock.now()
    ttl = dt.timedelta(hours=request.app.state.settings.auth_token_hours)
    with pipeline.db.begin() as conn:
        user = people.authenticate(conn, username, password)
        if user is None:
            observe_auth_denied("auth.login.failed")
            raise DomainError("auth.login.failed", "wrong username or password", status=401)
        raw, expires = tokens.issue(conn, user.user_id, now, ttl)
    return {"access_token": raw, "token_type": "bearer", "expires_at": expires.isoformat(), "user": describe(user)}


@router.post("/logout", summary="Revoke the token of this request")
def logout(request: Request, user: CurrentUser, pipeline: PipelineDep) -> dict[str, str]:
    with pipeline.db.begin() as conn:
        tokens.revoke(conn, _bearer(request) or "", pipeline.alert_clock.now())
    return {"status": "logged_out"}


@router.get("/me", summary="The logged-in user")
def me(user: CurrentUser) -> dict[str, Any]:
    return describe(user)
