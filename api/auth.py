"""Authentication: people log in for a token; devices and gateways present an API key.

* Passwords: Argon2id (:mod:`alerts.users`).
* Login tokens: 32 random bytes (``sbt_…``), stored as SHA-256 only, with an expiry
  (``SEBAC_AUTH_TOKEN_HOURS``), revocable (``POST /api/v1/auth/logout``). Sent as
  ``Authorization: Bearer <token>``.
* API keys for CHW devices and SMS gateways: ``sbk_<key id>_<secret>``, stored as SHA-256 of the
  whole key; shown once at creation; sent as ``X-API-Key`` (or ``Authorization: Bearer``).

A high-entropy random secret does not need a slow hash (unlike a password): SHA-256 with a
constant-time comparison is the usual choice (GitHub tokens, Stripe keys).

Dependency aliases in the Dispatch/Polar style: ``CurrentUser`` (any logged-in person),
``AdminUser``, ``Reporter`` (a person or a device allowed to submit reports), ``Gateway`` (an SMS
gateway's key) and ``ReportSubmitter`` (``Reporter``, but anonymous allowed outside production).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Depends, Request
from sqlalchemy.engine import Connection

from alerts.metrics import observe_auth_denied
from alerts.tables import api_keys, auth_tokens
from alerts.users import User, UserRepository
from api.deps import get_services, get_settings
from ingest.errors import DomainError

TOKEN_PREFIX = "sbt_"
KEY_PREFIX = "sbk_"
KEY_KINDS = ("device", "gateway")


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def _utc(v: dt.datetime) -> dt.datetime:
    return v if v.tzinfo else v.replace(tzinfo=dt.timezone.utc)  # SQLite hands back naive UTC


class TokenRepository:
    def issue(self, conn: Connection, user_id: int, now: dt.datetime, ttl: dt.timedelta) -> tuple[str, dt.datetime]:
        raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
        expires = now + ttl
        conn.execute(auth_tokens.insert().values(token_hash=_digest(raw), user_id=user_id, created_at=now,
                                                 expires_at=expires))
        return raw, expires

    def user_id(self, conn: Connection, raw: str, now: dt.datetime) -> int | None:
        row = conn.execute(sa.select(auth_tokens).where(auth_tokens.c.token_hash == _digest(raw))).first()
        if row is None or row.revoked_at is not None or _utc(row.expires_at) <= now:
            return None
        return int(row.user_id)

    def revoke(self, conn: Connection, raw: str, now: dt.datetime) -> None:
        conn.execute(auth_tokens.update().where(auth_tokens.c.token_hash == _digest(raw)).values(revoked_at=now))


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    name: str
    kind: str
    orgunit_id: str | None


class ApiKeyRepository:
    def create(self, conn: Connection, name: str, kind: str, orgunit_id: str | None,
               now: dt.datetime) -> tuple[ApiKey, str]:
        if kind not in KEY_KINDS:
            raise DomainError("apikey.kind.unknown", f"API key kind must be one of {KEY_KINDS}", status=422)
        key_id = secrets.token_hex(6)
        raw = f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
        conn.execute(api_keys.insert().values(key_id=key_id, key_hash=_digest(raw), name=name, kind=kind,
                                              orgunit_id=orgunit_id, created_at=now))
        return ApiKey(key_id, name, kind, orgunit_id), raw

    def verify(self, conn: Connection, raw: str) -> ApiKey | None:
        if not raw.startswith(KEY_PREFIX) or raw.count("_") < 2:
            return None
        key_id = raw[len(KEY_PREFIX):].split("_", 1)[0]
        row = conn.execute(sa.select(api_keys).where(api_keys.c.key_id == key_id)).first()
        if row is None or row.revoked_at is not None or not hmac.compare_digest(row.key_hash, _digest(raw)):
            return None
        return ApiKey(row.key_id, row.name, row.kind, row.orgunit_id)

    def revoke(self, conn: Connection, key_id: str, now: dt.datetime) -> bool:
        res = conn.execute(api_keys.update().where(api_keys.c.key_id == key_id, api_keys.c.revoked_at.is_(None))
                           .values(revoked_at=now))
        return res.rowcount == 1


tokens = TokenRepository()
keys = ApiKeyRepository()
people = UserRepository()


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _deny(key: str, message: str, status: int = 401) -> DomainError:
    observe_auth_denied(key)
    return DomainError(key, message, status=status)


def user_of_token(pipeline: Any, raw: str) -> User | None:
    """The active user a login token (``sbt_…``, from a header or the console's cookie) belongs to."""
    with pipeline.db.connect() as conn:
        user_id = tokens.user_id(conn, raw, pipeline.alert_clock.now())
        user = people.get(conn, user_id) if user_id is not None else None
    return user if user is not None and user.active else None


def current_user(request: Request) -> User:
    raw = _bearer(request)
    if raw is None or not raw.startswith(TOKEN_PREFIX):
        raise _deny("auth.token.missing", "log in first: POST /api/v1/auth/token, then send "
                                          "'Authorization: Bearer <token>'")
    user = user_of_token(get_services(request), raw)
    if user is None:
        raise _deny("auth.token.invalid", "the token is unknown, expired or revoked")
    request.state.user_lang = user.lang  # errors in the user's language when the request names none
    return user


def admin_user(user: Annotated[User, Depends(current_user)]) -> User:
    if user.role != "admin":
        raise _deny("auth.role.forbidden", "only an administrator may do this", status=403)
    return user


@dataclass(frozen=True)
class Principal:
    """Who submits: a person (``user``) or a device/gateway (``api_key``)."""

    user: User | None = None
    api_key: ApiKey | None = None

    @property
    def name(self) -> str:
        return f"user:{self.user.username}" if self.user else f"key:{self.api_key.key_id}"  # type: ignore[union-attr]


def reporter(request: Request) -> Principal:
    """For report intake: a device/gateway API key, or any logged-in person."""
    raw = request.headers.get("x-api-key") or _bearer(request)
    if raw and raw.startswith(KEY_PREFIX):
        with get_services(request).db.connect() as conn:
            key = keys.verify(conn, raw)
        if key is None:
            raise _deny("auth.apikey.invalid", "the API key is unknown or revoked")
        return Principal(api_key=key)
    return Principal(user=current_user(request))


def gateway(request: Request) -> ApiKey:
    """For SMS gateway webhooks: an API key of kind ``gateway``."""
    principal = reporter(request)
    if principal.api_key is None or principal.api_key.kind != "gateway":
        raise _deny("auth.role.forbidden", "a gateway API key is required", status=403)
    return principal.api_key


def report_submitter(request: Request) -> Principal | None:
    """For ``POST /api/v1/reports``: credentials, when sent, must be valid (a device API key or a login
    token); in production they are required. In development and test an anonymous submitter is
    accepted (None), so the demo feeder and local CHW-app testing work without keys."""
    sent = request.headers.get("x-api-key") or request.headers.get("authorization")
    if sent or getattr(get_settings(request), "environment", "production") == "production":
        return reporter(request)
    return None


CurrentUser = Annotated[User, Depends(current_user)]
AdminUser = Annotated[User, Depends(admin_user)]
Reporter = Annotated[Principal, Depends(reporter)]
Gateway = Annotated[ApiKey, Depends(gateway)]
ReportSubmitter = Annotated[Principal | None, Depends(report_submitter)]


def describe(user: User) -> dict[str, Any]:
    return user.model_dump(mode="json") | {"level": user.level}
