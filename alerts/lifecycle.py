"""Alert lifecycle: a transition table, guards with stable error keys, and a reducer over events.

Transition table (action: from → to, event type)::

    acknowledge  open                                  → acknowledged   acknowledged
    verify       open, acknowledged                    → verified       verified (implies acknowledgement)
    discard      open, acknowledged                    → discarded      discarded (reason required)
    respond      verified                              → response       response_started
    close        verified, response, discarded         → closed         closed (outcome required)
    escalate     open, acknowledged, verified, response  (unchanged)    escalated (level moves up)

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
from typing import Any, Iterable

from alerts.contracts import Alert, AlertEvent, AlertStatus
from ingest.errors import DomainError

S = AlertStatus


@dataclass(frozen=True)
class Transition:
    action: str
    event: str
    sources: frozenset[AlertStatus]
    target: AlertStatus | None  # None: the status does not change (escalate)
    needs_reason: bool = False


TRANSITIONS: dict[str, Transition] = {t.action: t for t in (
    Transition("acknowledge", "acknowledged", frozenset({S.open}), S.acknowledged),
    Transition("verify", "verified", frozenset({S.open, S.acknowledged}), S.verified),
    Transition("discard", "discarded", frozenset({S.open, S.acknowledged}), S.discarded, needs_reason=True),
    Transition("respond", "response_started", frozenset({S.verified}), S.response),
    Transition("close", "closed", frozenset({S.verified, S.response, S.discarded}), S.closed, needs_reason=True),
    Transition("escalate", "escalated", frozenset({S.open, S.acknowledged, S.verified, S.response}), None),
)}
ACTIONS = tuple(TRANSITIONS)
ACTIVE = frozenset({S.open, S.acknowledged, S.verified, S.response})


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
                          status=409, status_now=alert.status.value)
    if t.needs_reason and not (reason and reason.strip()):
        raise DomainError(f"alert.{action}.reasonRequired", f"{action} needs a reason", status=422)
    return t


def transition(alert: Alert, action: str, actor: Actor, now: dt.datetime, seq: int, *,
               reason: str | None = None) -> tuple[Alert, AlertEvent]:
    """Apply a user action other than escalation (see :func:`escalation_event`)."""
    t = check(alert, action, reason=reason)
    if action == "escalate":
        raise ValueError("use escalation_event() for escalations")
    event = AlertEvent(alert_id=alert.alert_id, seq=seq, type=t.event, at=now, by=actor.id, level=alert.level,
                       reason=reason.strip() if reason else None,
                       data={"actor_level": actor.level, "notification": actor.counts_for_notification})
    return reduce(alert, event), event


def escalation_event(alert: Alert, to_level: str, at: dt.datetime, seq: int, *, by: str, cause: str,
                     reason: str, deadline: dt.datetime | None) -> AlertEvent:
    """``cause``: ``timeout`` (scheduler), ``direct`` (policy at creation) or ``manual`` (a user)."""
    return AlertEvent(alert_id=alert.alert_id, seq=seq, type="escalated", at=at, by=by, level=to_level,
                      reason=reason, data={"from": alert.level, "cause": cause,
                                           "deadline": deadline.isoformat() if deadline else None})


def _ts(value: Any) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def reduce(alert: Alert, event: AlertEvent) -> Alert:
    """The alert after one event. Pure; the single place where events change state."""
    at, t, data = event.at, event.type, event.data
    if t == "created":
        return Alert.model_validate(data["alert"]) if "alert" in data else alert
    u: dict[str, Any] = {"updated_at": at, "version": alert.version + 1}
    if t == "signal_merged":
        u |= {k: data[k] for k in ("cases", "severity", "risk") if k in data}
        if "emergence_date" in data:
            u["emergence_date"] = dt.date.fromisoformat(data["emergence_date"])
        u["signal_count"] = alert.signal_count + 1
    elif t == "escalated":
        u |= {"level": event.level, "level_since": at,
              "escalate_at": _ts(data.get("deadline")) if alert.status == S.open else None}
    elif t == "notified":
        u = {"last_notified_at": at}
    elif t == "duplicate_suppressed":
        u = {}
    elif t in ("acknowledged", "verified"):
        u |= {"status": S.acknowledged if t == "acknowledged" else S.verified, "escalate_at": None}
        if alert.acknowledged_at is None:
            u |= {"acknowledged_at": at, "acknowledged_by": event.by}
        if t == "verified":
            u["verified_at"] = at
        if data.get("notification") and alert.notified_at is None:
            u["notified_at"] = at
    elif t == "discarded":
        u |= {"status": S.discarded, "discarded_at": at, "discard_reason": event.reason, "escalate_at": None}
    elif t == "response_started":
        u |= {"status": S.response, "response_at": at}
    elif t == "closed":
        u |= {"status": S.closed, "closed_at": at, "outcome": event.reason, "escalate_at": None}
    else:
        raise ValueError(f"unknown alert event type {t!r}")
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
