"""Prometheus metrics of the alerts stage: lifecycle counters and histograms (updated at the call
site through the ``observe_*`` helpers) and alert-state gauges computed from the database at scrape
time (:func:`alert_gauges`), which keeps them right across API processes and stream workers.

Labels are bounded: ``disease`` (catalogue code), ``level`` / ``from_level`` / ``to_level`` (pyramid
level names), ``region`` / ``district`` (org unit ids at those levels), ``risk`` (1-4), ``reason``,
``outcome``, ``channel``, ``milestone`` and ``status`` (small fixed sets below; an unexpected value
becomes ``other``). Never an alert id, a health area, a person or an address.

7-1-7 (Frieden et al., *Lancet* 2021; Resolve to Save Lives), with the definitions of
:mod:`alerts.timeliness`: each alert is classified per milestone as ``met``, ``missed`` or ``pending``
(deadline not passed yet, milestone not reached):

* detection    — ``created_at − emergence_date ≤ 7 days`` (emergence = earliest onset);
* notification — ``notified_at − created_at ≤ 1 day`` (acknowledged at district level or above);
* response     — ``response_at − notified_at ≤ 7 days`` (early response started and recorded).

Discarded alerts are not outbreaks: they are left out of the 7-1-7 counts.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Iterable

import sqlalchemy as sa
from prometheus_client import Counter, Histogram

from alerts.tables import alerts
from alerts.timeliness import TARGETS, milestone

OTHER = "other"
UNKNOWN = "unknown"
ACTIVE_STATUSES = ("open", "acknowledged", "verified", "response")
STATUSES = ACTIVE_STATUSES + ("discarded", "closed")
ESCALATION_REASONS = ("timeout", "direct", "manual", OTHER)
CLOSE_OUTCOMES = ("discarded", "verified", "response", OTHER)  # the status the alert was closed from
NOTIFICATION_CHANNELS = ("sms", "email", "webhook", "log", OTHER)
MILESTONES = ("detection", "notification", "response")
MILESTONE_STATUSES = ("met", "missed", "pending")
MINUTE, HOUR, DAY = 60.0, 3600.0, 86400.0
DELAY_BUCKETS = (5 * MINUTE, 15 * MINUTE, 30 * MINUTE, HOUR, 2 * HOUR, 6 * HOUR, 12 * HOUR, DAY, 2 * DAY,
                 3 * DAY, 7 * DAY)
RECENT = dt.timedelta(days=30)  # closed alerts keep a 0 series this long, so panels drop to 0, not vanish

ALERTS_RAISED = Counter("sebac_alerts_raised", "Alerts created, by disease and starting level",
                        ["disease", "level"])
SIGNALS_MERGED = Counter("sebac_signals_merged", "Signals merged into an open alert", ["disease"])
ALERTS_ESCALATED = Counter("sebac_alerts_escalated", "Escalations, by level left, level reached and cause "
                           "(timeout, direct, manual)", ["from_level", "to_level", "reason"])
ALERTS_CLOSED = Counter("sebac_alerts_closed", "Alerts closed, by disease and outcome (the status closed from)",
                        ["disease", "outcome"])
TIME_TO_ACK = Histogram("sebac_alert_time_to_acknowledge_seconds", "Alert creation to first acknowledgement, "
                        "by the level that acknowledged", ["level"], buckets=DELAY_BUCKETS)
TIME_TO_VERIFY = Histogram("sebac_alert_time_to_verify_seconds", "Alert creation to verification, by the "
                           "level that verified", ["level"], buckets=DELAY_BUCKETS)
NOTIFICATIONS_SENT = Counter("sebac_notifications_sent", "Notifications delivered to the gateway, by channel",
                             ["channel"])
NOTIFICATIONS_FAILED = Counter("sebac_notifications_failed", "Notification attempts that failed (will be "
                               "retried), by channel", ["channel"])
NOTIFICATIONS_DEAD = Counter("sebac_notifications_dead_lettered", "Notifications given up after the last "
                             "retry, by channel", ["channel"])

_LEVEL = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


def _bounded(value: str | None, allowed: Iterable[str]) -> str:
    return value if value in tuple(allowed) else OTHER


def _level(value: str | None) -> str:
    return value if value and _LEVEL.match(value) else UNKNOWN


def observe_alert_raised(disease: str, level: str) -> None:
    ALERTS_RAISED.labels(disease, _level(level)).inc()


def observe_signal_merged(disease: str) -> None:
    SIGNALS_MERGED.labels(disease).inc()


def observe_escalation(from_level: str, to_level: str, reason: str) -> None:
    """``reason``: the escalation cause (``timeout``, ``direct``, ``manual``), never free text."""
    ALERTS_ESCALATED.labels(_level(from_level), _level(to_level), _bounded(reason, ESCALATION_REASONS)).inc()


def observe_closed(disease: str, closed_from: str) -> None:
    """``closed_from``: the status the alert had just before ``closed`` (its outcome category)."""
    ALERTS_CLOSED.labels(disease, _bounded(closed_from, CLOSE_OUTCOMES)).inc()


def observe_acknowledged(created_at: dt.datetime, at: dt.datetime, level: str) -> None:
    TIME_TO_ACK.labels(_level(level)).observe(max(0.0, (at - created_at).total_seconds()))


def observe_verified(created_at: dt.datetime, at: dt.datetime, level: str) -> None:
    TIME_TO_VERIFY.labels(_level(level)).observe(max(0.0, (at - created_at).total_seconds()))


def observe_notification(channel: str, outcome: str) -> None:
    """``outcome``: ``sent``, ``failed`` (retry scheduled) or ``dead_lettered`` (given up)."""
    counter = {"sent": NOTIFICATIONS_SENT, "failed": NOTIFICATIONS_FAILED,
               "dead_lettered": NOTIFICATIONS_DEAD}[outcome]
    counter.labels(_bounded(channel, NOTIFICATION_CHANNELS)).inc()


def precreate(levels: Iterable[str], diseases: Iterable[str]) -> None:
    """Start every known label set at 0: diseases × levels, level pairs along the path, channels."""
    levels, diseases = [_level(v) for v in levels], list(diseases)
    for disease in diseases:
        SIGNALS_MERGED.labels(disease)
        for level in levels:
            ALERTS_RAISED.labels(disease, level)
        for outcome in CLOSE_OUTCOMES:
            ALERTS_CLOSED.labels(disease, outcome)
    for level in levels:
        TIME_TO_ACK.labels(level)
        TIME_TO_VERIFY.labels(level)
    for i, low in enumerate(levels):
        for high in levels[i + 1:]:
            for reason in ESCALATION_REASONS:
                ALERTS_ESCALATED.labels(low, high, reason)
    for channel in NOTIFICATION_CHANNELS:
        for counter in (NOTIFICATIONS_SENT, NOTIFICATIONS_FAILED, NOTIFICATIONS_DEAD):
            counter.labels(channel)



# -- authentication ------------------------------------------------------------------------------
AUTH_DENIED_REASONS = ("auth.token.missing", "auth.token.invalid", "auth.apikey.invalid", "auth.role.forbidden",
                       "auth.jurisdiction.denied", "auth.login.failed", OTHER)
AUTH_DENIED = Counter("sebac_auth_denied", "Requests refused by authentication or jurisdiction, by error key",
                      ["reason"])
for _reason in AUTH_DENIED_REASONS:
    AUTH_DENIED.labels(_reason)


def observe_auth_denied(reason: str) -> None:
    AUTH_DENIED.labels(_bounded(reason, AUTH_DENIED_REASONS)).inc()

# -- alert state, from the database at scrape time -----------------------------------------------
def seven_one_seven(row: Any, now: dt.datetime) -> dict[str, str | None]:
    """Pure: the three milestone statuses of one alert row, as :func:`alerts.timeliness.timeliness`
    computes them for one :class:`Alert` (here from a row, to classify thousands per scrape)."""
    created = _utc(row.created_at)
    emergence = dt.datetime.combine(row.emergence_date, dt.time(), dt.timezone.utc)
    notified = _utc(getattr(row, "notified_at", None))
    response = _utc(getattr(row, "response_at", None))
    return {"detection": milestone(emergence, created, TARGETS["detection"], now),
            "notification": milestone(created, notified, TARGETS["notification"], now),
            "response": milestone(notified, response, TARGETS["response"], now)}


@dataclass
class AlertGauges:
    open: dict[tuple[str, str, str, str, str], int]      # (level, region, district, disease, risk) -> n
    by_status: dict[str, int]                             # status -> n
    milestones: dict[tuple[str, str, str], int]           # (milestone, status, disease) -> n


def _utc(v: dt.datetime | None) -> dt.datetime | None:
    return v if v is None or v.tzinfo else v.replace(tzinfo=dt.timezone.utc)


def alert_gauges(conn: sa.Connection, now: dt.datetime, diseases: Iterable[str],
                 window: dt.timedelta = dt.timedelta(days=90)) -> AlertGauges:
    """Open alerts by label set (0 for sets whose alerts ended within :data:`RECENT`), alerts by
    status, and 7-1-7 milestones of the alerts created within ``window``."""
    c = alerts.c
    gauges = AlertGauges({}, {s: 0 for s in STATUSES},
                         {(m, s, d): 0 for m in MILESTONES for s in MILESTONE_STATUSES for d in diseases})
    for status, n in conn.execute(sa.select(c.status, sa.func.count()).group_by(c.status)):
        key = _bounded(status, STATUSES)
        gauges.by_status[key] = gauges.by_status.get(key, 0) + n
    is_open = sa.case((c.status.in_(ACTIVE_STATUSES), 1), else_=0)
    rows = conn.execute(sa.select(c.level, c.region_id, c.district_id, c.disease, c.risk, sa.func.sum(is_open))
                        .where(sa.or_(c.status.in_(ACTIVE_STATUSES), c.updated_at >= now - RECENT))
                        .group_by(c.level, c.region_id, c.district_id, c.disease, c.risk))
    for level, region, district, disease, risk, n in rows:
        cell = (_level(level), region or UNKNOWN, district or UNKNOWN, disease, str(risk))
        gauges.open[cell] = gauges.open.get(cell, 0) + int(n or 0)
    cols = [c.disease, c.status, c.created_at, c.emergence_date]
    cols += [col for col in (c.get("notified_at"), c.get("response_at")) if col is not None]
    outbreaks = [c.created_at >= now - window, c.status != "discarded"]
    if c.get("discarded_at") is not None:  # discarded, then closed
        outbreaks.append(c.discarded_at.is_(None))
    for row in conn.execute(sa.select(*cols).where(*outbreaks)):
        for step, status in seven_one_seven(row, now).items():
            if status is not None:
                reached = (step, status, row.disease)
                gauges.milestones[reached] = gauges.milestones.get(reached, 0) + 1
    return gauges
