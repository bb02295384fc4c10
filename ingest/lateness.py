"""Is a report late? A pure decision, in event time.

A report is *late* when the epi week of its onset was already closed when it was received:

    late  ⇔  received_at.date() > week_end(epiweek(onset_date)) + closed_after_days

``closed_after_days`` (default 2: a Monday-to-Sunday week is closed on Tuesday night) is the grace
period in which a week's data is still expected to trickle in; detectors evaluate a week as it runs
and again when it closes, so a report arriving after the close changed a week they already judged.
The affected (health area, disease, epi week) is then queued for re-evaluation
(:mod:`ingest.reevaluation`) and the alerts raised from it say they were raised late.

Reference: the "event time, not arrival time" principle (STYLE.md §7) and Apache Beam's
allowed-lateness / watermark model (Akidau et al., *The Dataflow Model*, VLDB 2015).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ingest.epiweek import EpiWeek, epiweek, week_end


@dataclass(frozen=True)
class LatenessPolicy:
    closed_after_days: int = 2
    epiweek_start_day: int = 0

    def __post_init__(self) -> None:
        if self.closed_after_days < 0:
            raise ValueError("closed_after_days must be >= 0")
        if not 0 <= self.epiweek_start_day <= 6:
            raise ValueError("epiweek_start_day must be in 0..6")


@dataclass(frozen=True)
class Lateness:
    late: bool
    week: EpiWeek
    closed_on: dt.date  # last day the week still accepted data on time
    days_late: int      # 0 when on time

    @property
    def reason(self) -> str:
        return f"late report: {self.days_late} day(s) after week {self.week} closed" if self.late else ""


def assess_lateness(onset_date: dt.date, received_at: dt.datetime, policy: LatenessPolicy = LatenessPolicy()
                    ) -> Lateness:
    """Decide whether a report with this onset, received at ``received_at``, is late.

    >>> import datetime as dt
    >>> assess_lateness(dt.date(2026, 11, 5), dt.datetime(2026, 11, 10, 9, tzinfo=dt.timezone.utc)).late
    False
    >>> assess_lateness(dt.date(2026, 11, 5), dt.datetime(2026, 11, 11, 9, tzinfo=dt.timezone.utc)).days_late
    1
    """
    week = epiweek(onset_date, policy.epiweek_start_day)
    closed_on = week_end(week, policy.epiweek_start_day) + dt.timedelta(days=policy.closed_after_days)
    days_late = max(0, (received_at.date() - closed_on).days)
    return Lateness(late=days_late > 0, week=week, closed_on=closed_on, days_late=days_late)
