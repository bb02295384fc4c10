"""Kind ``immediate``: 1 suspected case of an immediately notifiable disease = alert (IDSR).

A report of ``cases ≥ min_cases`` (default 1) raises a signal at the report's health area for its
onset week. When ``diseases`` is left out in YAML, the catalogue loader fills in every disease
flagged ``immediate`` in the disease catalogue. The rule id ``immediate`` keeps the dedup keys of
the foundation (``rule:v1:immediate:cholera:<area>:2026-W45``); ``observed`` is the report's own
case count, so repeated signals add up in the alert.

Reference: WHO AFRO, *Technical Guidelines for Integrated Disease Surveillance and Response*,
3rd ed. (2019), section 2, action thresholds for immediately notifiable conditions.
"""
from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field

from detectors.contracts import Signal
from detectors.rules.base import RuleBase, RuleInput, make_signal
from detectors.rules.periods import week_of


class ImmediateRule(RuleBase):
    kind: Literal["immediate"]
    min_cases: int = Field(default=1, ge=1)

    def window(self, day: dt.date, start_day: int = 0) -> tuple[dt.date, dt.date]:
        return day, day  # only the triggering report matters

    def evaluate(self, ctx: RuleInput) -> list[Signal]:
        t = ctx.trigger
        if t.cases < self.min_cases:
            return []
        week = week_of(t.onset_date, ctx.start_day)
        return [make_signal(self, ctx, detector=self.kind, period_start=week.start, period_end=week.end,
                            period_label=week.label, epiweek=week.epiweek, observed=t.cases,
                            threshold=self.min_cases, records=[t])]
