"""Periods the rules count over: epi weeks (ISO by default) and calendar months of onset."""
from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

from detectors.epiweek import EpiWeek, epiweek, week_end, week_start


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date
    label: str      # dedup-key token: "2026-W45" or "2026-11"
    epiweek: str    # epi week of the day the period was computed for

    def contains(self, day: dt.date) -> bool:
        return self.start <= day <= self.end


def week_of(day: dt.date, start_day: int = 0) -> Period:
    w = epiweek(day, start_day)
    return Period(week_start(w, start_day), week_end(w, start_day), str(w), str(w))


def previous_week(period: Period, start_day: int = 0) -> Period:
    return week_of(period.start - dt.timedelta(days=1), start_day)


def weeks_back(day: dt.date, n: int, start_day: int = 0) -> list[Period]:
    """The week of ``day`` and the ``n`` weeks before it, oldest first."""
    out = [week_of(day, start_day)]
    for _ in range(n):
        out.append(previous_week(out[-1], start_day))
    return out[::-1]


def month_of(day: dt.date, start_day: int = 0) -> Period:
    last = calendar.monthrange(day.year, day.month)[1]
    return Period(day.replace(day=1), day.replace(day=last), f"{day.year}-{day.month:02d}",
                  str(epiweek(day, start_day)))


def parse_week(label: str) -> EpiWeek:
    return EpiWeek.parse(label)
