"""Kind ``ratio``: this week's cases at least ``factor`` × last week's.

Signal when ``cases(n) ≥ factor · cases(n−1)`` with ``cases(n−1) ≥ min_previous`` (a ratio over an
empty or tiny previous week means nothing) and ``cases(n) ≥ min_current``. Weeks are onset epi
weeks.

Reference: WHO AFRO IDSR 3rd ed. (2019), malaria: an increase of 1.5 times the cases of the
previous week (or period) is an alert threshold in several national adaptations.
"""
from __future__ import annotations

import datetime as dt
import math
from typing import Literal

from pydantic import Field

from detectors.contracts import Signal
from detectors.rules.base import RuleBase, RuleInput, in_period, make_signal
from detectors.rules.periods import previous_week, week_of


class RatioRule(RuleBase):
    kind: Literal["ratio"]
    factor: float = Field(gt=1)
    min_previous: int = Field(default=1, ge=1)
    min_current: int = Field(default=1, ge=1)

    def counts_whole_weeks(self) -> bool:
        return True

    def window(self, day: dt.date, start_day: int = 0) -> tuple[dt.date, dt.date]:
        w = week_of(day, start_day)
        return previous_week(w, start_day).start, w.end

    def evaluate(self, ctx: RuleInput) -> list[Signal]:
        w = week_of(ctx.trigger.onset_date, ctx.start_day)
        prev = previous_week(w, ctx.start_day)
        recs = in_period(ctx.records, w.start, w.end)
        now_n, prev_n = ctx.cases(w.start, w.end), ctx.cases(prev.start, prev.end)
        if prev_n < self.min_previous or now_n < self.min_current or now_n < self.factor * prev_n:
            return []
        threshold = max(self.min_current, math.ceil(self.factor * prev_n - 1e-9))
        return [make_signal(self, ctx, detector=self.kind, period_start=w.start, period_end=w.end,
                            period_label=w.label, epiweek=w.epiweek, observed=now_n, threshold=threshold,
                            records=recs,
                            message=f"{self.id}: {now_n} case(s) in {w.label} ≥ {self.factor:g} × {prev_n}")]
