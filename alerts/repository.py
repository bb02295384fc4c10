"""All SQL of the alerts stage."""
from __future__ import annotations

import datetime as dt
from typing import Any, Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from alerts.contracts import Alert, AlertEvent, AlertStatus
from alerts.tables import alert_events, alert_signals, alerts
from detectors.contracts import Signal

_ACTIVE = [s.value for s in (AlertStatus.open, AlertStatus.acknowledged, AlertStatus.verified,
                             AlertStatus.response)]


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def _alert(row: Any) -> Alert:
    d = dict(row._mapping)
    d["created_at"] = _utc(d["created_at"])
    d["updated_at"] = _utc(d["updated_at"])
    return Alert.model_validate(d)


def _event(row: Any) -> AlertEvent:
    d = dict(row._mapping)
    d.pop("event_id", None)
    d["at"] = _utc(d["at"])
    return AlertEvent.model_validate(d)


class AlertRepository:
    def active_by_dedup_key(self, conn: Connection, dedup_key: str) -> Alert | None:
        row = conn.execute(sa.select(alerts).where(alerts.c.dedup_key == dedup_key,
                                                   alerts.c.status.in_(_ACTIVE))
                           .order_by(alerts.c.alert_id.desc())).first()
        return _alert(row) if row else None

    def get(self, conn: Connection, alert_id: int) -> Alert | None:
        row = conn.execute(sa.select(alerts).where(alerts.c.alert_id == alert_id)).first()
        return _alert(row) if row else None

    def insert(self, conn: Connection, alert: Alert) -> Alert:
        values = alert.model_dump(mode="python", exclude={"alert_id"})
        values["status"] = alert.status.value
        alert_id = conn.execute(alerts.insert().values(**values)).inserted_primary_key[0]
        return alert.model_copy(update={"alert_id": int(alert_id)})

    def update(self, conn: Connection, alert: Alert) -> None:
        values = alert.model_dump(mode="python", exclude={"alert_id"})
        values["status"] = alert.status.value
        conn.execute(alerts.update().where(alerts.c.alert_id == alert.alert_id).values(**values))

    def append_events(self, conn: Connection, alert_id: int, events: Iterable[AlertEvent]) -> None:
        rows = [dict(e.model_dump(mode="python"), alert_id=alert_id) for e in events]
        if rows:
            conn.execute(alert_events.insert(), rows)

    def next_seq(self, conn: Connection, alert_id: int) -> int:
        cur = conn.execute(sa.select(sa.func.max(alert_events.c.seq)).where(alert_events.c.alert_id == alert_id))
        return int(cur.scalar() or 0) + 1

    def events(self, conn: Connection, alert_id: int) -> list[AlertEvent]:
        q = sa.select(alert_events).where(alert_events.c.alert_id == alert_id).order_by(alert_events.c.seq)
        return [_event(r) for r in conn.execute(q)]

    def add_signal(self, conn: Connection, alert_id: int, signal: Signal) -> bool:
        """Store the signal behind an alert; False when this signal id was stored already."""
        exists = conn.execute(sa.select(alert_signals.c.signal_id)
                              .where(alert_signals.c.signal_id == signal.signal_id)).first()
        if exists:
            return False
        conn.execute(alert_signals.insert().values(
            signal_id=signal.signal_id, alert_id=alert_id, dedup_key=signal.dedup_key,
            detected_at=signal.detected_at, payload=signal.model_dump(mode="json")))
        return True

    def signals(self, conn: Connection, alert_id: int) -> list[Signal]:
        q = sa.select(alert_signals.c.payload).where(alert_signals.c.alert_id == alert_id) \
            .order_by(alert_signals.c.detected_at)
        return [Signal.model_validate(r[0]) for r in conn.execute(q)]

    def list(self, conn: Connection, *, status: Iterable[str] | None = None, district_ids: Iterable[str] | None = None,
             disease: str | None = None, limit: int = 50, offset: int = 0) -> list[Alert]:
        q = sa.select(alerts).order_by(alerts.c.risk.desc(), alerts.c.created_at.desc(), alerts.c.alert_id.desc())
        if status:
            q = q.where(alerts.c.status.in_(list(status)))
        if district_ids is not None:
            q = q.where(alerts.c.district_id.in_(list(district_ids)))
        if disease:
            q = q.where(alerts.c.disease == disease)
        return [_alert(r) for r in conn.execute(q.limit(limit).offset(offset))]

    def count(self, conn: Connection) -> int:
        return int(conn.execute(sa.select(sa.func.count()).select_from(alerts)).scalar_one())
