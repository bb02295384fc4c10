"""Response models of the API (and the request bodies the routes read raw), so the OpenAPI document
states what the code answers and clients can be generated from it.

Every operation declares ``response_model`` and its error answers (:data:`ERRORS` and friends), all in
the one error shape of :mod:`api.errors`. Models of answers keep ``extra="allow"``: a field added to an
answer is not silently dropped by FastAPI's response filtering before the model learns it. The ingest
side (reports, DHIS2, SMS, uploads, rejected items, quality) is in :mod:`api.schemas_ingest`.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from alerts.contracts import Alert, AlertEvent
from alerts.notify import Subscription
from detectors.contracts import Signal
from ingest.diseases import Disease
from ingest.pyramid import OrgUnit


class Out(BaseModel):
    """An answer: fields beyond the declared ones are kept (see the module docstring)."""

    model_config = ConfigDict(extra="allow")


# -- errors: {"error": {"key", "message", "errors": [...]}} -----------------------------------------

class ErrorItem(Out):
    key: str = Field(description="stable error key, e.g. report.orgunit.unknown")
    field: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    message: str | None = Field(default=None, description="translated (Accept-Language, fr or en)")


class ErrorInfo(Out):
    key: str = Field(description="stable error key")
    message: str = Field(description="translated message")
    errors: list[ErrorItem] = Field(default_factory=list)


class ErrorOut(Out):
    error: ErrorInfo
    rejected_id: str | None = Field(default=None, description="the kept rejected item, when the input was kept")


def errors(*codes: int, **described: str) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for FastAPI: each status answers :class:`ErrorOut`."""
    text = {400: "malformed input (kept as a rejected item)", 401: "no or bad credentials",
            403: "outside your role or jurisdiction", 404: "no such resource", 409: "conflict",
            413: "body or batch too large", 422: "invalid input (stable key per error)",
            429: "too many failed logins in a row: wait ``Retry-After`` seconds"}
    return {c: {"model": ErrorOut, "description": described.get(f"e{c}", text.get(c, "error"))} for c in codes}


AUTH = errors(401, 403, 422)  # every authenticated operation with parameters


# -- auth and users ----------------------------------------------------------------------------------

class LoginIn(BaseModel):
    """The login body: JSON, or the same fields as an OAuth2 password form."""

    username: str
    password: str


class UserOut(Out):
    user_id: int
    username: str
    role: str
    orgunit_id: str
    level: str | None = Field(default=None, description="pyramid level of the user's org unit")
    full_name: str | None = None
    phone: str | None = None
    email: str | None = None
    lang: str = "fr"
    active: bool = True
    created_at: dt.datetime | None = None


class TokenOut(Out):
    access_token: str
    token_type: str = "bearer"
    expires_at: str = Field(description="ISO 8601 time the token stops working")
    user: UserOut


class StatusOut(Out):
    status: str


class UsersOut(Out):
    items: list[UserOut]


class UnlockOut(Out):
    user_id: int
    status: str
    cleared: bool = Field(description="whether the account had failures in a row")


class ApiKeyOut(Out):
    key_id: str
    name: str
    kind: str
    orgunit_id: str | None = None
    api_key: str = Field(description="the key itself: shown once, never stored in clear")


class RevokedKeyOut(Out):
    key_id: str
    status: str


class SubscriptionOut(Subscription):
    model_config = ConfigDict(extra="allow")


class SubscriptionsOut(Out):
    items: list[SubscriptionOut]


# -- alerts ------------------------------------------------------------------------------------------

class AlertOut(Alert):
    model_config = ConfigDict(extra="allow")


class AlertsOut(Out):
    items: list[AlertOut]
    total: int
    limit: int
    offset: int


class NotificationOut(Out):
    outbox_id: int
    channel: str
    reason: str | None = None
    level: str | None = None
    status: str
    attempts: int
    created_at: str | None = None
    sent_at: str | None = None
    last_error: str | None = None


class AlertDetailOut(AlertOut):
    events: list[AlertEvent]
    signals: list[Signal]
    notifications: list[NotificationOut]
    timeliness: dict[str, Any] = Field(description="7-1-7: stamps, days per step, targets, status")
    assessment: dict[str, Any] = Field(description="latest verification, risk, response actions, outcome")
    allowed_actions: list[str]


# -- reference and operations ------------------------------------------------------------------------

class OrgUnitsOut(Out):
    levels: list[str]
    total: int
    items: list[OrgUnit]


class DiseasesOut(Out):
    items: list[Disease]


class HealthOut(Out):
    status: str
    orgunits: int | None = None


class HistoryItem(Out):
    iso_year: int
    iso_week: int
    count: int


class HistoryOut(Out):
    area_id: str
    disease: str
    items: list[HistoryItem]
