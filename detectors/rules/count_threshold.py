"""Kind ``count``: at least ``threshold`` cases of a disease in an org unit within one period.

``period: epiweek`` counts cases by onset epi week; ``period: month`` by calendar month of onset
(IDSR's "5 suspected measles cases in a district in a month"; the dedup key then carries the month,
``rule:v1:measles_district_month:measles:<district>:2026-11``, so one alert per month).

Signal when ``Σ cases(onset in period) ≥ threshold``; severity as configured (default alert).
"""
from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field

from detectors.contracts import Severity, Signal
from detectors.rules.base import RuleBase, RuleInput, in_period, make_signal
from detectors.rules.periods import month_of, week_of


class CountRule(RuleBase):
    kind: Literal["count"]
    threshold: int = Field(ge=1, description="cases in the period that raise the signal")
    period: Literal["epiweek", "month"] = "epiweek"
    severity: Severity = Severity.alert

    def _period(self, day: dt.date, start_day: int):
        return month_of(day, start_day) if self.period == "month" else week_of(day, start_day)

    def counts_whole_weeks(self) -> bool:
        return self.period == "epiweek"

    def window(self, day: dt.date, start_day: int = 0) -> tuple[dt.date, dt.date]:
        p = self._period(day, start_day)
        return p.start, p.end

    def evaluate(self, ctx: RuleInput) -> list[Signal]:
        p = self._period(ctx.trigger.onset_date, ctx.start_day)
        recs = in_period(ctx.records, p.start, p.end)
        n = ctx.cases(p.start, p.end)
        if n < self.threshold:
            return []
        return [make_signal(self, ctx, detector=self.kind, period_start=p.start, period_end=p.end,
                            period_label=p.label, epiweek=p.epiweek, observed=n, threshold=self.threshold,
                            records=recs, severity=self.severity,
                            message=f"{self.id}: {n} case(s) in {p.label} ≥ {self.threshold}")]
