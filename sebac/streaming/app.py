"""The faust app of ``sebac worker``: its topics, the weekly-counts table and the agents and timers of
:mod:`sebac.streaming.agents` (three agents: ``classify_reports``, ``raise_alerts``, ``store_rejected``;
five timers: ``close_epiweeks``, ``save_marks``, ``sweep_skipped``, ``watch_group``, ``report_backlog``).

The table ``cases_by_area_week`` and how a case is counted once are described in
:mod:`sebac.streaming.weeks`; the agents' shape in :mod:`sebac.streaming.agents`.
"""
from __future__ import annotations

import logging
from typing import Any

import faust

from ingest.clock import Clock, SystemClock
from sebac.settings import Settings
from sebac.streaming.agents import register_all
from sebac.streaming.agents.context import WorkerContext
from sebac.streaming.gaps import KafkaRangeReader
from sebac.streaming.stages import WorkerStages
from sebac.streaming.topics import Topics, bootstrap_of, partition_for

log = logging.getLogger("sebac.streaming.worker")


class AreaTable(faust.Table):
    """A table keyed by health area, whose changelog partition is the area's ``reports`` partition.

    faust puts a changelog record in the partition of the *current event*; with batches
    (``take_events``) and the timer there is no single current event, so the partition is computed
    from the key with Kafka's default partitioner — the one that placed the reports.
    """

    def partition_for_key(self, key: Any) -> int:
        return partition_for(key, self.partitions or self.app.conf.topic_partitions)


def create_app(settings: Settings, *, stages: WorkerStages | None = None, clock: Clock | None = None) -> faust.App:
    if not settings.broker:
        raise ValueError("SEBAC_BROKER is not set")
    clock = clock or SystemClock()
    if stages is None:
        from sebac.streaming.engine import embedded_pipeline

        stages = WorkerStages(embedded_pipeline(settings, clock),
                              reader=KafkaRangeReader(bootstrap_of(settings.broker)))
    n = settings.stream_partitions
    names = Topics.with_prefix(settings.stream_topic_prefix)
    app = faust.App(
        settings.stream_app_id, broker=settings.broker, store="memory://", topic_partitions=n,
        topic_replication_factor=settings.stream_replication, table_standby_replicas=0, web_enabled=False,
        consumer_auto_offset_reset="earliest", broker_heartbeat_interval=1,
        broker_session_timeout=settings.stream_session_timeout,
        broker_rebalance_timeout=settings.stream_rebalance_timeout,
        consumer_group_instance_id=settings.stream_instance_id,  # KIP-345 static membership
        producer_acks=-1, producer_linger=0.005,  # batch changelog records and emits into few requests
        stream_buffer_maxsize=max(4096, 2 * settings.stream_batch_size),
        broker_commit_every=max(1000, settings.stream_batch_size), broker_commit_interval=1.0)

    def topic(name: str):
        return app.topic(name, partitions=n, key_type=bytes, value_type=bytes, key_serializer="raw",
                         value_serializer="raw")

    topics = {"reports": topic(names.reports), "rejected": topic(names.rejected), "signals": topic(names.signals),
              "alert-events": topic(names.alert_events), "notifications": topic(names.notifications),
              "weekly-counts": topic(names.weekly_counts)}
    cases = app.tables.add(AreaTable(app, name="cases_by_area_week", default=None, partitions=n,
                                     beacon=app.tables.beacon, key_type=str,
                                     help="weekly case counts per health area and disease"))
    register_all(WorkerContext(app, settings, stages, clock, names, topics, cases))
    setattr(app, "sebac_stages", stages)  # noqa: B010 - tests and the CLI reach the stages here
    return app
