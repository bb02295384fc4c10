"""Escalation up the pyramid: pure planning of due steps, and the scheduler that applies them.

An open alert sits at a level with an acknowledgement deadline ``escalate_at = level_since +
ack_within[level]``. When ``now ≥ escalate_at`` and nobody acknowledged, it climbs to the next level
of the policy path, **stamped at the deadline** (not at the tick), and gets the next level's deadline.
If the scheduler was down for hours, one tick catches up with every missed step, each stamped at its
own deadline. Re-running a tick changes nothing: the steps are due from the alert's state, which the
first tick already advanced (idempotent, STYLE principle 5; GoAlert's escalation manager).

Repeat notifications: while an alert stays open at a level, its level is re-notified every
``repeat_every`` (reason ``repeat``).
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from alerts.contracts import Alert, AlertEvent, AlertStatus
from alerts.lifecycle import escalation_event, reduce
from alerts.policy import Decision, EscalationPolicy

log = logging.getLogger("sebac.alerts.escalation")


@dataclass(frozen=True)
class Step:
    event: AlertEvent
    alert: Alert  # the alert after the step


def deadline_at(decision: Decision, level: str, since: dt.datetime) -> dt.datetime | None:
    within = decision.ack_within.get(level)
    return since + within if within else None


def plan_timeouts(alert: Alert, policy: EscalationPolicy, decision: Decision, now: dt.datetime,
                  next_seq: int) -> list[Step]:
    """Every escalation due by ``now`` (possibly several when catching up), oldest first."""
    steps: list[Step] = []
    cur = alert
    while cur.status == AlertStatus.open and cur.escalate_at is not None and cur.escalate_at <= now:
        to = policy.next_level(cur.level)
        if to is None:  # the policy validator forbids a deadline at the top; be safe anyway
            break
        at = cur.escalate_at
        within = decision.ack_within.get(cur.level)
        reason = f"not acknowledged within {_human(within)} at {cur.level}" if within else "timeout"
        ev = escalation_event(cur, to, at, next_seq + len(steps), by="system", cause="timeout", reason=reason,
                              deadline=deadline_at(decision, to, at))
        cur = reduce(cur, ev)
        steps.append(Step(ev, cur))
    return steps


def plan_direct(alert: Alert, policy: EscalationPolicy, decision: Decision, now: dt.datetime,
                next_seq: int) -> list[Step]:
    """At creation: the policy sends the alert straight to ``direct_to`` (e.g. national for a VHF)."""
    to = decision.direct_to
    if to is None or policy.rank(to) <= policy.rank(alert.level):
        return []
    ev = escalation_event(alert, to, now, next_seq, by="system", cause="direct",
                          reason=f"policy {decision.rule}: direct escalation to {to}",
                          deadline=deadline_at(decision, to, now))
    return [Step(ev, reduce(alert, ev))]


def plan_manual(alert: Alert, policy: EscalationPolicy, decision: Decision, now: dt.datetime, next_seq: int,
                *, by: str, reason: str | None, to_level: str | None = None) -> Step:
    """A user sends the alert up: to the next level, or to ``to_level`` if it is above the current one."""
    from ingest.errors import DomainError

    target = to_level or policy.next_level(alert.level)
    if target is None:
        raise DomainError("alert.escalate.atTop", f"alert #{alert.alert_id} is already at the top level", status=409,
                          id=alert.alert_id)
    if target not in policy.path or policy.rank(target) <= policy.rank(alert.level):
        raise DomainError("alert.escalate.levelInvalid", f"cannot escalate from {alert.level} to {target}",
                          status=422, level=target, id=alert.alert_id)
    ev = escalation_event(alert, target, now, next_seq, by=by, cause="manual",
                          reason=(reason or "").strip() or "manual escalation",
                          deadline=deadline_at(decision, target, now))
    return Step(ev, reduce(alert, ev))


def plan_take_over(alert: Alert, decision: Decision, now: dt.datetime, next_seq: int, *, by: str,
                   to_level: str, reason: str | None) -> Step:
    """A higher level takes the alert over explicitly: it sits at ``to_level`` from now (the permission
    table checks that ``to_level`` is above the alert's level); an open alert gets that level's deadline."""
    ev = AlertEvent(alert_id=alert.alert_id, seq=next_seq, type="taken_over", at=now, by=by, level=to_level,
                    reason=(reason or "").strip() or f"taken over at {to_level}",
                    data={"from": alert.level, "deadline": (d.isoformat() if (d := deadline_at(decision, to_level, now))
                                                            else None)})
    return Step(ev, reduce(alert, ev))


def repeat_due(alert: Alert, decision: Decision, now: dt.datetime) -> bool:
    if alert.status != AlertStatus.open or decision.repeat_every is None:
        return False
    last = alert.last_notified_at or alert.level_since or alert.created_at
    return now - last >= decision.repeat_every


def _human(delta: dt.timedelta | None) -> str:
    if delta is None:
        return "-"
    s = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if s % size == 0 and s >= size:
            return f"{s // size} {unit}"
    return f"{s} s"


class EscalationScheduler:
    """Advances due escalations and repeats; ``tick(now)`` is safe to run twice or concurrently."""

    def __init__(self, db: Any, service: Any):
        self.db = db
        self.service = service

    def tick(self, now: dt.datetime) -> int:
        """Apply every due step; returns the number of escalation events written."""
        written = 0
        every = self.service.min_repeat_every()
        with self.db.connect() as conn:
            due = self.service.repo.due_for_escalation(conn, now, now - every if every else None)
        for alert_id in due:
            with self.db.begin() as conn:
                written += self.service.advance(conn, alert_id, now)
        return written
