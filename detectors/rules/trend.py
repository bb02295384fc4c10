"""Kind ``trend``: week n above week n−1 (for ``consecutive`` weeks in a row).

Signal when ``cases(n) > cases(n−1) > … > cases(n−consecutive)`` and ``cases(n) ≥ min_current``.
``min_current`` keeps 0 → 1 case changes in a small health area from raising alerts. When the input
says since when the org unit reports (``observed_since``), weeks before that are unknown, not zero:
no signal until the oldest compared week is covered (warm-up).

Reference: WHO AFRO IDSR 3rd ed. (2019): for bloody diarrhoea, influenza-like illness and severe
pneumonia in under-5s, an increase in cases compared with the previous period calls for action.
"""
from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field

from detectors.contracts import Signal
from detectors.rules.base import RuleBase, RuleInput, in_period, make_signal
from detectors.rules.periods import weeks_back


class TrendRule(RuleBase):
    kind: Literal["trend"]
    consecutive: int = Field(default=1, ge=1, le=8, description="weeks of increase in a row")
    min_current: int = Field(default=1, ge=1)

    def counts_whole_weeks(self) -> bool:
        return True

    def window(self, day: dt.date, start_day: int = 0) -> tuple[dt.date, dt.date]:
        weeks = weeks_back(day, self.consecutive, start_day)
        return weeks[0].start, weeks[-1].end

    def evaluate(self, ctx: RuleInput) -> list[Signal]:
        weeks = weeks_back(ctx.trigger.onset_date, self.consecutive, ctx.start_day)
        if ctx.observed_since is not None and ctx.observed_since > weeks[0].end:
            return []
        counts = [ctx.cases(w.start, w.end) for w in weeks]
        current = counts[-1]
        if current < self.min_current or any(b <= a for a, b in zip(counts, counts[1:])):
            return []
        w = weeks[-1]
        recs = in_period(ctx.records, w.start, w.end)
        return [make_signal(self, ctx, detector=self.kind, period_start=w.start, period_end=w.end,
                            period_label=w.label, epiweek=w.epiweek, observed=current,
                            threshold=max(self.min_current, counts[-2] + 1), records=recs,
                            message=f"{self.id}: weekly cases {' < '.join(map(str, counts))}")]
