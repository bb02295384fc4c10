"""All SQL of the ingest stage: append reports exactly once, keep rejected items."""
from __future__ import annotations

import builtins
import datetime as dt
import json
import re
import uuid
from typing import Any, Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ingest.contracts import Channel, RejectedItem, Report
from ingest.cube import apply_reports
from ingest.errors import ErrorDetail
from ingest.redaction import redact_text
from ingest.tables import COUNTED, rejected_items, reports


def _utc(value: dt.datetime) -> dt.datetime:
    # SQLite returns naive datetimes; every stored time is UTC.
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def report_from_row(row: Any) -> Report:
    data = dict(row._mapping)
    data["received_at"] = _utc(data["received_at"])
    return Report.model_validate(data)


def report_row(report: Report) -> dict[str, Any]:
    """The ``reports`` row of a report (enums as their values)."""
    values = report.model_dump(mode="python")
    values["channel"] = report.channel.value
    values["sex"] = report.sex.value
    values["age_group"] = report.age_group.value
    return values


class ReportRepository:
    """``start_day``: the epi week start of the weekly cube (:mod:`ingest.cube`) every insert updates."""

    def __init__(self, start_day: int = 0):
        self.start_day = start_day

    def insert(self, conn: Connection, report: Report) -> tuple[Report, bool]:
        """Append ``report`` unless its idempotency key is known: returns (stored report, is_new)."""
        existing = self.by_idempotency_key(conn, report.idempotency_key)
        if existing is not None:
            return existing, False
        values = report_row(report)
        try:
            with conn.begin_nested():
                conn.execute(reports.insert().values(**values))
        except sa.exc.IntegrityError:
            # a concurrent writer stored the same key first: exactly once still holds
            stored = self.by_idempotency_key(conn, report.idempotency_key)
            if stored is None:
                raise
            return stored, False
        apply_reports(conn, [report], start_day=self.start_day)
        return report, True

    def insert_many(self, conn: Connection, batch: Iterable[Report]) -> int:
        """Append new reports (keys checked by :meth:`known_keys` in this transaction) with one
        executemany, and their cube cells with one more; an IntegrityError means a concurrent
        writer stored one of the keys first (the caller retries the batch one by one)."""
        batch, rows = list(batch), []
        for report in batch:
            rows.append(report_row(report))
        if rows:
            conn.execute(reports.insert(), rows)
            apply_reports(conn, batch, start_day=self.start_day)
        return len(rows)

    def known_keys(self, conn: Connection, keys: Iterable[str]) -> dict[str, Report]:
        """The stored reports of those idempotency keys (one query per 500 keys)."""
        keys, out = list(dict.fromkeys(keys)), {}
        for i in range(0, len(keys), 500):
            q = sa.select(reports).where(reports.c.idempotency_key.in_(keys[i:i + 500]))
            for row in conn.execute(q):
                out[row.idempotency_key] = report_from_row(row)
        return out

    def by_idempotency_key(self, conn: Connection, key: str) -> Report | None:
        row = conn.execute(sa.select(reports).where(reports.c.idempotency_key == key)).first()
        return report_from_row(row) if row else None

    def get(self, conn: Connection, report_id: str) -> Report | None:
        row = conn.execute(sa.select(reports).where(reports.c.report_id == report_id)).first()
        return report_from_row(row) if row else None

    def list(self, conn: Connection, *, limit: int = 100, offset: int = 0,
             district_ids: Iterable[str] | None = None) -> list[Report]:
        q = sa.select(reports).order_by(reports.c.received_at.desc()).limit(limit).offset(offset)
        if district_ids is not None:
            q = q.where(reports.c.district_id.in_(list(district_ids)))
        return [report_from_row(r) for r in conn.execute(q)]

    def for_area(self, conn: Connection, health_area_id: str, disease: str,
                 since: dt.date, until: dt.date) -> builtins.list[Report]:
        """The counted (``active``) reports of one health area and disease with onset in the range."""
        q = sa.select(reports).where(
            COUNTED,
            reports.c.health_area_id == health_area_id,
            reports.c.disease == disease,
            reports.c.onset_date >= since,
            reports.c.onset_date <= until,
        )
        return [report_from_row(r) for r in conn.execute(q)]

    def count(self, conn: Connection) -> int:
        return int(conn.execute(sa.select(sa.func.count()).select_from(reports)).scalar_one())


_SURROGATE = re.compile("[\ud800-\udfff]")


def printable_raw(raw: str | bytes | None, limit: int | None = None) -> str:
    """A raw input item as text that every database can store: invalid UTF-8 backslash-escaped,
    NUL written ``\\x00`` (PostgreSQL text cannot hold NUL) and secret fields masked
    (:func:`ingest.redaction.redact_text`: a gateway's ``secret`` is never kept). ``limit`` caps the
    length first."""
    if raw is None:
        return ""
    raw = raw[:limit] if limit is not None else raw
    text = raw.decode("utf-8", errors="backslashreplace") if isinstance(raw, bytes) else raw
    if _SURROGATE.search(text):  # a lone surrogate (JSON "\ud800") is not UTF-8
        text = text.encode("utf-8", errors="backslashreplace").decode("utf-8")
    return redact_text(text.replace("\x00", "\\x00"))


class RejectedRepository:
    def insert(self, conn: Connection, *, channel: Channel, raw: str | bytes, errors: list[ErrorDetail],
               now: dt.datetime, idempotency_key: str | None = None) -> RejectedItem:
        raw = printable_raw(raw)
        item = RejectedItem(
            rejected_id=str(uuid.uuid4()), channel=channel, received_at=now, raw=raw,
            errors=[e.as_dict() for e in errors], idempotency_key=idempotency_key,
        )
        conn.execute(rejected_items.insert().values(
            rejected_id=item.rejected_id, channel=channel.value, received_at=now, raw=raw,
            errors=json.loads(json.dumps(item.errors, default=str)), idempotency_key=idempotency_key,
        ))
        return item

    @staticmethod
    def _item(row: Any) -> RejectedItem:
        d = dict(row._mapping)
        return RejectedItem(
            rejected_id=d["rejected_id"], channel=Channel(d["channel"]), received_at=_utc(d["received_at"]),
            raw=d["raw"], errors=d["errors"], idempotency_key=d["idempotency_key"], status=d["status"],
        )

    def list(self, conn: Connection, *, status: str | None = "rejected", limit: int = 100,
             offset: int = 0, channel: Channel | None = None, reason: str | None = None) -> list[RejectedItem]:
        """Newest first. ``reason`` keeps the items having an error with that key."""
        q = sa.select(rejected_items).order_by(rejected_items.c.received_at.desc()).limit(limit).offset(offset)
        if status:
            q = q.where(rejected_items.c.status == status)
        if channel is not None:
            q = q.where(rejected_items.c.channel == channel.value)
        if reason:
            # errors are stored by json.dumps (default separators) on SQLite and PostgreSQL (json type)
            q = q.where(sa.cast(rejected_items.c.errors, sa.Text).like(f'%"key": {json.dumps(reason)}%'))
        return [self._item(r) for r in conn.execute(q)]

    def get(self, conn: Connection, rejected_id: str) -> RejectedItem | None:
        row = conn.execute(sa.select(rejected_items).where(rejected_items.c.rejected_id == rejected_id)).first()
        return self._item(row) if row else None

    def by_idempotency_key(self, conn: Connection, key: str, status: str | None = "rejected") -> RejectedItem | None:
        """The newest item kept under ``key`` (a gateway retrying a message it could not deliver)."""
        q = sa.select(rejected_items).where(rejected_items.c.idempotency_key == key)
        if status:
            q = q.where(rejected_items.c.status == status)
        row = conn.execute(q.order_by(rejected_items.c.received_at.desc()).limit(1)).first()
        return self._item(row) if row else None

    def find_waiting(self, conn: Connection, key: str, raw: str) -> RejectedItem | None:
        """An item still waiting (status ``rejected``) under ``key`` with exactly this raw text."""
        q = (sa.select(rejected_items).where(rejected_items.c.idempotency_key == key,
                                             rejected_items.c.status == "rejected", rejected_items.c.raw == raw)
             .order_by(rejected_items.c.received_at.desc()).limit(1))
        row = conn.execute(q).first()
        return self._item(row) if row else None

    def update_errors(self, conn: Connection, rejected_id: str, errors: builtins.list[ErrorDetail]) -> None:
        """A re-processing attempt failed again: keep the item, with the new reasons."""
        conn.execute(rejected_items.update().where(rejected_items.c.rejected_id == rejected_id).values(
            errors=json.loads(json.dumps([e.as_dict() for e in errors], default=str))))

    def mark_reprocessed(self, conn: Connection, rejected_id: str, report_id: str, now: dt.datetime) -> None:
        conn.execute(rejected_items.update().where(rejected_items.c.rejected_id == rejected_id).values(
            status="reprocessed", reprocessed_at=now, report_id=report_id))

    def count(self, conn: Connection) -> int:
        return int(conn.execute(sa.select(sa.func.count()).select_from(rejected_items)).scalar_one())
