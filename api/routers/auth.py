"""``POST /api/v1/auth/token`` (log in), ``POST /api/v1/auth/logout``, ``GET /api/v1/auth/me``.

The login body is JSON ``{"username", "password"}`` or an OAuth2 password form
(``application/x-www-form-urlencoded``), so the OpenAPI "Authorize" button works too.

Failures in a row slow the next attempts of the account and of the address (:mod:`api.login_throttle`,
:mod:`api.login_policy`): while one waits, the answer is 429 ``auth.login.throttled`` with
``Retry-After``, whatever the password.
"""
from __future__ import annotations

import datetime as dt
import json
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from alerts.metrics import observe_auth_denied
from api import login_throttle
from api.auth import CurrentUser, _bearer, describe, people, tokens
from api.deps import ServicesDep, get_settings
from api.errors import error_body
from api.schemas import AUTH, LoginIn, StatusOut, TokenOut, UserOut, errors
from api.schemas_ingest import body as raw_body
from api.routers._ingest_deps import request_lang
from ingest.errors import DomainError
from ingest.messages import translate

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


def _throttled(request: Request, decision: login_throttle.Decision) -> JSONResponse:
    seconds = decision.retry_after_seconds
    message = translate("auth.login.throttled", request_lang(request), seconds=seconds)
    return JSONResponse(error_body("auth.login.throttled", message), status_code=429,
                        headers={"Retry-After": str(seconds)})


@router.post("/token", summary="Log in: a bearer token for a username and password", response_model=TokenOut,
             responses=errors(401, 422, 429),
             openapi_extra=raw_body(("application/json", LoginIn), ("application/x-www-form-urlencoded", LoginIn)))
async def login(request: Request, pipeline: ServicesDep) -> Any:
    username, password = await _credentials(request)
    address = request.client.host if request.client else None
    ttl = dt.timedelta(hours=get_settings(request).auth_token_hours)
    # the database and the password hash (Argon2, ~0.5 s) stay off the event loop
    decision, user, issued = await run_in_threadpool(_judge, pipeline, username, password, address, ttl)
    if not decision.allowed:
        return _throttled(request, decision)
    if user is None or issued is None:
        observe_auth_denied("auth.login.failed")
        raise DomainError("auth.login.failed", "wrong username or password", status=401)
    raw, expires = issued
    return {"access_token": raw, "token_type": "bearer", "expires_at": expires.isoformat(), "user": describe(user)}


def _judge(pipeline: Any, username: str, password: str, address: str | None, ttl: dt.timedelta) -> tuple:
    now = pipeline.alert_clock.now()
    with pipeline.db.connect() as conn:  # a waiting key is refused before paying for the hash
        early = login_throttle.wait(conn, username, address, now)
    if not early.allowed:
        return early, None, None
    with pipeline.db.begin() as conn:  # committed whatever the outcome: a failure must count
        user = people.authenticate(conn, username, password)
        decision = login_throttle.check_and_record(conn, username, address, user is not None, now)
        issued = tokens.issue(conn, user.user_id, now, ttl) if user is not None and decision.allowed else None
    return decision, user, issued


@router.post("/logout", summary="Revoke the token of this request", response_model=StatusOut, responses=AUTH)
def logout(request: Request, user: CurrentUser, pipeline: ServicesDep) -> dict[str, str]:
    with pipeline.db.begin() as conn:
        tokens.revoke(conn, _bearer(request) or "", pipeline.alert_clock.now())
    return {"status": "logged_out"}


@router.get("/me", summary="The logged-in user", response_model=UserOut, responses=AUTH)
def me(user: CurrentUser) -> dict[str, Any]:
    return describe(user)
