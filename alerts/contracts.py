"""Alert and AlertEvent contracts.

Every state change of an alert is an appended :class:`AlertEvent` ``(type, at, by, level, reason)``;
the alert row is a cache of the state that replaying its events gives.
"""
from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class AlertStatus(str, Enum):
    open = "open"
    acknowledged = "acknowledged"
    verified = "verified"
    discarded = "discarded"
    response = "response"
    closed = "closed"


class Alert(BaseModel):
    model_config = ConfigDict(extra="forbid")

    alert_id: int
    dedup_key: str
    disease: str
    orgunit_id: str
    orgunit_level: str
    district_id: str
    region_id: str | None = None
    level: str = Field(description="pyramid level the alert currently sits at (escalation)")
    status: AlertStatus = AlertStatus.open
    severity: str = "alert"
    risk: int = Field(default=1, ge=1, le=4, description="1 low … 4 very high; orders inboxes")
    created_at: dt.datetime
    updated_at: dt.datetime
    emergence_date: dt.date
    cases: float = 0
    signal_count: int = 1
    raised_late: bool = False
    detector: str = ""
    version: int = 1
    policy_rule: str = Field(default="", description="escalation policy rule that matched at creation")
    level_since: dt.datetime | None = Field(default=None, description="when the alert reached its level")
    escalate_at: dt.datetime | None = Field(default=None, description="acknowledgement deadline at this level")
    acknowledged_at: dt.datetime | None = None
    acknowledged_by: str | None = None
    verified_at: dt.datetime | None = None
    discarded_at: dt.datetime | None = None
    discard_reason: str | None = None
    response_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None
    outcome: str | None = None
    notified_at: dt.datetime | None = Field(default=None, description="7-1-7: first acknowledgement at "
                                                                      "district level or above")
    last_notified_at: dt.datetime | None = None

    @property
    def ended_at(self) -> dt.datetime | None:
        """When the alert stopped being active (closed or discarded), for the cooldown."""
        return self.closed_at or self.discarded_at


class AlertEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    alert_id: int
    seq: int
    type: str = Field(description="created, signal_merged, acknowledged, verified, discarded, "
                                  "response_started, closed, escalated, notification_sent ...")
    at: dt.datetime
    by: str = Field(description="user id, or 'system'")
    level: str
    reason: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)
