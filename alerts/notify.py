"""Who is told, and with what text: subscriptions on org units → outbox rows.

A subscription says "send alerts of this org unit's subtree (optionally one disease) to this address
on this channel, in this language". When an alert reaches a level (``new``, ``escalated``) or is
still unacknowledged there (``repeat``), the recipients are the subscriptions of the alert's
ancestor **at that level** (the district of Djenné for a district-level alert of Mougna), matching
the disease or all diseases. Rows go to the outbox in the caller's transaction.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.engine import Connection

from alerts.channels import CHANNELS
from alerts.contracts import Alert
from alerts.outbox import OutboxRepository
from alerts.tables import inserted_id, subscriptions, users
from alerts.templates import render
from ingest.diseases import DiseaseCatalogue
from ingest.errors import DomainError
from ingest.pyramid import Pyramid


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    orgunit_id: str
    channel: str = Field(pattern="^(" + "|".join(CHANNELS) + ")$")
    address: str = Field(min_length=3, max_length=500)
    disease: str | None = None
    lang: str = Field(default="fr", pattern=r"^[a-z]{2,3}$")
    user_id: int | None = Field(default=None, ge=1, le=2**31 - 1)  # a PostgreSQL integer id

    @model_validator(mode="after")
    def _address_fits_channel(self) -> "SubscriptionIn":
        if self.channel == "webhook" and not self.address.startswith(("http://", "https://")):
            raise ValueError("a webhook address must be an http(s) URL")
        if self.channel == "email" and "@" not in self.address:
            raise ValueError("an email address needs an @")
        return self


class Subscription(SubscriptionIn):
    model_config = ConfigDict(extra="ignore")

    subscription_id: int
    active: bool = True


class SubscriptionRepository:
    def create(self, conn: Connection, sub: SubscriptionIn, pyramid: Pyramid,
               diseases: DiseaseCatalogue | None = None) -> Subscription:
        if sub.orgunit_id not in pyramid:
            raise DomainError("subscription.orgunit.unknown", f"unknown org unit {sub.orgunit_id!r}", status=422)
        if sub.disease and diseases is not None and sub.disease not in diseases:
            raise DomainError("subscription.disease.unknown", f"unknown disease {sub.disease!r}", status=422)
        if sub.user_id is not None and conn.execute(sa.select(users.c.user_id).where(
                users.c.user_id == sub.user_id)).first() is None:  # else a foreign-key error (a 500)
            raise DomainError("subscription.user.unknown", f"no user {sub.user_id}", status=422)
        sid = inserted_id(conn.execute(subscriptions.insert().values(**sub.model_dump(), active=True)))
        return Subscription(subscription_id=int(sid), **sub.model_dump())

    def for_unit(self, conn: Connection, orgunit_id: str, disease: str) -> list[Subscription]:
        return [Subscription.model_validate(dict(r._mapping))
                for r in conn.execute(_FOR_UNIT, {"b_unit": orgunit_id, "b_disease": disease})]

    def list(self, conn: Connection, orgunit_ids: list[str] | None = None) -> list[Subscription]:
        q = sa.select(subscriptions).order_by(subscriptions.c.subscription_id)
        if orgunit_ids is not None:
            q = q.where(subscriptions.c.orgunit_id.in_(orgunit_ids))
        return [Subscription.model_validate(dict(r._mapping)) for r in conn.execute(q)]


# built once (each alert opened runs it): the active subscriptions of one unit for one disease or all
_FOR_UNIT = (sa.select(subscriptions)
             .where(subscriptions.c.orgunit_id == sa.bindparam("b_unit"), subscriptions.c.active.is_(True),
                    sa.or_(subscriptions.c.disease.is_(None), subscriptions.c.disease == sa.bindparam("b_disease")))
             .order_by(subscriptions.c.subscription_id))


class Notifier:
    """Plans the messages for one alert at one level and writes them to the outbox."""

    def __init__(self, pyramid: Pyramid, diseases: DiseaseCatalogue | None = None,
                 subscriptions_repo: SubscriptionRepository | None = None, outbox: OutboxRepository | None = None):
        self.pyramid = pyramid
        self.diseases = diseases
        self.subs = subscriptions_repo or SubscriptionRepository()
        self.outbox = outbox or OutboxRepository()

    def _context(self, alert: Alert, lang: str) -> dict[str, Any]:
        disease = alert.disease
        if self.diseases is not None and disease in self.diseases:
            disease = self.diseases.get(disease).name(lang)
        place = self.pyramid.get(alert.orgunit_id).name if alert.orgunit_id in self.pyramid else alert.orgunit_id
        district = self.pyramid.get(alert.district_id).name if alert.district_id in self.pyramid else alert.district_id
        return {"id": alert.alert_id, "disease": disease, "place": place, "district": district,
                "cases": alert.cases, "emergence": alert.emergence_date.isoformat(), "level": alert.level,
                "risk": alert.risk, "status": alert.status.value}

    def recipients(self, conn: Connection, alert: Alert, level: str) -> list[Subscription]:
        unit = self.pyramid.ancestor_at(alert.orgunit_id, level) if alert.orgunit_id in self.pyramid else None
        return self.subs.for_unit(conn, unit.id, alert.disease) if unit is not None else []

    def enqueue(self, conn: Connection, alert: Alert, reason: str, now: dt.datetime) -> int:
        """Queue one message per subscription of the alert's current level; returns how many."""
        rows = []
        for sub in self.recipients(conn, alert, alert.level):
            subject, body = render(sub.channel, reason, sub.lang, self._context(alert, sub.lang))
            rows.append({"alert_id": alert.alert_id, "subscription_id": sub.subscription_id, "channel": sub.channel,
                         "address": sub.address, "lang": sub.lang, "reason": reason, "level": alert.level,
                         "subject": subject, "body": body,
                         "payload": {"reason": reason, "alert": alert.model_dump(mode="json")}})
        return self.outbox.enqueue(conn, rows, now)
