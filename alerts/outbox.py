"""Notification outbox: messages are written in the alert's transaction, delivered by a worker.

Transactional outbox: the row is inserted in the same transaction as the alert change that caused
it, so a crash can neither lose a notification nor send one for a change that was rolled back.
The worker claims due rows one by one (``pending`` → ``sending`` with a lease, so two workers never
send the same row and a crashed worker's rows come back after the lease), sends, then marks:

* ``sent``;
* ``pending`` again with ``next_attempt_at = now + min(cap, base · factor^(attempts-1))``
  (exponential backoff) after a transient failure;
* ``dead`` (dead letter) after a permanent failure or ``max_attempts`` attempts.

Delivery is at least once: a crash after the receiver took a message but before it was marked ``sent``
sends it again when the lease ends. Every attempt of one message carries the same key
(``notification_id`` in the payload, ``Idempotency-Key`` on HTTP channels, :func:`notification_key`),
so the receiver can drop the second copy; nothing is ever lost.

``notification_log`` records every step with its reason (``new``, ``escalated``, ``repeat``): why a
message went out, and what became of it. Replies to inbound SMS (reason ``reply``, no alert) take
the same path when ``SEBAC_SMS_REPLIES=outbound`` (:meth:`OutboxRepository.enqueue_reply`).
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any, Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from alerts.channels import Channels, DeliveryError
from alerts.metrics import observe_notification
from alerts.tables import inserted_id, notification_log, notification_outbox

log = logging.getLogger("sebac.alerts.outbox")


def notification_key(outbox_id: int) -> str:
    """The key every attempt of one outbox message carries (receivers deduplicate on it)."""
    return f"sebac-notification-{outbox_id}"


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base: dt.timedelta = dt.timedelta(seconds=30)
    factor: float = 2.0
    cap: dt.timedelta = dt.timedelta(hours=1)
    lease: dt.timedelta = dt.timedelta(minutes=2)

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.factor < 1 or self.base <= dt.timedelta(0):
            raise ValueError("RetryPolicy needs max_attempts ≥ 1, factor ≥ 1 and a positive base")

    def delay(self, attempts: int) -> dt.timedelta:
        """Backoff after the ``attempts``-th failed attempt (1-based)."""
        return min(self.cap, self.base * self.factor ** (attempts - 1))


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    return value if value is None or value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


class OutboxRepository:
    def enqueue(self, conn: Connection, rows: Iterable[dict[str, Any]], now: dt.datetime) -> int:
        n = 0
        for row in rows:
            outbox_id = inserted_id(conn.execute(notification_outbox.insert().values(
                **row, status="pending", attempts=0, next_attempt_at=now, created_at=now)))
            self.log(conn, outbox_id, row["alert_id"], now, "queued", row["reason"], row["channel"],
                     f"{row['channel']} to level {row['level']}")
            n += 1
        return n

    def enqueue_reply(self, conn: Connection, *, address: str, body: str, lang: str, dedup_key: str,
                      now: dt.datetime) -> bool:
        """Queue the reply to an inbound SMS (no alert) once per ``dedup_key``; False when it already was
        (a gateway's retry of the same message sends no second SMS)."""
        o = notification_outbox.c
        if conn.execute(sa.select(o.outbox_id).where(o.dedup_key == dedup_key)).first() is not None:
            return False
        try:
            with conn.begin_nested():  # two retries racing: the unique key keeps one
                outbox_id = inserted_id(conn.execute(notification_outbox.insert().values(
                    alert_id=None, subscription_id=None, dedup_key=dedup_key, channel="sms", address=address,
                    lang=lang, reason="reply", level="sms", subject="", body=body, payload={"reason": "reply"},
                    status="pending", attempts=0, next_attempt_at=now, created_at=now)))
        except sa.exc.IntegrityError:
            return False
        self.log(conn, outbox_id, None, now, "queued", "reply", "sms", "reply to an inbound SMS")
        return True

    def log(self, conn: Connection, outbox_id: int, alert_id: int | None, at: dt.datetime, event: str, reason: str,
            channel: str, detail: str | None = None) -> None:
        conn.execute(notification_log.insert().values(outbox_id=outbox_id, alert_id=alert_id, at=at, event=event,
                                                      reason=reason, channel=channel, detail=detail))

    def due_ids(self, conn: Connection, now: dt.datetime, limit: int = 100) -> list[int]:
        q = (sa.select(notification_outbox.c.outbox_id)
             .where(notification_outbox.c.status.in_(("pending", "sending")),
                    notification_outbox.c.next_attempt_at <= now)
             .order_by(notification_outbox.c.next_attempt_at, notification_outbox.c.outbox_id).limit(limit))
        return [r[0] for r in conn.execute(q)]

    def claim(self, conn: Connection, outbox_id: int, now: dt.datetime, lease: dt.timedelta) -> dict[str, Any] | None:
        o = notification_outbox.c
        res = conn.execute(notification_outbox.update()
                           .where(o.outbox_id == outbox_id, o.status.in_(("pending", "sending")),
                                  o.next_attempt_at <= now)
                           .values(status="sending", attempts=o.attempts + 1, next_attempt_at=now + lease))
        if res.rowcount != 1:
            return None
        row = conn.execute(sa.select(notification_outbox).where(o.outbox_id == outbox_id)).first()
        assert row is not None  # the row this transaction has just updated
        return dict(row._mapping)

    def finish(self, conn: Connection, outbox_id: int, **values: Any) -> None:
        conn.execute(notification_outbox.update().where(notification_outbox.c.outbox_id == outbox_id).values(**values))

    def for_alert(self, conn: Connection, alert_id: int) -> list[dict[str, Any]]:
        q = sa.select(notification_outbox).where(notification_outbox.c.alert_id == alert_id) \
            .order_by(notification_outbox.c.outbox_id)
        out = []
        for r in conn.execute(q):
            d = dict(r._mapping)
            for k in ("next_attempt_at", "created_at", "sent_at"):
                d[k] = _utc(d[k])
            out.append(d)
        return out

    def log_for_alert(self, conn: Connection, alert_id: int) -> list[dict[str, Any]]:
        q = sa.select(notification_log).where(notification_log.c.alert_id == alert_id) \
            .order_by(notification_log.c.log_id)
        return [dict(r._mapping, at=_utc(r.at)) for r in conn.execute(q)]


class OutboxWorker:
    """Delivers due outbox rows; ``run_once(now)`` is what the background thread calls."""

    def __init__(self, db: sa.Engine, channels: Channels, retry: RetryPolicy = RetryPolicy(),
                 repository: OutboxRepository | None = None):
        self.db = db
        self.channels = channels
        self.retry = retry
        self.repo = repository or OutboxRepository()

    def run_once(self, now: dt.datetime, limit: int = 100) -> dict[str, int]:
        counts = {"sent": 0, "retry": 0, "dead": 0}
        with self.db.connect() as conn:
            ids = self.repo.due_ids(conn, now, limit)
        for outbox_id in ids:
            with self.db.begin() as conn:
                row = self.repo.claim(conn, outbox_id, now, self.retry.lease)
            if row is None:  # another worker has it
                continue
            outcome = self._deliver(row, now)
            counts[outcome] += 1
        return counts

    def _deliver(self, row: dict[str, Any], now: dt.datetime) -> str:
        channel, reason, attempts = row["channel"], row["reason"], row["attempts"]
        payload = dict(row["payload"] or {}) | {"notification_id": notification_key(row["outbox_id"])}
        try:
            self.channels.send(channel, row["address"], row["subject"], row["body"], payload)
        except DeliveryError as exc:
            dead = exc.permanent or attempts >= self.retry.max_attempts
            with self.db.begin() as conn:
                if dead:
                    self.repo.finish(conn, row["outbox_id"], status="dead", last_error=str(exc))
                else:
                    self.repo.finish(conn, row["outbox_id"], status="pending", last_error=str(exc),
                                     next_attempt_at=now + self.retry.delay(attempts))
                self.repo.log(conn, row["outbox_id"], row["alert_id"], now, "dead" if dead else "retry", reason,
                              channel, f"attempt {attempts}: {exc}")
            observe_notification(channel, "dead_lettered" if dead else "failed")
            (log.error if dead else log.warning)("notification %d (%s, alert #%s) %s after attempt %d: %s",
                                                 row["outbox_id"], channel, row["alert_id"],
                                                 "dead-lettered" if dead else "will be retried", attempts, exc)
            return "dead" if dead else "retry"
        with self.db.begin() as conn:
            self.repo.finish(conn, row["outbox_id"], status="sent", sent_at=now, last_error=None)
            self.repo.log(conn, row["outbox_id"], row["alert_id"], now, "sent", reason, channel,
                          f"attempt {attempts}")
        observe_notification(channel, "sent")
        return "sent"
