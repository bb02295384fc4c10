"""Timeline scenarios: escalation on timeout, direct escalation, acknowledgement stops escalation,
merge, cooldown, manual escalation, repeat notifications, idempotent ticks."""
from __future__ import annotations

import datetime as dt

import pytest

from alerts.contracts import AlertStatus
from alerts.lifecycle import replay
from ingest.errors import DomainError
from tests.alerts.scenario import AREA, START, Scenario


def m(minutes: float) -> dt.datetime:
    return START + dt.timedelta(minutes=minutes)


@pytest.fixture
def s(db, pyramid, diseases) -> Scenario:
    return Scenario(db, pyramid, diseases)


def test_cholera_climbs_30_minutes_per_level_when_nobody_acknowledges(s):
    a = s.at(0).signal("cholera")
    assert (a.level, a.escalate_at) == ("health_area", m(30))
    s.at(29); assert s.tick() == 0
    s.at(30); assert s.tick() == 1
    assert s.alert(a.alert_id).level == "district"
    s.at(59); assert s.tick() == 0
    s.at(61); assert s.tick() == 1
    s.at(95); assert s.tick() == 1
    final = s.alert(a.alert_id)
    assert final.level == "national" and final.escalate_at is None and final.status == AlertStatus.open
    # every escalation is an event stamped at its deadline, with its reason
    assert s.levels(a.alert_id) == [("district", m(30)), ("region", m(60)), ("national", m(90))]
    reasons = [e.reason for e in s.events(a.alert_id) if e.type == "escalated"]
    assert reasons[0] == "not acknowledged within 30 min at health_area"
    s.at(600); assert s.tick() == 0  # nowhere above national


def test_tick_is_idempotent_and_catches_up_after_downtime(s):
    a = s.at(0).signal("cholera")
    s.at(200)  # the scheduler was down for more than three deadlines
    assert s.tick() == 3
    assert s.tick() == 0 and s.tick() == 0
    assert s.levels(a.alert_id) == [("district", m(30)), ("region", m(60)), ("national", m(90))]
    assert [e.seq for e in s.events(a.alert_id)] == list(range(1, len(s.events(a.alert_id)) + 1))


def test_district_acknowledgement_stops_escalation(s):
    district = s.user("epi.djenne", "district", "ML-MOP-DJENNE")
    a = s.at(0).signal("cholera")
    s.at(31).tick()
    s.at(40).act(a.alert_id, "acknowledge", district)
    s.at(500); assert s.tick() == 0
    final = s.alert(a.alert_id)
    assert (final.level, final.status, final.escalate_at) == ("district", AlertStatus.acknowledged, None)
    assert final.acknowledged_by == "user:epi.djenne" and final.notified_at == m(40)


def test_cscom_cannot_stop_an_immediately_notifiable_alert(s):
    nurse = s.user("dtc.mougna", "cscom", AREA)
    a = s.at(0).signal("cholera")
    with pytest.raises(DomainError) as e:
        s.at(5).act(a.alert_id, "acknowledge", nurse)
    assert (e.value.key, e.value.status) == ("alert.acknowledge.levelTooLow", 403)
    s.at(30); assert s.tick() == 1


def test_cscom_acknowledges_an_ordinary_alert_in_its_area_at_any_level(s):
    nurse = s.user("dtc.mougna", "cscom", AREA)
    a = s.at(0).signal("malaria", detector="earsC1")  # defaults: start at district, 24 h
    assert a.level == "district" and a.escalate_at == m(24 * 60)
    done = s.act(a.alert_id, "acknowledge", nurse)  # it sits above the CSCom, in the CSCom's area
    assert (done.status, done.level, done.acknowledged_by) == (AlertStatus.acknowledged, "district", "user:dtc.mougna")


def test_viral_haemorrhagic_fever_goes_to_national_at_once(s):
    a = s.at(0).signal("ebola")
    assert a.level == "national" and a.risk == 4
    evs = s.events(a.alert_id)
    esc = [e for e in evs if e.type == "escalated"]
    assert len(esc) == 1 and esc[0].data["cause"] == "direct" and esc[0].at == m(0)
    assert esc[0].data["from"] == "district"
    assert s.tick() == 0


def test_repeated_signals_merge_into_the_open_alert(s):
    a = s.at(0).signal("cholera", observed=1)
    b = s.at(10).signal("cholera", observed=2)
    c = s.at(20).signal("cholera", observed=3, onset=(START - dt.timedelta(days=3)).date())
    assert a.alert_id == b.alert_id == c.alert_id
    final = s.alert(a.alert_id)
    assert final.cases == 6 and final.signal_count == 3 and final.emergence_date == (START - dt.timedelta(days=3)).date()
    assert final.escalate_at == m(30)  # merging does not reset the acknowledgement deadline
    with s.db.connect() as conn:
        assert s.service.repo.count(conn) == 1
        assert len(s.service.repo.signals(conn, a.alert_id)) == 3


def test_same_signal_twice_changes_nothing(s):
    from tests.alerts.scenario import make_signal
    sig = make_signal(now=s.now, pyramid=s.pyramid)
    a = s.push(sig)
    b = s.push(sig)
    assert a.alert_id == b.alert_id and s.alert(a.alert_id).signal_count == 1


def test_other_area_or_week_opens_another_alert(s):
    a = s.at(0).signal("cholera")
    b = s.signal("cholera", area="ML-MOP-DJENNE-SOFARA")
    c = s.signal("cholera", onset=(START + dt.timedelta(days=7)).date())
    assert len({a.alert_id, b.alert_id, c.alert_id}) == 3


def _close(s, alert_id, user):
    s.act(alert_id, "verify", user)
    s.act(alert_id, "respond", user)
    s.act(alert_id, "close", user, reason="outbreak contained")


def test_cooldown_suppresses_a_repeat_after_close_unless_more_severe(s):
    district = s.user("epi.djenne", "district", "ML-MOP-DJENNE")
    a = s.at(0).signal("cholera")
    s.at(10); _close(s, a.alert_id, district)
    week_later = 7 * 24 * 60
    again = s.at(week_later).signal("cholera")  # next week: new dedup key, but within the 14-day cooldown
    assert again.alert_id == a.alert_id and again.status == AlertStatus.closed
    assert s.events(a.alert_id)[-1].type == "duplicate_suppressed"
    worse = s.at(week_later + 1).signal("cholera", severity="epidemic")
    assert worse.alert_id != a.alert_id and worse.status == AlertStatus.open and worse.risk == 4
    after = s.at(15 * 24 * 60).signal("cholera", area="ML-MOP-DJENNE-MOUGNA")
    assert after.alert_id not in (a.alert_id,)


def test_cooldown_ends(s):
    district = s.user("epi.djenne", "district", "ML-MOP-DJENNE")
    a = s.at(0).signal("cholera")
    s.at(10); _close(s, a.alert_id, district)
    b = s.at(10 + 14 * 24 * 60 + 1).signal("cholera")
    assert b.alert_id != a.alert_id and b.status == AlertStatus.open


def test_manual_escalation_by_a_user(s):
    district = s.user("epi.djenne", "district", "ML-MOP-DJENNE")
    a = s.at(0).signal("malaria", detector="earsC1")
    s.at(5).act(a.alert_id, "acknowledge", district)
    up = s.at(6).act(a.alert_id, "escalate", district, reason="needs regional lab support")
    assert up.level == "region" and up.status == AlertStatus.acknowledged and up.escalate_at is None
    ev = s.events(a.alert_id)[-1]
    assert (ev.type, ev.by, ev.reason, ev.data["cause"]) == ("escalated", "user:epi.djenne",
                                                             "needs regional lab support", "manual")
    # escalation widens the audience: the district goes on working its alert at region level
    assert s.act(a.alert_id, "verify", district).status == AlertStatus.verified
    national = s.user("dgshp", "national", "ML")
    s.act(a.alert_id, "escalate", national)
    with pytest.raises(DomainError) as e:
        s.act(a.alert_id, "escalate", national)
    assert e.value.key == "alert.escalate.atTop"


def test_repeat_notification_while_unacknowledged(s):
    s.subscribe("ML-MOP-DJENNE-MOUGNA", "sms", "+22370000001")
    s.subscribe("ML", "sms", "+22370000009")
    a = s.at(0).signal("ebola")  # national at once, repeat every 2 h
    s.at(119); s.tick()
    s.at(121); s.tick(); s.tick()
    reasons = [e.reason for e in s.events(a.alert_id) if e.type == "notified"]
    assert reasons == ["escalated", "repeat"]


def test_replaying_events_rebuilds_the_alert(s):
    district = s.user("epi.djenne", "district", "ML-MOP-DJENNE")
    s.subscribe("ML-MOP-DJENNE", "sms", "+22370000002")
    a = s.at(0).signal("cholera")
    s.at(5).signal("cholera", observed=4)
    s.at(31).tick()
    s.at(40).act(a.alert_id, "verify", district)
    s.at(50).act(a.alert_id, "respond", district)
    s.at(60).act(a.alert_id, "close", district, reason="contained")
    row = s.alert(a.alert_id)
    assert replay(s.events(a.alert_id)) == row
    assert row.notified_at == m(40) and row.response_at == m(50) and row.outcome == "contained"
