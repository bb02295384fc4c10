"""All SQL of the alerts stage."""
from __future__ import annotations

import builtins
import datetime as dt
from typing import Any, Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from alerts.contracts import Alert, AlertEvent, AlertStatus
from alerts.tables import alert_events, alert_signals, alerts, inserted_id
from detectors.contracts import Signal

_ACTIVE = [s.value for s in (AlertStatus.open, AlertStatus.acknowledged, AlertStatus.verified,
                             AlertStatus.response)]


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def _as_utc(value: dt.datetime) -> dt.datetime:
    """Comparison parameter in UTC: SQLite compares the stored UTC text, PostgreSQL timestamptz values."""
    return value.astimezone(dt.timezone.utc)


_TIMESTAMPS = ("created_at", "updated_at", "level_since", "escalate_at", "acknowledged_at", "verified_at",
               "discarded_at", "response_at", "closed_at", "notified_at", "last_notified_at")


def _alert(row: Any) -> Alert:
    d = dict(row._mapping)
    for k in _TIMESTAMPS:
        if d.get(k) is not None:
            d[k] = _utc(d[k])
    return Alert.model_validate(d)


def _event(row: Any) -> AlertEvent:
    d = dict(row._mapping)
    d.pop("event_id", None)
    d["at"] = _utc(d["at"])
    return AlertEvent.model_validate(d)


class StaleAlert(RuntimeError):
    """An alert row was written by someone else between its locked read and this write (a bug)."""


# the statements of the signal path, built once with bound parameters (a signal runs several; building
# the expression anew per call cost more than executing it)
# (``or_`` of equalities rather than ``in_``: an IN list is an expanding parameter, rendered anew at
# every execution)
_BY_DEDUP_KEY = (sa.select(alerts).where(alerts.c.dedup_key == sa.bindparam("b_key"),
                                         sa.or_(*(alerts.c.status == s for s in _ACTIVE)))
                 .order_by(alerts.c.alert_id.desc()))
_OF_SIGNAL = (sa.select(alerts).join(alert_signals, alert_signals.c.alert_id == alerts.c.alert_id)
              .where(alert_signals.c.signal_id == sa.bindparam("b_signal")))
_BY_ID = sa.select(alerts).where(alerts.c.alert_id == sa.bindparam("b_id"))
_BY_ID_LOCKED = _BY_ID.with_for_update()
_TOUCH = alerts.update().where(alerts.c.alert_id == sa.bindparam("b_id")).values(version=alerts.c.version)
_UPDATE = alerts.update().where(alerts.c.alert_id == sa.bindparam("b_id"),
                                alerts.c.version == sa.bindparam("b_version"))
_NEXT_SEQ = sa.select(sa.func.max(alert_events.c.seq)).where(alert_events.c.alert_id == sa.bindparam("b_id"))
_LAST_ENDED = (sa.select(alerts).where(alerts.c.disease == sa.bindparam("b_disease"),
                                       alerts.c.orgunit_id == sa.bindparam("b_unit"),
                                       sa.or_(alerts.c.status == "closed", alerts.c.status == "discarded"))
               .order_by(sa.func.coalesce(alerts.c.closed_at, alerts.c.discarded_at).desc()).limit(1))
_SIGNAL_KNOWN = sa.select(alert_signals.c.signal_id).where(alert_signals.c.signal_id == sa.bindparam("b_signal"))


class AlertRepository:
    def active_by_dedup_key(self, conn: Connection, dedup_key: str) -> Alert | None:
        row = conn.execute(_BY_DEDUP_KEY, {"b_key": dedup_key}).first()
        return _alert(row) if row else None

    def get(self, conn: Connection, alert_id: int) -> Alert | None:
        row = conn.execute(sa.select(alerts).where(alerts.c.alert_id == alert_id)).first()
        return _alert(row) if row else None

    def insert(self, conn: Connection, alert: Alert) -> Alert:
        values = alert.model_dump(mode="python", exclude={"alert_id"})
        values["status"] = alert.status.value
        alert_id = inserted_id(conn.execute(alerts.insert(), values))
        return alert.model_copy(update={"alert_id": int(alert_id)})

    def update(self, conn: Connection, alert: Alert, expected_version: int) -> None:
        """Write the alert row if nobody changed it since it was read at ``expected_version``
        (optimistic check behind the row lock of :meth:`get_for_update`); else :class:`StaleAlert`."""
        values = alert.model_dump(mode="python", exclude={"alert_id"})
        values["status"] = alert.status.value
        res = conn.execute(_UPDATE, values | {"b_id": alert.alert_id, "b_version": expected_version})
        if res.rowcount != 1:
            raise StaleAlert(f"alert #{alert.alert_id} changed since it was read (version {expected_version})")

    def update_many(self, conn: Connection, written: builtins.list[tuple[Alert, int]]) -> None:
        """:meth:`update` of each (alert, expected version), in one ``executemany`` where the driver
        counts the rows of each statement of it (SQLite, psycopg); else one by one."""
        if len(written) < 2 or not conn.dialect.supports_sane_multi_rowcount:
            for alert, version in written:
                self.update(conn, alert, version)
            return
        rows = [alert.model_dump(mode="python", exclude={"alert_id"})
                | {"status": alert.status.value, "b_id": alert.alert_id, "b_version": version}
                for alert, version in written]
        res = conn.execute(_UPDATE, rows)
        if res.rowcount != len(rows):
            raise StaleAlert(f"{len(rows) - res.rowcount} of alerts {[a.alert_id for a, _ in written]} changed "
                             "since they were read")

    def append_events(self, conn: Connection, alert_id: int, events: Iterable[AlertEvent]) -> None:
        rows = [dict(e.model_dump(mode="python"), alert_id=alert_id) for e in events]
        if rows:
            conn.execute(alert_events.insert(), rows)

    def next_seq(self, conn: Connection, alert_id: int) -> int:
        return int(conn.execute(_NEXT_SEQ, {"b_id": alert_id}).scalar() or 0) + 1

    def events(self, conn: Connection, alert_id: int) -> list[AlertEvent]:
        q = sa.select(alert_events).where(alert_events.c.alert_id == alert_id).order_by(alert_events.c.seq)
        return [_event(r) for r in conn.execute(q)]

    def add_signal(self, conn: Connection, alert_id: int, signal: Signal, *, check: bool = True) -> bool:
        """Store the signal behind an alert; False when this signal id was stored already
        (``check`` False: the caller knows it is new)."""
        if check and conn.execute(_SIGNAL_KNOWN, {"b_signal": signal.signal_id}).first():
            return False
        conn.execute(alert_signals.insert(), self.signal_row(alert_id, signal))
        return True

    @staticmethod
    def signal_row(alert_id: int, signal: Signal) -> dict[str, Any]:
        return {"signal_id": signal.signal_id, "alert_id": alert_id, "dedup_key": signal.dedup_key,
                "detected_at": signal.detected_at, "payload": signal.model_dump(mode="json")}

    def alerts_using_report(self, conn: Connection, report_id: str) -> list[int]:
        """Ids of the alerts whose stored signals name ``report_id`` (a uuid) among their reports."""
        text = sa.cast(alert_signals.c.payload, sa.Text)
        q = (sa.select(alert_signals.c.alert_id).where(text.contains(f'"{report_id}"', autoescape=True)).distinct()
             .order_by(alert_signals.c.alert_id))
        return [int(a) for a in conn.execute(q).scalars()]

    def alert_of_signal(self, conn: Connection, signal_id: str) -> Alert | None:
        row = conn.execute(_OF_SIGNAL, {"b_signal": signal_id}).first()
        return _alert(row) if row else None

    def signals(self, conn: Connection, alert_id: int) -> list[Signal]:
        q = sa.select(alert_signals.c.payload).where(alert_signals.c.alert_id == alert_id) \
            .order_by(alert_signals.c.detected_at)
        return [Signal.model_validate(r[0]) for r in conn.execute(q)]

    def get_for_update(self, conn: Connection, alert_id: int) -> Alert | None:
        """The alert row, locked until the transaction ends, so that the escalation scheduler, merges and
        user actions on one alert never interleave. PostgreSQL: ``SELECT … FOR UPDATE``. SQLite has no
        row locks: a no-op ``UPDATE`` of the row takes the database's write lock first (pysqlite opens
        the transaction there), so the read that follows is current and no other writer can commit
        before this transaction ends — the same effect as ``BEGIN IMMEDIATE``."""
        if conn.dialect.name == "postgresql":
            row = conn.execute(_BY_ID_LOCKED, {"b_id": alert_id}).first()
        else:
            conn.execute(_TOUCH, {"b_id": alert_id})
            row = conn.execute(_BY_ID, {"b_id": alert_id}).first()
        return _alert(row) if row else None

    def _filtered(self, q: Any, *, status: Iterable[str] | None, district_ids: Iterable[str] | None,
                  disease: str | None, orgunit_ids: Iterable[str] | None, level: str | None,
                  created_since: dt.datetime | None = None) -> Any:
        if created_since is not None:
            q = q.where(alerts.c.created_at >= _as_utc(created_since))
        if status:
            q = q.where(alerts.c.status.in_(list(status)))
        if district_ids is not None:
            q = q.where(alerts.c.district_id.in_(list(district_ids)))
        if orgunit_ids is not None:
            q = q.where(alerts.c.orgunit_id.in_(list(orgunit_ids)))
        if disease:
            q = q.where(alerts.c.disease == disease)
        if level:
            q = q.where(alerts.c.level == level)
        return q

    def list(self, conn: Connection, *, status: Iterable[str] | None = None, district_ids: Iterable[str] | None = None,
             disease: str | None = None, orgunit_ids: Iterable[str] | None = None, level: str | None = None,
             limit: int = 50, offset: int = 0, created_since: dt.datetime | None = None) -> list[Alert]:
        """Inbox order: highest risk first, then newest. ``orgunit_ids`` restricts to a jurisdiction."""
        q = sa.select(alerts).order_by(alerts.c.risk.desc(), alerts.c.created_at.desc(), alerts.c.alert_id.desc())
        q = self._filtered(q, status=status, district_ids=district_ids, disease=disease, orgunit_ids=orgunit_ids,
                           level=level, created_since=created_since)
        return [_alert(r) for r in conn.execute(q.limit(limit).offset(offset))]

    def count_by_status(self, conn: Connection, **filters: Any) -> dict[str, int]:
        """Alerts per status under the same filters as :meth:`list` (the inbox's counters)."""
        q = sa.select(alerts.c.status, sa.func.count()).group_by(alerts.c.status)
        q = self._filtered(q, **({"status": None, "district_ids": None, "disease": None, "orgunit_ids": None,
                                  "level": None} | filters))
        return {str(st): int(n) for st, n in conn.execute(q)}

    def total(self, conn: Connection, *, status: Iterable[str] | None = None,
              district_ids: Iterable[str] | None = None, disease: str | None = None,
              orgunit_ids: Iterable[str] | None = None, level: str | None = None) -> int:
        q = sa.select(sa.func.count()).select_from(alerts)
        q = self._filtered(q, status=status, district_ids=district_ids, disease=disease, orgunit_ids=orgunit_ids,
                           level=level)
        return int(conn.execute(q).scalar_one())

    def last_ended(self, conn: Connection, disease: str, orgunit_id: str) -> Alert | None:
        """The most recently closed or discarded alert for this disease and org unit (cooldown)."""
        row = conn.execute(_LAST_ENDED, {"b_disease": disease, "b_unit": orgunit_id}).first()
        return _alert(row) if row else None

    def due_for_escalation(self, conn: Connection, now: dt.datetime,
                           repeat_before: dt.datetime | None = None) -> builtins.list[int]:
        """Open alerts whose deadline has passed, or (``repeat_before``) not notified since then."""
        cond = sa.and_(alerts.c.escalate_at.is_not(None), alerts.c.escalate_at <= _as_utc(now))
        if repeat_before is not None:
            last = sa.func.coalesce(alerts.c.last_notified_at, alerts.c.level_since, alerts.c.created_at)
            cond = sa.or_(cond, last <= _as_utc(repeat_before))
        q = sa.select(alerts.c.alert_id).where(alerts.c.status == "open", cond).order_by(alerts.c.alert_id)
        return [r[0] for r in conn.execute(q)]

    def count(self, conn: Connection) -> int:
        return int(conn.execute(sa.select(sa.func.count()).select_from(alerts)).scalar_one())
