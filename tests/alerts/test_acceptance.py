"""Acceptance timelines, table-driven (Alertmanager's ``Push(At(…))`` / ``Want(…)`` in spirit).

Each case is a list of ``(minute, step)`` and the escalations wanted ``(minute, level reached,
cause)``. The scheduler ticks every 7 simulated minutes in between, then hourly (deliberately coarse periods:
escalations are stamped at their deadlines, so the tick period must not show in the result).
"""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.alerts.scenario import START, Scenario


@dataclass(frozen=True)
class Push:
    disease: str = "cholera"
    severity: str = "alert"
    area: str = "ML-MOP-DJENNE-MOUGNA"


@dataclass(frozen=True)
class Act:
    role: str
    action: str
    reason: str | None = None


PEOPLE = {"cscom": ("dtc.mougna", "ML-MOP-DJENNE-MOUGNA"), "district": ("epi.djenne", "ML-MOP-DJENNE"),
          "region": ("drs.mopti", "ML-MOP"), "national": ("dgshp", "ML")}

CASES = {
    "cholera climbs 30 min per level": (
        [(0, Push())],
        [(30, "district", "timeout"), (60, "region", "timeout"), (90, "national", "timeout")]),
    "district acknowledges: the climb stops there": (
        [(0, Push()), (45, Act("district", "acknowledge"))],
        [(30, "district", "timeout")]),
    "acknowledged before the first deadline by the region": (
        [(0, Push()), (10, Act("region", "acknowledge"))],
        []),
    "a merged signal does not reset the deadline": (
        [(0, Push()), (25, Push())],
        [(30, "district", "timeout"), (60, "region", "timeout"), (90, "national", "timeout")]),
    "ebola goes to national at once": (
        [(0, Push("ebola"))],
        [(0, "national", "direct")]),
    "malaria at district escalates after 24 h, then 24 h more": (
        [(0, Push("malaria"))],
        [(1440, "region", "timeout"), (2880, "national", "timeout")]),
    "manual escalation restarts the clock at the new level": (
        [(0, Push("malaria")), (100, Act("district", "escalate", "lab support"))],
        [(100, "region", "manual"), (1540, "national", "timeout")]),
    "verified by the district: no more escalation": (
        [(0, Push()), (31, Act("district", "verify"))],
        [(30, "district", "timeout")]),
    "discarded as a rumour: no more escalation": (
        [(0, Push()), (35, Act("district", "discard", "rumour"))],
        [(30, "district", "timeout")]),
    "epidemic severity starts at the region": (
        [(0, Push("meningitis", "epidemic", "ML-MOP-DJENNE"))],
        [(720, "national", "timeout")]),
}


def period(minute: int) -> int:
    """Tick every 7 minutes for the first 4 hours, then hourly (keeps the test fast)."""
    return 7 if minute < 240 else 60


@pytest.mark.parametrize("name", list(CASES))
def test_timeline(name, db, pyramid, diseases):
    steps, want = CASES[name]
    s = Scenario(db, pyramid, diseases)
    users = {role: s.user(u, role, ou) for role, (u, ou) in PEOPLE.items()}
    alert_id = None
    minute = 0
    for at, step in steps + [(3000, None)]:
        while minute + period(minute) < at:
            minute += period(minute)
            s.at(minute).tick()
        minute = at
        s.at(at).tick()
        if isinstance(step, Push):
            level = "district" if step.area.count("-") == 2 else "health_area"
            alert = s.signal(step.disease, area=step.area, severity=step.severity,
                             detector="immediate" if step.disease in ("cholera", "ebola") else "rule", level=level)
            alert_id = alert_id or alert.alert_id
            assert alert.alert_id == alert_id  # one alert per timeline
        elif isinstance(step, Act):
            s.act(alert_id, step.action, users[step.role], reason=step.reason)
    got = [(round((e.at - START).total_seconds() / 60), e.level, e.data["cause"])
           for e in s.events(alert_id) if e.type == "escalated"]
    assert got == want
