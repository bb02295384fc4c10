"""The one Report contract every channel produces, and the submission schema of the HTTP channel.

A report keeps three times apart (principle 7, event time not arrival time):

* ``onset_date``  — when the cases fell ill (event time; what detectors count by);
* ``report_date`` — when the CHW says they reported (the date on the form or SMS);
* ``received_at`` — when SEBAC received it (set by the server, timezone-aware UTC).

``idempotency_key`` makes intake exactly-once: the client id (HTTP), the gateway message id (SMS)
or the DHIS2 event UID, namespaced by channel (``http:<client id>``, ``sms:telerivet:<id>``...).
"""
from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Channel(str, Enum):
    http = "http"
    sms = "sms"
    dhis2 = "dhis2"
    csv = "csv"
    ivr = "ivr"
    demo = "demo"


class Sex(str, Enum):
    female = "F"
    male = "M"
    unknown = "U"


class AgeGroup(str, Enum):
    under5 = "<5"
    five_plus = "5+"
    unknown = "U"


class ReportIn(BaseModel):
    """What a CHW app posts to ``POST /api/v1/reports`` (strict: unknown fields are rejected)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    client_id: str = Field(min_length=1, max_length=128, description="client-generated idempotency key")
    orgunit_id: str = Field(min_length=1, max_length=64, description="site or health area id (or DHIS2 UID)")
    disease: str = Field(min_length=1, max_length=64, description="disease code, see GET /api/v1/diseases")
    cases: int = Field(ge=0, description="number of suspected cases")
    deaths: int = Field(default=0, ge=0)
    onset_date: dt.date = Field(description="date of onset of the (first) case, event time")
    report_date: dt.date | None = Field(default=None, description="date on the report; defaults to receipt day")
    sex: Sex = Sex.unknown
    age_group: AgeGroup = AgeGroup.unknown
    reporter: str | None = Field(default=None, max_length=64, description="CHW id")
    text: str | None = Field(default=None, max_length=2000)


class Report(BaseModel):
    """A validated report, as stored (append-only) and passed to the detectors."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    report_id: str
    idempotency_key: str
    channel: Channel
    orgunit_id: str
    health_area_id: str
    district_id: str
    disease: str
    cases: int
    deaths: int = 0
    sex: Sex = Sex.unknown
    age_group: AgeGroup = AgeGroup.unknown
    onset_date: dt.date
    report_date: dt.date
    received_at: dt.datetime
    reporter: str | None = None
    text: str | None = None
    state: str = Field(default="active", description="active | held | retracted | duplicate; only active counts")
    version: int = Field(default=1, ge=1, description="1, then +1 per correction or state change")
    source_updated_at: str | None = Field(default=None, description="the source's updatedAt (DHIS2)")

    @property
    def counted(self) -> bool:
        return self.state == "active"

    @field_validator("received_at")
    @classmethod
    def _aware(cls, v: dt.datetime) -> dt.datetime:
        if v.tzinfo is None:
            raise ValueError("received_at must be timezone-aware")
        return v

    @property
    def delay_days(self) -> int:
        """Receipt minus onset, in days (report lateness)."""
        return (self.received_at.date() - self.onset_date).days


class RejectedItem(BaseModel):
    """An input item that could not become a Report, kept with its reasons (nothing is dropped)."""

    model_config = ConfigDict(frozen=True)

    rejected_id: str
    channel: Channel
    received_at: dt.datetime
    raw: str
    errors: list[dict[str, Any]]
    idempotency_key: str | None = None
    status: str = "rejected"  # rejected | reprocessed
