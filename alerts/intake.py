"""Signal → alert: open a new alert, merge into the open one, or suppress during the cooldown.

Pure: takes the current alert (if any), the policy decision and ``now``; returns the new alert state
and the events to append. The service persists them.

* **Dedup key** (versioned, STYLE principle 6): ``alert:v1:<disease>:<orgunit>:<epiweek>``. Signals
  for the same area, disease and week merge into one alert whatever detector raised them (the
  immediate rule and, later, a statistical detector); each signal keeps its own key in
  ``alert_signals``.
* **Merge**: cases add up for case-by-case rules (``immediate``), else the larger observed count is
  kept; the earliest emergence and the highest severity win; risk is recomputed.
* **Cooldown**: after an alert for the same disease and org unit ended (closed or discarded), a new
  signal within ``cooldown`` is suppressed unless more severe (alert fatigue; Alertmanager's
  ``repeat_interval``, GoAlert's ``duplicate_suppressed`` log entry).
"""
from __future__ import annotations

import datetime as dt

from alerts.contracts import Alert, AlertEvent, AlertStatus
from alerts.lifecycle import reduce
from alerts.policy import Decision, EscalationPolicy
from detectors.contracts import Signal
from ingest.pyramid import Pyramid

DEDUP_VERSION = 1
SEVERITY_RANK = {"alert": 1, "epidemic": 2}


def alert_dedup_key(signal: Signal) -> str:
    return f"alert:v{DEDUP_VERSION}:{signal.disease}:{signal.orgunit_id}:{signal.epiweek}"


def risk_of(decision: Decision, severity: str) -> int:
    """Risk orders inboxes: the rule's risk, one more for an epidemic-level signal (max 4)."""
    return min(4, decision.risk + (1 if severity == "epidemic" else 0))


def start_level(policy: EscalationPolicy, decision: Decision, signal_level: str) -> str:
    """The rule's start level, raised to the signal's own level when that is higher on the path."""
    if policy.rank(signal_level) > policy.rank(decision.start_level):
        return signal_level
    return decision.start_level


def open_alert(signal: Signal, pyramid: Pyramid, policy: EscalationPolicy, decision: Decision,
               now: dt.datetime, *, alert_id: int = 0) -> tuple[Alert, list[AlertEvent]]:
    region = pyramid.ancestor_at(signal.orgunit_id, "region") if signal.orgunit_id in pyramid else None
    level = start_level(policy, decision, signal.orgunit_level)
    within = decision.ack_within.get(level)
    alert = Alert(
        alert_id=alert_id, dedup_key=alert_dedup_key(signal), disease=signal.disease,
        orgunit_id=signal.orgunit_id, orgunit_level=signal.orgunit_level, district_id=signal.district_id,
        region_id=region.id if region else None, level=level, status=AlertStatus.open,
        severity=signal.severity.value, risk=risk_of(decision, signal.severity.value), created_at=now,
        updated_at=now, emergence_date=signal.emergence_date, cases=signal.observed, signal_count=1,
        raised_late=signal.raised_late, detector=signal.detector, policy_rule=decision.rule,
        level_since=now, escalate_at=now + within if within else None,
    )
    event = AlertEvent(alert_id=alert_id, seq=1, type="created", at=now, by="system", level=level,
                       reason=signal.message or f"{signal.detector}: {signal.observed:g} ≥ {signal.threshold}",
                       data={"signal_id": signal.signal_id, "raised_late": signal.raised_late,
                             "policy_rule": decision.rule, "alert": alert.model_dump(mode="json")})
    return alert, [event]


def merge_signal(alert: Alert, signal: Signal, decision: Decision, now: dt.datetime,
                 next_seq: int) -> tuple[Alert, list[AlertEvent]]:
    """A repeated signal updates the open alert instead of opening a new one."""
    more_severe = SEVERITY_RANK[signal.severity.value] > SEVERITY_RANK.get(alert.severity, 1)
    severity = signal.severity.value if more_severe else alert.severity
    cases = alert.cases + signal.observed if signal.detector == "immediate" else max(alert.cases, signal.observed)
    event = AlertEvent(alert_id=alert.alert_id, seq=next_seq, type="signal_merged", at=now, by="system",
                       level=alert.level, reason=signal.message,
                       data={"signal_id": signal.signal_id, "observed": signal.observed, "cases": cases,
                             "severity": severity, "risk": max(alert.risk, risk_of(decision, severity)),
                             "emergence_date": min(alert.emergence_date, signal.emergence_date).isoformat()})
    return reduce(alert, event), [event]


def in_cooldown(ended: Alert | None, signal: Signal, decision: Decision, now: dt.datetime) -> bool:
    """True when ``signal`` repeats an alert that ended less than ``cooldown`` ago and is not more severe."""
    if ended is None or ended.ended_at is None:
        return False
    if SEVERITY_RANK[signal.severity.value] > SEVERITY_RANK.get(ended.severity, 1):
        return False
    return now - ended.ended_at < decision.cooldown


def suppressed_event(ended: Alert, signal: Signal, now: dt.datetime, next_seq: int) -> AlertEvent:
    return AlertEvent(alert_id=ended.alert_id, seq=next_seq, type="duplicate_suppressed", at=now, by="system",
                      level=ended.level, reason="cooldown",
                      data={"signal_id": signal.signal_id, "observed": signal.observed,
                            "dedup_key": signal.dedup_key})
