"""People who act on alerts: roles, their place in the pyramid, passwords, and who may do what.

Roles and the pyramid level they work at (levels are configuration; :data:`ROLE_LEVELS` maps the
fixed role names onto the Mali pyramid and is checked against the loaded pyramid):

=========  ===========  ================================================================
role       level        may
=========  ===========  ================================================================
chw        site         submit reports (no alert access)
cscom      health_area  read and act on alerts of its health area
district   district     read and act on alerts of its district
region     region       read and act on alerts of its region
national   national     read and act on every alert
admin      national     everything, plus manage users, subscriptions and API keys
=========  ===========  ================================================================

Jurisdiction: a user sees an alert when the alert's org unit is the user's org unit or below it
(``pyramid.is_within``), whatever level the alert has escalated to: escalation adds people, it
does not remove any. The per-action rules (acknowledgement level, take over) are the table in
:mod:`alerts.permissions`.

Passwords are hashed with Argon2id (argon2-cffi, OWASP's first choice).
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Any, Iterable

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.engine import Connection

from alerts.contracts import Alert
from alerts.metrics import observe_auth_denied
from alerts.permissions import Context, refusal
from alerts.policy import EscalationPolicy
from alerts.tables import inserted_id, users
from ingest.errors import DomainError
from ingest.pyramid import Pyramid

ROLE_LEVELS = {"chw": "site", "cscom": "health_area", "district": "district", "region": "region",
               "national": "national", "admin": "national"}
ROLES = tuple(ROLE_LEVELS)
NOTIFYING_LEVEL = "district"  # 7-1-7: an acknowledgement at this level or above is the notification

_hasher = PasswordHasher()  # argon2-cffi defaults: RFC 9106 low-memory profile (Argon2id, t=3, 64 MiB)


def use_password_hasher(hasher: PasswordHasher) -> PasswordHasher:
    """Swap the hasher (tests use argon2's CHEAPEST profile); returns the previous one."""
    global _hasher
    previous, _hasher = _hasher, hasher
    return previous


class User(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    user_id: int
    username: str
    role: str
    orgunit_id: str
    full_name: str | None = None
    phone: str | None = None
    email: str | None = None
    lang: str = "fr"
    active: bool = True
    created_at: dt.datetime | None = None

    @property
    def level(self) -> str:
        return ROLE_LEVELS[self.role]


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(pattern=r"^[a-zA-Z0-9_.@-]{3,64}$")
    password: str = Field(min_length=10, max_length=200)
    role: str = Field(pattern="^(" + "|".join(ROLES) + ")$")
    orgunit_id: str
    full_name: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=32)
    email: str | None = Field(default=None, max_length=200, pattern=r"^[^@\s]+@[^@\s]+$")
    lang: str = Field(default="fr", pattern=r"^[a-z]{2,3}$")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def normalize_phone(phone: str | None) -> str | None:
    """``+223 70 00 00 01`` / ``0022370000001`` → ``+22370000001``; None stays None."""
    if phone is None or not phone.strip():
        return None
    p = re.sub(r"[\s\-().]", "", phone.strip())
    if p.startswith("00"):
        p = "+" + p[2:]
    if not re.fullmatch(r"\+?\d{6,15}", p):
        raise DomainError("user.phone.invalid", f"not a phone number: {phone!r}", status=422)
    return p


def check_role_placement(role: str, orgunit_id: str, pyramid: Pyramid) -> None:
    if role not in ROLE_LEVELS:
        raise DomainError("user.role.unknown", f"unknown role {role!r}", status=422, role=role)
    if orgunit_id not in pyramid:
        raise DomainError("user.orgunit.unknown", f"unknown org unit {orgunit_id!r}", status=422)
    want, got = ROLE_LEVELS[role], pyramid.get(orgunit_id).level
    if want != got:
        raise DomainError("user.orgunit.levelMismatch", f"a {role} user belongs to a {want}, "
                          f"not a {got} ({orgunit_id})", status=422, role=role, level=got)


# -- who may do what -------------------------------------------------------------------------------
def can_read(user: User, alert: Alert, pyramid: Pyramid) -> bool:
    if user.role == "chw" or not user.active:
        return False
    return alert.orgunit_id in pyramid and pyramid.is_within(alert.orgunit_id, user.orgunit_id)


def _denied(key: str, message: str, observe: bool = True, **params: Any) -> DomainError:
    if observe:
        observe_auth_denied(key)
    return DomainError(key, message, status=403, **params)


def authorize_read(user: User, alert: Alert, pyramid: Pyramid, observe: bool = True) -> None:
    if user.role == "chw":
        raise _denied("auth.role.forbidden", "community health workers have no access to alerts", observe)
    if not can_read(user, alert, pyramid):
        raise _denied("auth.jurisdiction.denied", f"alert #{alert.alert_id} is outside your part of the pyramid",
                      observe, id=alert.alert_id)


def authorize_action(user: User, action: str, alert: Alert, pyramid: Pyramid, policy: EscalationPolicy,
                     acknowledge_from: str | None, observe: bool = True) -> None:
    """Jurisdiction first, then the action's rules in :data:`alerts.permissions.RULES` (a table, not ifs).
    ``observe=False``: a question (which buttons to show), not a refused request — no metric."""
    authorize_read(user, alert, pyramid, observe)
    refused = refusal(action, Context(user.level, alert, policy, acknowledge_from))
    if refused is not None:
        key, level = refused
        raise _denied(key, f"alert #{alert.alert_id}: a {user.role} user may not {action} it "
                           f"(needs {level} level or above)", observe, level=level, id=alert.alert_id)


def visible_scope(user: User) -> str | None:
    """The org unit whose subtree the user sees (None: nothing)."""
    return None if user.role == "chw" or not user.active else user.orgunit_id


def alert_scope(user: User, pyramid: Pyramid) -> tuple[str, list[str] | None]:
    """The org unit whose alerts ``user`` lists, and the ids of its subtree (None for the root: all).

    A CHW, an inactive account or an org unit gone from the pyramid has no alert list (403)."""
    scope = visible_scope(user)
    if scope is None or scope not in pyramid:
        raise DomainError("auth.role.forbidden", "this account has no access to alerts", status=403)
    if pyramid.get(scope).parent_id is None:
        return scope, None
    return scope, [u.id for u in pyramid.descendants(scope)]


def counts_as_notification(user: User, policy: EscalationPolicy) -> bool:
    return policy.rank(user.level) >= policy.rank(NOTIFYING_LEVEL)


# -- storage ----------------------------------------------------------------------------------------
def _user(row: Any) -> User:
    return User.model_validate(dict(row._mapping))


class UserRepository:
    def create(self, conn: Connection, data: UserIn, pyramid: Pyramid, now: dt.datetime) -> User:
        check_role_placement(data.role, data.orgunit_id, pyramid)
        phone = normalize_phone(data.phone)
        if self.by_username(conn, data.username):
            raise DomainError("user.username.taken", f"username {data.username!r} is taken", status=409)
        if phone and self.by_phone(conn, phone):
            raise DomainError("user.phone.taken", "this phone number belongs to another user", status=409)
        values = data.model_dump(exclude={"password"}) | {"phone": phone, "created_at": now,
                                                         "password_hash": hash_password(data.password)}
        user_id = inserted_id(conn.execute(users.insert().values(**values)))
        return self.get(conn, int(user_id))  # type: ignore[return-value]

    def get(self, conn: Connection, user_id: int) -> User | None:
        row = conn.execute(sa.select(users).where(users.c.user_id == user_id)).first()
        return _user(row) if row else None

    def by_username(self, conn: Connection, username: str) -> User | None:
        row = conn.execute(sa.select(users).where(users.c.username == username)).first()
        return _user(row) if row else None

    def by_phone(self, conn: Connection, phone: str) -> User | None:
        try:
            p = normalize_phone(phone)
        except DomainError:
            return None
        row = conn.execute(sa.select(users).where(users.c.phone == p, users.c.active.is_(True))).first()
        return _user(row) if row else None

    def authenticate(self, conn: Connection, username: str, password: str) -> User | None:
        row = conn.execute(sa.select(users).where(users.c.username == username)).first()
        if row is None:
            hash_password(password)  # same cost whether or not the user exists (no user enumeration by timing)
            return None
        if not row.active or not verify_password(row.password_hash, password):
            return None
        if _hasher.check_needs_rehash(row.password_hash):
            conn.execute(users.update().where(users.c.user_id == row.user_id)
                         .values(password_hash=hash_password(password)))
        return _user(row)

    def list(self, conn: Connection, orgunit_ids: Iterable[str] | None = None) -> list[User]:
        q = sa.select(users).order_by(users.c.user_id)
        if orgunit_ids is not None:
            q = q.where(users.c.orgunit_id.in_(list(orgunit_ids)))
        return [_user(r) for r in conn.execute(q)]
