"""Weekly case counts in event time: the series the statistical detectors read.

Counts are by onset epi week (ISO weeks by default; ``start_day`` as ``SEBAC_EPIWEEK_START_DAY``).
Historical weekly counts (uploaded for weeks before SEBAC, see ingest's ``weekly_counts_history``)
and counts from reports are combined week by week as ``max(history, reports)``: a week known from
both sources is not counted twice when reports are back-filled for a week that was also uploaded.

A series starts at the first week with data for the org unit (first report of any disease, or the
first history week): weeks before that are unknown, not zero; later weeks without reports are zero.
"""
from __future__ import annotations

import datetime as dt
import functools
from typing import Mapping

import numpy as np

from detectors.epiweek import EpiWeek, epiweek, week_start


def weeks_between(first: EpiWeek, last: EpiWeek, start_day: int = 0) -> list[EpiWeek]:
    """``first`` … ``last`` inclusive (empty when ``first > last``)."""
    out = []
    day, end = week_start(first, start_day), week_start(last, start_day)
    while day <= end:
        out.append(epiweek(day, start_day))
        day += dt.timedelta(days=7)
    return out


def weekly_counts(daily: Mapping[dt.date, int], history: Mapping[EpiWeek, int], first: EpiWeek,
                  last: EpiWeek, start_day: int = 0) -> tuple[list[EpiWeek], np.ndarray]:
    """Weeks ``first..last`` and their counts (float64, as the detectors take them).

    >>> w, y = weekly_counts({dt.date(2026, 11, 2): 3, dt.date(2026, 11, 9): 1},
    ...                      {EpiWeek(2026, 45): 5}, EpiWeek(2026, 44), EpiWeek(2026, 46))
    >>> [str(x) for x in w], y.tolist()
    (['2026-W44', '2026-W45', '2026-W46'], [0.0, 5.0, 1.0])
    """
    weeks = weeks_between(first, last, start_day)
    index = {w: i for i, w in enumerate(weeks)}
    from_reports = np.zeros(len(weeks))
    for day, n in daily.items():
        i = index.get(epiweek(day, start_day))
        if i is not None:
            from_reports[i] += n
    from_history = np.array([float(history.get(w, 0)) for w in weeks])
    return weeks, np.maximum(from_reports, from_history)


@functools.lru_cache(maxsize=4096)
def week_range(first: EpiWeek, last: EpiWeek, start_day: int = 0) -> tuple[tuple[EpiWeek, ...], tuple[dt.date, ...]]:
    """:func:`weeks_between` and the weeks' first days, computed once per range (shared, immutable)."""
    weeks = tuple(weeks_between(first, last, start_day))
    return weeks, tuple(week_start(w, start_day) for w in weeks)


def history_array(history: Mapping[EpiWeek, int], first: EpiWeek, last: EpiWeek, start_day: int = 0) -> np.ndarray:
    """Historical counts of the weeks ``first..last`` (0 where none), float64."""
    weeks, _ = week_range(first, last, start_day)
    return np.array([float(history.get(w, 0)) for w in weeks]) if history else np.zeros(len(weeks))


def weekly_counts_by_week(by_week_start: Mapping[dt.date, int], history: Mapping[EpiWeek, int], first: EpiWeek,
                          last: EpiWeek, start_day: int = 0, *, from_history: np.ndarray | None = None
                          ) -> tuple[list[EpiWeek], np.ndarray]:
    """:func:`weekly_counts` from cases already summed by week start (the weekly cube).

    >>> w, y = weekly_counts_by_week({dt.date(2026, 11, 2): 3, dt.date(2026, 11, 9): 1},
    ...                              {EpiWeek(2026, 45): 5}, EpiWeek(2026, 44), EpiWeek(2026, 46))
    >>> [str(x) for x in w], y.tolist()
    (['2026-W44', '2026-W45', '2026-W46'], [0.0, 5.0, 1.0])
    """
    weeks, starts = week_range(first, last, start_day)
    from_reports = np.zeros(len(weeks))
    if by_week_start:
        index = {d: i for i, d in enumerate(starts)} if len(by_week_start) * 4 < len(starts) else None
        if index is None:
            from_reports = np.array([float(by_week_start.get(d, 0)) for d in starts])
        else:
            for d, n in by_week_start.items():
                if d in index:
                    from_reports[index[d]] = n
    if from_history is None:
        from_history = history_array(history, first, last, start_day)
    return list(weeks), np.maximum(from_reports, from_history)
