"""Publishing adapter of the API replicas: kafka-python, acks=all, retries, idempotent producer.

``publish`` returns only once the broker has acknowledged every record (all in-sync replicas), so
an HTTP 201 means the report is durable in Kafka. When the broker cannot be reached in
``timeout`` seconds, :class:`BrokerUnavailable` (HTTP 503, key ``broker.unavailable``) is raised:
the client retries later with the same idempotency key, and since a report's id and key are
derived from that key, a record that did reach the broker despite the timeout is stored once.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Protocol, Sequence

from ingest.errors import DomainError
from sebac.streaming.metrics import PUBLISH_FAILURES, PUBLISHED

log = logging.getLogger("sebac.streaming.publisher")


class BrokerUnavailable(DomainError):
    status = 503

    def __init__(self, detail: str = ""):
        super().__init__("broker.unavailable", "the message broker is unavailable; retry later", detail=detail)


@dataclass(frozen=True)
class Record:
    topic: str
    key: bytes | None
    value: bytes


class Publisher(Protocol):
    def publish(self, records: Sequence[Record]) -> None:
        """Deliver every record or raise :class:`BrokerUnavailable` (some may have been delivered)."""

    def close(self) -> None: ...


class KafkaPublisher:
    def __init__(self, bootstrap: str, *, timeout: float = 10.0, client_id: str = "sebac-api"):
        self.bootstrap = bootstrap
        self.timeout = timeout
        self.client_id = client_id
        self._producer = None
        self._lock = threading.Lock()

    def _get(self):
        # Created lazily: an API replica starts (and answers 503) while the broker is down.
        with self._lock:
            if self._producer is None:
                from kafka import KafkaProducer

                ms = int(self.timeout * 1000)
                self._producer = KafkaProducer(
                    bootstrap_servers=self.bootstrap, client_id=self.client_id, acks="all",
                    enable_idempotence=True, retries=2**31 - 1, max_in_flight_requests_per_connection=5,
                    linger_ms=1, max_block_ms=ms, request_timeout_ms=max(ms // 2, 1000),
                    delivery_timeout_ms=ms, bootstrap_timeout_ms=ms, reconnect_backoff_max_ms=1000)
            return self._producer

    def publish(self, records: Sequence[Record]) -> None:
        from kafka.errors import KafkaError

        try:
            producer = self._get()
            futures = [producer.send(r.topic, key=r.key, value=r.value) for r in records]
            producer.flush(timeout=self.timeout)
            for f in futures:
                f.get(timeout=self.timeout)
        except (KafkaError, OSError, AssertionError) as exc:
            PUBLISH_FAILURES.labels(type(exc).__name__[:40]).inc()
            log.warning("publish failed (%d record(s)): %r", len(records), exc)
            self._reset()
            raise BrokerUnavailable(type(exc).__name__) from exc
        for r in records:
            PUBLISHED.labels(r.topic.rsplit(".", 1)[-1]).inc()

    def _reset(self) -> None:
        # A producer that timed out may hold a stale connection state; start afresh next time.
        with self._lock:
            producer, self._producer = self._producer, None
        if producer is not None:
            try:
                producer.close(timeout=0)
            except Exception:  # noqa: BLE001 - closing a broken producer must not mask the 503
                pass

    def close(self) -> None:
        with self._lock:
            producer, self._producer = self._producer, None
        if producer is not None:
            producer.close(timeout=self.timeout)


@dataclass
class InMemoryPublisher:
    """Test fake: keeps what was published; ``fail=True`` makes it behave like a broker that is down."""

    records: list[Record] = field(default_factory=list)
    fail: bool = False

    def publish(self, records: Sequence[Record]) -> None:
        if self.fail:
            raise BrokerUnavailable("InMemoryPublisher.fail")
        self.records.extend(records)

    def close(self) -> None:
        pass
