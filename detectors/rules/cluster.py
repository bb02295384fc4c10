"""Kind ``cluster``: N reports within D days within K km (space-time cluster, as Nyss alert rules).

Two reports are *linked* when their onsets are at most ``days − 1`` days apart and their sites are
at most ``km`` kilometres apart (haversine distance between the sites' pyramid coordinates; a
site without coordinates takes its nearest ancestor's; reports without any coordinates are linked
only to reports of the same health area). The cluster of the triggering report is its connected
component (single linkage). A signal is raised when some window of ``days`` consecutive days that
contains the trigger's onset holds at least ``min_reports`` members of that component, counted as
reports (``count_by: reports``, as Nyss) or as cases (``count_by: cases``, e.g. "2 SARI cases").

The signal is attributed to the trigger's district (or health area, ``levels: [health_area]``) and
to the trigger's onset week (dedup key period).

Haversine: d = 2R·asin(√(sin²(Δφ/2) + cos φ1 cos φ2 sin²(Δλ/2))), R = 6371.0088 km (mean Earth
radius). Reference: Nyss (Red Cross), alert rules ``{CountThreshold, DaysThreshold,
KilometersThreshold}``; WHO AFRO IDSR 3rd ed. (2019) community definitions "sudden unexplained
death", "cluster of animal deaths".
"""
from __future__ import annotations

import datetime as dt
import math
from typing import Literal

from pydantic import Field, field_validator

from detectors.contracts import Signal
from detectors.rules.base import CaseRecord, RuleBase, RuleInput, make_signal
from detectors.rules.periods import week_of

EARTH_RADIUS_KM = 6371.0088


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km.

    >>> round(haversine_km(14.45, -11.44, 14.45, -11.34), 2)   # 0.1° of longitude near Kayes
    10.77
    """
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


class ClusterRule(RuleBase):
    kind: Literal["cluster"]
    min_reports: int = Field(ge=2, description="reports (or cases) in the cluster")
    days: int = Field(ge=1, le=90)
    km: float = Field(gt=0, le=500)
    count_by: Literal["reports", "cases"] = "reports"
    levels: tuple[str, ...] = ("district",)

    @field_validator("levels")
    @classmethod
    def _one_level(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if len(v) != 1 or v[0] not in ("district", "health_area"):
            raise ValueError("a cluster rule is attributed to exactly one level: district or health_area")
        return v

    @property
    def nationwide(self) -> bool:
        """Cluster rules read every report of the disease in the window, not one org unit's."""
        return True

    def window(self, day: dt.date, start_day: int = 0) -> tuple[dt.date, dt.date]:
        span = dt.timedelta(days=self.days - 1)
        return day - span, day + span

    def _linked(self, a: CaseRecord, b: CaseRecord) -> bool:
        if abs((a.onset_date - b.onset_date).days) > self.days - 1:
            return False
        if a.lat is None or a.lon is None or b.lat is None or b.lon is None:
            return bool(a.health_area_id) and a.health_area_id == b.health_area_id
        return haversine_km(a.lat, a.lon, b.lat, b.lon) <= self.km

    def component(self, trigger: CaseRecord, records: tuple[CaseRecord, ...]) -> list[CaseRecord]:
        pool = {r.report_id: r for r in records}
        pool[trigger.report_id] = trigger
        members, frontier = {trigger.report_id}, [trigger]
        while frontier:
            cur = frontier.pop()
            for rid, r in pool.items():
                if rid not in members and self._linked(cur, r):
                    members.add(rid)
                    frontier.append(r)
        return [r for rid, r in pool.items() if rid in members]  # records' order, not the set's (deterministic)

    def _size(self, recs: list[CaseRecord]) -> int:
        return len(recs) if self.count_by == "reports" else sum(r.cases for r in recs)

    def evaluate(self, ctx: RuleInput) -> list[Signal]:
        t = ctx.trigger
        comp = self.component(t, ctx.records)
        best: list[CaseRecord] = []
        for shift in range(self.days):
            lo = t.onset_date - dt.timedelta(days=self.days - 1 - shift)
            hi = lo + dt.timedelta(days=self.days - 1)
            win = [r for r in comp if lo <= r.onset_date <= hi]
            if self._size(win) > self._size(best):
                best = win
        size = self._size(best)
        if size < self.min_reports:
            return []
        w = week_of(t.onset_date, ctx.start_day)
        level = self.levels[0]
        orgunit = t.district_id if level == "district" else t.health_area_id
        unit = "report(s)" if self.count_by == "reports" else "case(s)"
        crossing = [r if self.count_by == "cases" else CaseRecord(r.report_id, r.onset_date, 1, r.received_at)
                    for r in best]
        return [make_signal(self, ctx, detector=self.kind, period_start=w.start, period_end=w.end,
                            period_label=w.label, epiweek=w.epiweek, observed=size,
                            threshold=self.min_reports, records=crossing,
                            orgunit_id=orgunit, level=level,
                            message=f"{self.id}: {size} {unit} within {self.days} day(s) and {self.km:g} km")]
