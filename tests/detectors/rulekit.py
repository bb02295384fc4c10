"""Builders for rule tests: case records on a week timeline and rule inputs."""
from __future__ import annotations

import datetime as dt

from detectors.rules.base import CaseRecord, RuleInput, Scope

UTC = dt.timezone.utc
# ISO 2026-W45 is Mon 2 Nov .. Sun 8 Nov 2026; week n of the timeline starts on MONDAY + 7(n-1) days.
MONDAY = dt.date(2026, 11, 2)


def day(week: int, weekday: int = 0) -> dt.date:
    """Timeline day: ``week`` 1 = 2026-W45, ``weekday`` 0 = Monday."""
    return MONDAY + dt.timedelta(weeks=week - 1, days=weekday)


def at(d: dt.date, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(d, dt.time(hour), UTC)


def rec(rid: str, onset: dt.date, cases: int = 1, received: dt.datetime | None = None, *,
        area: str = "HA1", district: str = "D1", lat: float | None = None, lon: float | None = None) -> CaseRecord:
    return CaseRecord(rid, onset, cases, received or at(onset), f"{area}-S1", area, district, lat, lon)


def weekly(counts: list[int], *, area: str = "HA1", district: str = "D1", weekday: int = 1) -> list[CaseRecord]:
    """One report per week holding that week's cases (week 1 first); zero weeks have no report."""
    return [rec(f"w{i + 1}", day(i + 1, weekday), n, area=area, district=district)
            for i, n in enumerate(counts) if n]


def rule_input(disease: str, trigger: CaseRecord, records: list[CaseRecord], *, level: str = "district",
               orgunit: str = "D1", population: int | None = None, now: dt.datetime | None = None) -> RuleInput:
    return RuleInput(disease=disease, scope=Scope(orgunit, level, "D1", population), trigger=trigger,
                     records=tuple(records), now=now or at(trigger.onset_date, 18))
