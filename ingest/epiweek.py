"""Epidemiological weeks in event time (defined here, in the lowest layer; ``detectors.epiweek``
re-exports it).

ISO 8601 weeks by default (Monday start, week 1 holds the first Thursday). A different start day
(e.g. Sunday for MMWR/CDC weeks) is configuration: week ``w`` of year ``y`` then starts on the
start-day on or before the first ``y``-Thursday-equivalent (the week containing 4 January shifted
to the chosen start day), which reduces to ISO weeks for Monday.
"""
from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class EpiWeek:
    year: int
    week: int

    def __str__(self) -> str:
        return f"{self.year}-W{self.week:02d}"

    @classmethod
    def parse(cls, text: str) -> "EpiWeek":
        y, w = text.split("-W")
        return cls(int(y), int(w))


@functools.cache  # a few years × 7 start days
def _week1_start(year: int, start_day: int) -> dt.date:
    jan4 = dt.date(year, 1, 4)
    return jan4 - dt.timedelta(days=(jan4.weekday() - start_day) % 7)


@functools.lru_cache(maxsize=1 << 16)  # pure; the detectors ask for the same days again and again
def epiweek(day: dt.date, start_day: int = 0) -> EpiWeek:
    """Epi week of ``day``; ``start_day`` 0 = Monday (ISO) … 6 = Sunday.

    >>> str(epiweek(dt.date(2026, 11, 5)))
    '2026-W45'
    >>> str(epiweek(dt.date(2021, 1, 3)))
    '2020-W53'
    """
    year = day.year + 1
    while _week1_start(year, start_day) > day:
        year -= 1
    return EpiWeek(year, (day - _week1_start(year, start_day)).days // 7 + 1)


@functools.lru_cache(maxsize=1 << 16)
def week_start(week: EpiWeek, start_day: int = 0) -> dt.date:
    return _week1_start(week.year, start_day) + dt.timedelta(weeks=week.week - 1)


def week_end(week: EpiWeek, start_day: int = 0) -> dt.date:
    return week_start(week, start_day) + dt.timedelta(days=6)
