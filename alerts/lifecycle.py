"""Alert lifecycle: a transition table, guards with stable error keys, and a reducer over events.

Transition table (action: from → to, event type)::

    acknowledge  open                                  → acknowledged   acknowledged
    verify       open, acknowledged                    → verified       verified (implies acknowledgement)
    discard      open, acknowledged                    → discarded      discarded (reason required)
    respond      verified                              → response       response_started
    close        verified, response, discarded         → closed         closed (outcome required)
    escalate     open, acknowledged, verified, response  (unchanged)    escalated (level moves up)
    take_over    open, acknowledged, verified, response  (unchanged)    taken_over (a higher level takes it)
    assess       open, acknowledged, verified, response  (unchanged)    assessed (risk, response actions)

Who may take each action is the table in :mod:`alerts.permissions`.

Every change is an :class:`AlertEvent` ``(type, at, by, level, reason, data)``; :func:`reduce` folds
one event into the alert and :func:`replay` rebuilds the whole alert from its events, so the
``alerts`` row is only a cache (tested: replay(events) == row). The data an event needs for its
effect (a deadline, a merged count) travels in ``data``, so replay does not need the policy.

Guards raise :class:`~ingest.errors.DomainError` with keys such as ``alert.acknowledge.wrongStatus``
(409), ``alert.discard.reasonRequired`` (422), ``alert.acknowledge.levelTooLow`` (403),
``alert.escalate.atTop`` (409). Style: Nyss ``alert.dismissAlert.wrongStatus``; GoAlert's alert log.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from alerts.contracts import Alert, AlertEvent, AlertStatus
from ingest.errors import DomainError

S = AlertStatus


@dataclass(frozen=True)
class Transition:
    action: str
    event: str
    sources: frozenset[AlertStatus]
    target: AlertStatus | None  # None: the status does not change (escalate, take over, assess)
    needs_reason: bool = False


_ACTIVE = frozenset({S.open, S.acknowledged, S.verified, S.response})
LEVEL_ACTIONS = frozenset({"escalate", "take_over"})  # planned in alerts.escalation (they move the level)
TRANSITIONS: dict[str, Transition] = {t.action: t for t in (
    Transition("acknowledge", "acknowledged", frozenset({S.open}), S.acknowledged),
    Transition("verify", "verified", frozenset({S.open, S.acknowledged}), S.verified),
    Transition("discard", "discarded", frozenset({S.open, S.acknowledged}), S.discarded, needs_reason=True),
    Transition("respond", "response_started", frozenset({S.verified}), S.response),
    Transition("close", "closed", frozenset({S.verified, S.response, S.discarded}), S.closed, needs_reason=True),
    Transition("escalate", "escalated", _ACTIVE, None),
    Transition("take_over", "taken_over", _ACTIVE, None),
    Transition("assess", "assessed", _ACTIVE, None),
)}
ACTIONS = tuple(TRANSITIONS)
ACTIVE = _ACTIVE


@dataclass(frozen=True)
class Actor:
    """Who acts: a user id (or ``system``) and the pyramid level they work at."""

    id: str
    level: str
    counts_for_notification: bool = False  # 7-1-7: an acknowledgement at district level or above


SYSTEM = Actor("system", "system")


def check(alert: Alert, action: str, *, reason: str | None = None) -> Transition:
    """The transition for ``action`` if the guards allow it, else a DomainError with a stable key."""
    t = TRANSITIONS.get(action)
    if t is None:
        raise DomainError("alert.action.unknown", f"unknown action {action!r}", status=404, action=action)
    if alert.status not in t.sources:
        raise DomainError(f"alert.{action}.wrongStatus",
                          f"cannot {action} alert #{alert.alert_id}: it is {alert.status.value}",
                          status=409, status_now=alert.status.value, id=alert.alert_id)
    if t.needs_reason and not (reason and reason.strip()):
        raise DomainError(f"alert.{action}.reasonRequired", f"{action} needs a reason", status=422, id=alert.alert_id)
    return t


def transition(alert: Alert, action: str, actor: Actor, now: dt.datetime, seq: int, *,
               reason: str | None = None, assessment: dict[str, Any] | None = None) -> tuple[Alert, AlertEvent]:
    """Apply a user action that does not move the level (escalate and take over: :mod:`alerts.escalation`)."""
    t = check(alert, action, reason=reason)
    if action in LEVEL_ACTIONS:
        raise ValueError(f"use alerts.escalation to plan {action}")
    event = AlertEvent(alert_id=alert.alert_id, seq=seq, type=t.event, at=now, by=actor.id, level=alert.level,
                       reason=reason.strip() if reason else None,
                       data={"actor_level": actor.level, "notification": actor.counts_for_notification}
                       | ({"assessment": dict(assessment or {})} if action == "assess" else {}))
    return reduce(alert, event), event


def escalation_event(alert: Alert, to_level: str, at: dt.datetime, seq: int, *, by: str, cause: str,
                     reason: str, deadline: dt.datetime | None) -> AlertEvent:
    """``cause``: ``timeout`` (scheduler), ``direct`` (policy at creation) or ``manual`` (a user)."""
    return AlertEvent(alert_id=alert.alert_id, seq=seq, type="escalated", at=at, by=by, level=to_level,
                      reason=reason, data={"from": alert.level, "cause": cause,
                                           "deadline": deadline.isoformat() if deadline else None})


def _ts(value: Any) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def _merged(alert: Alert, e: AlertEvent) -> dict[str, Any]:
    u: dict[str, Any] = {k: e.data[k] for k in ("cases", "severity", "risk") if k in e.data}
    if "emergence_date" in e.data:
        u["emergence_date"] = dt.date.fromisoformat(e.data["emergence_date"])
    return u | {"signal_count": alert.signal_count + 1}


def _moved(alert: Alert, e: AlertEvent) -> dict[str, Any]:
    """Escalated or taken over: the alert sits at the event's level from now, with that level's deadline."""
    return {"level": e.level, "level_since": e.at,
            "escalate_at": _ts(e.data.get("deadline")) if alert.status == S.open else None}


def _acknowledged(alert: Alert, e: AlertEvent) -> dict[str, Any]:
    u: dict[str, Any] = {"escalate_at": None}
    if alert.acknowledged_at is None:
        u |= {"acknowledged_at": e.at, "acknowledged_by": e.by}
    if e.data.get("notification") and alert.notified_at is None:
        u["notified_at"] = e.at
    return u


def _none(_alert: Alert, _e: AlertEvent) -> dict[str, Any]:
    return {}


# event type -> (fields it changes beyond status, whether it is a versioned state change)
EFFECTS: dict[str, tuple[Callable[[Alert, AlertEvent], dict[str, Any]], bool]] = {
    "signal_merged": (_merged, True),
    "escalated": (_moved, True),
    "taken_over": (_moved, True),
    "assessed": (_none, True),
    "acknowledged": (_acknowledged, True),
    "verified": (lambda a, e: _acknowledged(a, e) | {"verified_at": e.at}, True),
    "discarded": (lambda a, e: {"discarded_at": e.at, "discard_reason": e.reason, "escalate_at": None}, True),
    "response_started": (lambda a, e: {"response_at": e.at}, True),
    "closed": (lambda a, e: {"closed_at": e.at, "outcome": e.reason, "escalate_at": None}, True),
    "notified": (lambda a, e: {"last_notified_at": e.at}, False),
    "duplicate_suppressed": (_none, False),
    # a report behind the alert was revised (alerts.revisions): said on the timeline, state unchanged
    "report_corrected": (_none, False),
    "report_retracted": (_none, False),
    "report_duplicate": (_none, False),
}
_TARGET = {t.event: t.target for t in TRANSITIONS.values() if t.target is not None}


def reduce(alert: Alert, event: AlertEvent) -> Alert:
    """The alert after one event. Pure; the single place where events change state: the status
    comes from :data:`TRANSITIONS`, the other fields from :data:`EFFECTS`."""
    if event.type == "created":
        return Alert.model_validate(event.data["alert"]) if "alert" in event.data else alert
    if event.type not in EFFECTS:
        raise ValueError(f"unknown alert event type {event.type!r}")
    effect, versioned = EFFECTS[event.type]
    u = effect(alert, event)
    if event.type in _TARGET:
        u["status"] = _TARGET[event.type]
    if versioned:
        u |= {"updated_at": event.at, "version": alert.version + 1}
    return alert.model_copy(update=u)


def replay(events: Iterable[AlertEvent]) -> Alert:
    """Rebuild an alert from its events (the first must be ``created``)."""
    it = iter(sorted(events, key=lambda e: e.seq))
    first = next(it, None)
    if first is None or first.type != "created":
        raise ValueError("an alert's events start with 'created'")
    alert = reduce(None, first)  # type: ignore[arg-type]
    for event in it:
        alert = reduce(alert, event)
    return alert
