"""Signal → alert: open a new alert, or merge the signal into the open alert with its dedup key.

Pure: takes the open alert (if any) and ``now``; returns the new alert state and the events to
append. The repository persists them.
"""
from __future__ import annotations

import datetime as dt

from alerts.contracts import Alert, AlertEvent, AlertStatus
from detectors.contracts import Signal
from ingest.pyramid import Pyramid

ACTIVE = (AlertStatus.open, AlertStatus.acknowledged, AlertStatus.verified, AlertStatus.response)


def open_alert(signal: Signal, pyramid: Pyramid, now: dt.datetime, *, alert_id: int = 0,
               start_level: str | None = None, risk: int = 1) -> tuple[Alert, list[AlertEvent]]:
    region = pyramid.ancestor_at(signal.orgunit_id, "region") if signal.orgunit_id in pyramid else None
    level = start_level or signal.orgunit_level
    alert = Alert(
        alert_id=alert_id, dedup_key=signal.dedup_key, disease=signal.disease,
        orgunit_id=signal.orgunit_id, orgunit_level=signal.orgunit_level, district_id=signal.district_id,
        region_id=region.id if region else None, level=level, status=AlertStatus.open,
        severity=signal.severity.value, risk=risk, created_at=now, updated_at=now,
        emergence_date=signal.emergence_date, cases=signal.observed, signal_count=1,
        raised_late=signal.raised_late, detector=signal.detector,
    )
    event = AlertEvent(alert_id=alert_id, seq=1, type="created", at=now, by="system", level=level,
                       reason=signal.message or f"{signal.detector}: {signal.observed:g} ≥ {signal.threshold}",
                       data={"signal_id": signal.signal_id, "raised_late": signal.raised_late})
    return alert, [event]


def merge_signal(alert: Alert, signal: Signal, now: dt.datetime, next_seq: int) -> tuple[Alert, list[AlertEvent]]:
    """A repeated signal updates the open alert (observed count, emergence, severity) instead of a new one."""
    severity = signal.severity.value if signal.severity.rank > (2 if alert.severity == "epidemic" else 1) \
        else alert.severity
    updated = alert.model_copy(update={
        "cases": alert.cases + signal.observed if signal.detector == "immediate" else max(alert.cases, signal.observed),
        "signal_count": alert.signal_count + 1,
        "emergence_date": min(alert.emergence_date, signal.emergence_date),
        "severity": severity,
        "updated_at": now,
        "version": alert.version + 1,
    })
    event = AlertEvent(alert_id=alert.alert_id, seq=next_seq, type="signal_merged", at=now, by="system",
                       level=alert.level, reason=signal.message,
                       data={"signal_id": signal.signal_id, "observed": signal.observed})
    return updated, [event]
