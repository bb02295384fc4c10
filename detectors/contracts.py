"""Signal: what a detector or case-definition rule emits for the alerts stage.

``dedup_key`` is explicit and versioned (STYLE principle 6), e.g.
``rule:v1:immediate:cholera:ML-MOP-DJENNE-MOUGNA:2026-W45``: signals with the same key are the
same event seen again (re-evaluation, late data) and merge into one alert.
"""
from __future__ import annotations

import datetime as dt
from enum import Enum

from pydantic import BaseModel, ConfigDict, Field


class Severity(str, Enum):
    alert = "alert"
    epidemic = "epidemic"

    @property
    def rank(self) -> int:
        return {"alert": 1, "epidemic": 2}[self.value]


class Signal(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    signal_id: str
    dedup_key: str
    rule_id: str = Field(description="case-definition rule id or statistical detector id")
    detector: str = Field(description="rule kind or algorithm id, e.g. 'immediate', 'earsC_C2'")
    disease: str
    orgunit_id: str
    orgunit_level: str
    district_id: str
    period_start: dt.date
    period_end: dt.date
    epiweek: str
    observed: float
    threshold: float | None = None
    severity: Severity = Severity.alert
    detected_at: dt.datetime
    emergence_date: dt.date = Field(description="earliest onset among the reports behind the signal")
    report_ids: tuple[str, ...] = ()
    raised_late: bool = False
    would_have_fired_at: dt.datetime | None = Field(
        default=None, description="when the signal would have fired had the late reports been on time")
    message: str | None = None
