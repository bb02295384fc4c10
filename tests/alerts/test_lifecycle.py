"""The transition table: every (status, action) pair, its guard key, and replay."""
from __future__ import annotations

import datetime as dt

import pytest

from alerts.contracts import Alert, AlertStatus
from alerts.lifecycle import ACTIONS, Actor, check, replay, transition
from alerts.contracts import AlertEvent
from ingest.errors import DomainError

T0 = dt.datetime(2026, 11, 16, 8, 0, tzinfo=dt.timezone.utc)
S = AlertStatus
ALLOWED = {  # status -> actions allowed (escalate handled by the escalation module)
    S.open: {"acknowledge", "verify", "discard", "escalate", "take_over", "assess"},
    S.acknowledged: {"verify", "discard", "escalate", "take_over", "assess"},
    S.verified: {"respond", "close", "escalate", "take_over", "assess"},
    S.response: {"close", "escalate", "take_over", "assess"},
    S.discarded: {"close"},
    S.closed: set(),
}
EPI = Actor("user:epi", "district", counts_for_notification=True)


def alert(status: AlertStatus = S.open) -> Alert:
    return Alert(alert_id=7, dedup_key="k", disease="cholera", orgunit_id="A", orgunit_level="health_area",
                 district_id="D", level="district", status=status, created_at=T0, updated_at=T0,
                 emergence_date=T0.date(), level_since=T0, escalate_at=T0 + dt.timedelta(minutes=30))


@pytest.mark.parametrize("status", list(S))
@pytest.mark.parametrize("action", ACTIONS)
def test_transition_table(status, action):
    a = alert(status)
    if action in ALLOWED[status]:
        check(a, action, reason="because")
    else:
        with pytest.raises(DomainError) as e:
            check(a, action, reason="because")
        assert (e.value.key, e.value.status) == (f"alert.{action}.wrongStatus", 409)


@pytest.mark.parametrize("action", ["discard", "close"])
@pytest.mark.parametrize("reason", [None, "", "   "])
def test_discard_and_close_need_a_reason(action, reason):
    status = S.open if action == "discard" else S.verified
    with pytest.raises(DomainError) as e:
        check(alert(status), action, reason=reason)
    assert (e.value.key, e.value.status) == (f"alert.{action}.reasonRequired", 422)


def test_unknown_action():
    with pytest.raises(DomainError) as e:
        check(alert(), "dance")
    assert e.value.key == "alert.action.unknown"


def test_each_transition_appends_one_event_with_who_when_where_why():
    a, ev = transition(alert(), "discard", EPI, T0 + dt.timedelta(minutes=5), 2, reason=" rumour ")
    assert (ev.type, ev.at, ev.by, ev.level, ev.reason) == ("discarded", T0 + dt.timedelta(minutes=5), "user:epi",
                                                            "district", "rumour")
    assert a.status == S.discarded and a.discard_reason == "rumour" and a.escalate_at is None


def test_verify_from_open_implies_acknowledgement_and_records_7_1_7_notification():
    a, _ = transition(alert(), "verify", EPI, T0 + dt.timedelta(hours=2), 2)
    assert a.acknowledged_at == a.verified_at == a.notified_at == T0 + dt.timedelta(hours=2)
    cscom = Actor("user:dtc", "health_area", counts_for_notification=False)
    b, _ = transition(alert(), "acknowledge", cscom, T0, 2)
    assert b.acknowledged_at == T0 and b.notified_at is None


def test_replay_rebuilds_state_from_events():
    first = alert()
    created = AlertEvent(alert_id=7, seq=1, type="created", at=T0, by="system", level="district",
                         data={"alert": first.model_dump(mode="json")})
    a, e2 = transition(first, "acknowledge", EPI, T0 + dt.timedelta(minutes=10), 2)
    a, e3 = transition(a, "verify", EPI, T0 + dt.timedelta(minutes=20), 3)
    a, e4 = transition(a, "respond", EPI, T0 + dt.timedelta(hours=5), 4)
    a, e5 = transition(a, "close", EPI, T0 + dt.timedelta(days=3), 5, reason="contained")
    assert replay([e5, created, e3, e2, e4]) == a
    assert a.version == 5
    with pytest.raises(ValueError):
        replay([e2, e3])


from hypothesis import given, settings, strategies as st  # noqa: E402

from alerts.escalation import plan_take_over  # noqa: E402
from alerts.lifecycle import escalation_event, reduce  # noqa: E402
from alerts.policy import load_policy  # noqa: E402

DECISION = load_policy().decide("malaria", "alert", False)

LEVELS_UP = ["health_area", "district", "region", "national"]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(ACTIONS), st.integers(1, 600), st.booleans()), max_size=12))
def test_replay_equals_incremental_state_for_any_action_sequence(steps):
    first = alert().model_copy(update={"level": "health_area"})
    events = [AlertEvent(alert_id=7, seq=1, type="created", at=T0, by="system", level="health_area",
                         data={"alert": first.model_dump(mode="json")})]
    a, now = first, T0
    for action, minutes, with_reason in steps:
        now += dt.timedelta(minutes=minutes)
        seq = len(events) + 1
        try:
            check(a, action, reason="r" if with_reason else None)
        except DomainError:
            continue
        if action == "escalate":
            if a.level == "national":
                continue
            up = LEVELS_UP[LEVELS_UP.index(a.level) + 1]
            ev = escalation_event(a, up, now, seq, by="user:x", cause="manual", reason="r",
                                  deadline=now + dt.timedelta(minutes=30) if up != "national" else None)
            a = reduce(a, ev)
        elif action == "take_over":
            if a.level == "national":
                continue
            ev = plan_take_over(a, DECISION, now, seq, by="user:x", to_level="national", reason=None).event
            a = reduce(a, ev)
        else:
            assessment = {"kind": "risk", "risk": "high", "text": "t"} if action == "assess" else None
            a, ev = transition(a, action, EPI, now, seq, reason="r" if with_reason else None, assessment=assessment)
        events.append(ev)
    assert replay(events) == a
    assert a.version == len(events)
