"""The permission table: every (role, action, alert level) the demo's people meet, and take over."""
from __future__ import annotations

import datetime as dt

import pytest

from alerts.contracts import AlertStatus
from alerts.lifecycle import replay
from alerts.permissions import RULES
from alerts.lifecycle import ACTIONS
from ingest.errors import DomainError
from tests.alerts.scenario import AREA, START, Scenario

PEOPLE = {"cscom": AREA, "district": "ML-MOP-DJENNE", "region": "ML-MOP", "national": "ML"}
LEVELS = ("health_area", "district", "region", "national")

# (role, action, alert level) -> refusal key, for a cholera alert (acknowledge_from: district);
# anything not listed is allowed
REFUSED = {("cscom", a, lvl): f"alert.{a}.levelTooLow" for a in ("acknowledge", "verify", "discard") for lvl in LEVELS}
REFUSED |= {(role, "take_over", lvl): "alert.take_over.notAbove" for role in PEOPLE for lvl in LEVELS
            if LEVELS.index(lvl) >= LEVELS.index({"cscom": "health_area"}.get(role, role))}


@pytest.fixture
def s(db, pyramid, diseases) -> Scenario:
    return Scenario(db, pyramid, diseases)


def test_every_action_has_a_row_in_the_table():
    assert set(RULES) == set(ACTIONS)


def _alert_at(s: Scenario, level: str):
    a = s.at(0).signal("cholera")  # starts at health area, 30 min per level
    steps = LEVELS.index(level)
    if steps:
        s.at(30 * steps + 1)
        assert s.tick() == steps
    return s.alert(a.alert_id)


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("role", list(PEOPLE))
@pytest.mark.parametrize("action", ["acknowledge", "verify", "discard", "take_over", "assess"])
def test_escalation_widens_the_audience(s, role, action, level):
    a = _alert_at(s, level)
    user = s.user(f"u.{role}", role, PEOPLE[role])
    kw = {"reason": "rumour"} if action == "discard" else {}
    if action == "assess":
        kw["assessment"] = {"kind": "risk", "risk": "high", "text": "many cases near the river"}
    want = REFUSED.get((role, action, level))
    if want:
        with pytest.raises(DomainError) as e:
            s.act(a.alert_id, action, user, **kw)
        assert (e.value.key, e.value.status) == (want, 403)
        assert s.alert(a.alert_id) == a  # a refusal changes nothing
    else:
        done = s.act(a.alert_id, action, user, **kw)
        assert done.level == ({"cscom": "health_area"}.get(role, role) if action == "take_over" else level)
    assert replay(s.events(a.alert_id)) == s.alert(a.alert_id)


def test_region_takes_over_an_open_alert_and_gets_the_region_deadline(s):
    a = s.at(0).signal("cholera")
    s.at(31); s.tick()
    assert s.alert(a.alert_id).level == "district"
    region = s.user("drs.mopti", "region", "ML-MOP")
    taken = s.at(40).act(a.alert_id, "take_over", region, reason="regional team on site")
    assert (taken.level, taken.status, taken.level_since) == ("region", AlertStatus.open, START + dt.timedelta(minutes=40))
    assert taken.escalate_at == START + dt.timedelta(minutes=70)
    ev = s.events(a.alert_id)[-1]
    assert (ev.type, ev.by, ev.level, ev.reason, ev.data["from"]) == ("taken_over", "user:drs.mopti", "region",
                                                                      "regional team on site", "district")
    s.at(69); assert s.tick() == 0
    s.at(71); assert s.tick() == 1 and s.alert(a.alert_id).level == "national"


def test_an_assessment_is_validated_and_kept_as_an_event(s):
    a = s.at(0).signal("cholera")
    epi = s.user("epi.djenne", "district", "ML-MOP-DJENNE")
    with pytest.raises(DomainError) as e:
        s.act(a.alert_id, "assess", epi, assessment={"kind": "risk", "text": "no grade"})
    assert (e.value.key, e.value.status) == ("alert.assess.invalid", 422)
    s.act(a.alert_id, "assess", epi, assessment={"kind": "response", "text": "wells chlorinated"})
    ev = s.events(a.alert_id)[-1]
    assert ev.type == "assessed" and ev.data["assessment"] == {"kind": "response", "text": "wells chlorinated"}


def test_outside_the_jurisdiction_is_refused_whatever_the_level(s):
    a = _alert_at(s, "national")
    kayes = s.user("epi.kayes", "district", "ML-KAY-KAYES")
    with pytest.raises(DomainError) as e:
        s.act(a.alert_id, "acknowledge", kayes)
    assert e.value.key == "auth.jurisdiction.denied"
