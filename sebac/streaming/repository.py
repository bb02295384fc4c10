"""All SQL of the streaming workers: batched, idempotent writes.

* :meth:`StreamRepository.insert_reports` — one ``INSERT … ON CONFLICT (idempotency_key) DO NOTHING
  RETURNING`` per batch (the same rows :class:`ingest.repository.ReportRepository` writes one by one);
  returns which reports are new, and the stored version of the others (first writer wins).
* :meth:`insert_rejected` — rejected items with a given id, ``ON CONFLICT DO NOTHING``.
* :meth:`claim` / :meth:`outputs` — the inbox of processed messages (see :mod:`.tables`).
* :meth:`marks` / :meth:`advance_marks` — per-partition consumed marks (see :mod:`.tables`).
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from alerts.contracts import AlertEvent
from alerts.tables import alert_events
from ingest.contracts import Report
from ingest.cube import apply_reports
from ingest.repository import report_from_row, report_row
from ingest.tables import rejected_items, reports
from sebac.streaming.codec import RejectedRecord
from sebac.streaming.tables import stream_inbox, stream_offsets

# PostgreSQL allows 65,535 bind parameters per statement; SQLite 32,766.
_ROWS_PER_STATEMENT = 1000


def _insert(conn: Connection, table: sa.Table) -> Any:
    """The dialect's INSERT … ON CONFLICT (the two have the same interface, not one type)."""
    from sqlalchemy.dialects import postgresql, sqlite

    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    if conn.dialect.name == "sqlite":
        return sqlite.insert(table)
    raise ValueError(f"unsupported database {conn.dialect.name}")  # pragma: no cover - settings allow these two


class StreamRepository:
    def __init__(self, start_day: int = 0):
        self.start_day = start_day  # epi week start of the weekly cube (ingest.cube) the inserts update

    def insert_reports(self, conn: Connection, batch: Sequence[Report]) -> tuple[list[Report], list[Report]]:
        """Store a batch exactly once per idempotency key: returns (new reports, stored duplicates)."""
        unique: dict[str, Report] = {}
        for r in batch:
            unique.setdefault(r.idempotency_key, r)
        rows = [report_row(r) for r in unique.values()]
        inserted: set[str] = set()
        for i in range(0, len(rows), _ROWS_PER_STATEMENT):
            stmt = (_insert(conn, reports).values(rows[i:i + _ROWS_PER_STATEMENT])
                    .on_conflict_do_nothing(index_elements=["idempotency_key"])
                    .returning(reports.c.idempotency_key))
            inserted.update(conn.execute(stmt).scalars())
        new = [r for k, r in unique.items() if k in inserted]
        apply_reports(conn, new, start_day=self.start_day)
        seen = [k for k in unique if k not in inserted]
        stored: list[Report] = []
        for i in range(0, len(seen), _ROWS_PER_STATEMENT):
            q = sa.select(reports).where(reports.c.idempotency_key.in_(seen[i:i + _ROWS_PER_STATEMENT]))
            stored.extend(report_from_row(row) for row in conn.execute(q))
        return new, stored

    def insert_rejected(self, conn: Connection, items: Iterable[RejectedRecord]) -> int:
        rows = [{"rejected_id": i.rejected_id, "channel": i.channel, "received_at": i.received_at, "raw": i.raw,
                 "errors": i.errors, "idempotency_key": i.idempotency_key} for i in items]
        if not rows:
            return 0
        stmt = (_insert(conn, rejected_items).values(rows).on_conflict_do_nothing(index_elements=["rejected_id"])
                .returning(rejected_items.c.rejected_id))
        return len(conn.execute(stmt).all())

    def record_sources(self, conn: Connection, sources: dict[str, str], now: dt.datetime) -> None:
        """Remember which message (``topic:partition:offset``) stored each new report."""
        rows = [{"message_key": f"report:{k}", "processed_at": now, "outputs": [src]} for k, src in sources.items()]
        for i in range(0, len(rows), _ROWS_PER_STATEMENT):
            conn.execute(_insert(conn, stream_inbox).values(rows[i:i + _ROWS_PER_STATEMENT])
                         .on_conflict_do_nothing(index_elements=["message_key"]))

    def sources(self, conn: Connection, idempotency_keys: Sequence[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        keys = [f"report:{k}" for k in idempotency_keys]
        for i in range(0, len(keys), _ROWS_PER_STATEMENT):
            q = sa.select(stream_inbox.c.message_key, stream_inbox.c.outputs).where(
                stream_inbox.c.message_key.in_(keys[i:i + _ROWS_PER_STATEMENT]))
            for key, outputs in conn.execute(q):
                out[key.removeprefix("report:")] = outputs[0] if outputs else ""
        return out

    def claim(self, conn: Connection, message_key: str, now: dt.datetime) -> bool:
        """Record ``message_key`` as processed in the caller's transaction; False if it already was."""
        stmt = (_insert(conn, stream_inbox).values(message_key=message_key, processed_at=now, outputs=[])
                .on_conflict_do_nothing(index_elements=["message_key"]).returning(stream_inbox.c.message_key))
        return conn.execute(stmt).first() is not None

    def set_outputs(self, conn: Connection, message_key: str, outputs: list[dict[str, Any]]) -> None:
        conn.execute(stream_inbox.update().where(stream_inbox.c.message_key == message_key)
                     .values(outputs=outputs))

    def outputs(self, conn: Connection, message_key: str) -> list[dict[str, Any]]:
        row = conn.execute(sa.select(stream_inbox.c.outputs)
                           .where(stream_inbox.c.message_key == message_key)).first()
        return list(row[0]) if row else []

    def last_event_id(self, conn: Connection) -> int:
        return int(conn.execute(sa.select(sa.func.max(alert_events.c.event_id))).scalar() or 0)

    def events_after(self, conn: Connection, alert_id: int, event_id: int) -> list[AlertEvent]:
        """Events of ``alert_id`` appended after ``event_id`` (what applying one signal produced)."""
        q = (sa.select(alert_events).where(alert_events.c.alert_id == alert_id, alert_events.c.event_id > event_id)
             .order_by(alert_events.c.seq))
        out = []
        for row in conn.execute(q):
            d = dict(row._mapping)
            d.pop("event_id", None)
            if d["at"].tzinfo is None:
                d["at"] = d["at"].replace(tzinfo=dt.timezone.utc)
            out.append(AlertEvent.model_validate(d))
        return out

    def count_inbox(self, conn: Connection) -> int:
        return int(conn.execute(sa.select(sa.func.count()).select_from(stream_inbox)).scalar_one())

    def marks(self, conn: Connection, topic: str, partitions: Iterable[int]) -> dict[int, int]:
        """Consumed mark (next offset to handle) of each partition that has one."""
        q = sa.select(stream_offsets.c.partition, stream_offsets.c.next_offset).where(
            stream_offsets.c.topic == topic, stream_offsets.c.partition.in_(list(partitions)))
        return {int(p): int(n) for p, n in conn.execute(q)}

    def start_marks(self, conn: Connection, topic: str, firsts: dict[int, int], now: dt.datetime) -> None:
        """First sighting of partitions: their marks start at the first offset consumed (what the
        consumer starts from: the log start, or the group's committed offset)."""
        for partition, first in sorted(firsts.items()):
            conn.execute(_insert(conn, stream_offsets).values(topic=topic, partition=partition, next_offset=first,
                                                              updated_at=now)
                         .on_conflict_do_nothing(index_elements=["topic", "partition"]))

    def advance_marks(self, conn: Connection, topic: str, ranges: dict[int, tuple[int, int]],
                      now: dt.datetime) -> None:
        """Record that offsets ``first..last`` of each partition are handled: the mark moves to
        ``last + 1`` when the range starts at or below it (contiguous); a range above the mark
        leaves it where it is (its gap is still to be read), a range below it never lowers it."""
        for partition, (first, last) in sorted(ranges.items()):
            stmt = _insert(conn, stream_offsets).values(topic=topic, partition=partition, next_offset=last + 1,
                                                        updated_at=now)
            current, proposed = stream_offsets.c.next_offset, stmt.excluded.next_offset
            conn.execute(stmt.on_conflict_do_update(
                index_elements=["topic", "partition"],
                set_={"next_offset": sa.case((sa.and_(current >= first, current < proposed), proposed),
                                             else_=current),
                      "updated_at": now}))
