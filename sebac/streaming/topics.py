"""Topic names, partitioning by health area, and explicit topic creation.

Every topic is keyed so that all records of one health area land in one partition (Kafka's default
partitioner: ``murmur2(key) & 0x7fffffff mod partitions``, the same in kafka-python, aiokafka and
the Java client). Worker tables are partitioned the same way, so a worker that owns partition *p*
of ``reports`` also owns partition *p* of every table changelog.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from kafka.partitioner.default import murmur2

log = logging.getLogger("sebac.streaming")


@dataclass(frozen=True)
class Topics:
    reports: str
    rejected: str
    signals: str
    alert_events: str
    notifications: str
    weekly_counts: str

    @classmethod
    def with_prefix(cls, prefix: str) -> "Topics":
        return cls(reports=f"{prefix}.reports", rejected=f"{prefix}.rejected", signals=f"{prefix}.signals",
                   alert_events=f"{prefix}.alert-events", notifications=f"{prefix}.notifications",
                   weekly_counts=f"{prefix}.weekly-counts")

    def all(self) -> list[str]:
        return [self.reports, self.rejected, self.signals, self.alert_events, self.notifications,
                self.weekly_counts]


def partition_for(key: str | bytes, partitions: int) -> int:
    """Partition Kafka's default partitioner picks for ``key``.

    >>> partition_for("ML-MOP-DJENNE-MOUGNA", 8) == partition_for(b"ML-MOP-DJENNE-MOUGNA", 8)
    True
    """
    data = key.encode() if isinstance(key, str) else key
    return (murmur2(data) & 0x7FFFFFFF) % partitions


def bootstrap_of(broker_url: str) -> str:
    """``kafka://h1:9092;h2:9092`` → ``h1:9092,h2:9092`` (kafka-python's bootstrap list)."""
    return ",".join(part.removeprefix("kafka://") for part in broker_url.replace(";", ",").split(","))


def ensure_topics(bootstrap: str, names: list[str], partitions: int, replication: int = 1,
                  timeout_ms: int = 10_000) -> list[str]:
    """Create the missing topics with ``partitions`` partitions (auto-created topics would get 1).

    Returns the names created. An existing topic with another partition count is reported, not
    altered: changing partitions moves keys between partitions, an operator's decision.
    """
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic
    from kafka.errors import TopicAlreadyExistsError

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=timeout_ms,
                             client_id="sebac-admin")
    try:
        existing = set(admin.list_topics())
        missing = [n for n in names if n not in existing]
        if missing:
            try:
                admin.create_topics([NewTopic(n, partitions, replication) for n in missing])
            except TopicAlreadyExistsError:  # another replica created them first
                pass
            log.info("created topics %s with %d partitions", ", ".join(missing), partitions)
        for desc in admin.describe_topics([n for n in names if n in existing]) if existing & set(names) else []:
            found = len(desc.get("partitions") or [])
            if found and found != partitions:
                log.warning("topic %s has %d partitions, settings say %d", desc["name"], found, partitions)
        return missing
    finally:
        admin.close()
