"""Kind ``rate``: weekly attack rate per 100,000 population, with a count fallback.

For an org unit with population ``P ≥ min_population`` (IDSR: 30,000, i.e. district level):
``rate = 100000 · cases(week) / P``; ``rate ≥ epidemic_per_100k`` → severity *epidemic*, else
``rate ≥ alert_per_100k`` → *alert*. The threshold in the signal is the case count equivalent
``ceil(threshold_rate · P / 100000)``. Smaller (or unknown) populations use the count fallback
``cases(week) ≥ fallback_count`` (alert), or nothing when no fallback is configured.

Reference: WHO AFRO IDSR 3rd ed. (2019), meningitis: alert threshold 3 suspected cases per 100,000
inhabitants per week, epidemic threshold 10 per 100,000 (districts with ≥ 30,000 inhabitants);
smaller populations: 2 suspected cases in one week.
"""
from __future__ import annotations

import datetime as dt
import math
from typing import Literal

from pydantic import Field, model_validator

from detectors.contracts import Severity, Signal
from detectors.rules.base import RuleBase, RuleInput, in_period, make_signal
from detectors.rules.periods import week_of

PER = 100_000


class RateRule(RuleBase):
    kind: Literal["rate"]
    alert_per_100k: float = Field(gt=0)
    epidemic_per_100k: float | None = Field(default=None, gt=0)
    min_population: int = Field(default=30_000, ge=1)
    fallback_count: int | None = Field(default=None, ge=1,
                                       description="weekly cases when population < min_population")

    @model_validator(mode="after")
    def _ordered(self) -> "RateRule":
        if self.epidemic_per_100k is not None and self.epidemic_per_100k <= self.alert_per_100k:
            raise ValueError("epidemic_per_100k must be greater than alert_per_100k")
        return self

    def counts_whole_weeks(self) -> bool:
        return True

    def window(self, day: dt.date, start_day: int = 0) -> tuple[dt.date, dt.date]:
        w = week_of(day, start_day)
        return w.start, w.end

    def evaluate(self, ctx: RuleInput) -> list[Signal]:
        w = week_of(ctx.trigger.onset_date, ctx.start_day)
        recs = in_period(ctx.records, w.start, w.end)
        n = ctx.cases(w.start, w.end)
        pop = ctx.scope.population
        if pop is not None and pop >= self.min_population:
            rate = PER * n / pop
            if self.epidemic_per_100k is not None and rate >= self.epidemic_per_100k:
                severity, limit = Severity.epidemic, self.epidemic_per_100k
            elif rate >= self.alert_per_100k:
                severity, limit = Severity.alert, self.alert_per_100k
            else:
                return []
            threshold = math.ceil(limit * pop / PER - 1e-9)
            msg = f"{self.id}: {rate:.1f}/100,000 in {w.label} ≥ {limit:g}/100,000 (population {pop})"
        elif self.fallback_count is not None and n >= self.fallback_count:
            severity, threshold = Severity.alert, self.fallback_count
            msg = f"{self.id}: {n} case(s) in {w.label} ≥ {self.fallback_count} (population below " \
                  f"{self.min_population}: count fallback)"
        else:
            return []
        return [make_signal(self, ctx, detector=self.kind, period_start=w.start, period_end=w.end,
                            period_label=w.label, epiweek=w.epiweek, observed=n, threshold=threshold,
                            records=recs, severity=severity, message=msg)]
