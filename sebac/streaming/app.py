"""The faust app of ``sebac worker``: topics, the weekly-counts table, three agents and one timer.

Agents are verbs and stay thin — take a batch (``stream.take_events``), hand the raw bytes to
:class:`~sebac.streaming.stages.WorkerStages` in a thread (the database work must not block the
event loop that heartbeats the consumer group), update the table, emit, and wait for the broker's
acks before the batch's offsets can be committed (at-least-once).

``cases_by_area_week`` maps ``area|disease|week`` to ``{"r": {report_id: cases}, "closed": …}``:
a *set* of reports, so a redelivered report (crash before commit) or a client retry cannot count
twice, and the table is rebuilt exactly from its changelog or, lost with it, by replaying
``reports`` (a new ``SEBAC_STREAM_APP_ID``). Epi weeks close on an explicit timer
(:func:`close_epiweeks`), not on faust's window close, which only fires on the next event.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from typing import Any, Iterable

import faust

from detectors.epiweek import EpiWeek, epiweek, week_end
from ingest.clock import Clock, SystemClock
from sebac.settings import Settings
from sebac.streaming.metrics import BATCH_SECONDS, CONSUMED, WEEKS_CLOSED
from sebac.streaming.stages import Message, Output, WeekCell, WorkerStages
from sebac.streaming.topics import Topics, partition_for

log = logging.getLogger("sebac.streaming.worker")


class AreaTable(faust.Table):
    """A table whose keys ``area|…`` live in the partition of their health area.

    faust puts a changelog record in the partition of the *current event*; with batches
    (``take_events``) and the timer there is no single current event, so the partition is computed
    from the key with Kafka's default partitioner — the one that placed the reports.
    """

    def partition_for_key(self, key: Any) -> int:
        area = key.split("|", 1)[0] if isinstance(key, str) else bytes(key).split(b"|", 1)[0]
        return partition_for(area, self.partitions or self.app.conf.topic_partitions)


def cell_key(area: str, disease: str, week: str) -> str:
    return f"{area}|{disease}|{week}"


def add_reports(table: Any, reports: Iterable[Any], start_day: int = 0) -> None:
    """Add reports to the weekly sets (idempotent: keyed by report id, first version wins)."""
    grouped: dict[str, dict[str, int]] = {}
    for r in reports:
        grouped.setdefault(cell_key(r.health_area_id, r.disease, str(epiweek(r.onset_date, start_day))),
                           {}).setdefault(r.report_id, r.cases)
    for key, ids in grouped.items():  # one table write (one changelog record) per cell and batch
        value = dict(table.get(key) or {"r": {}, "closed": None})
        known = value["r"]
        fresh = {rid: cases for rid, cases in ids.items() if rid not in known}
        if fresh:
            value["r"] = {**known, **fresh}
            table[key] = value


def due_cells(items: Iterable[tuple[str, dict]], partitions: set[int], n_partitions: int, now: dt.datetime,
              grace: dt.timedelta, start_day: int = 0) -> list[WeekCell]:
    """Cells of weeks that ended (plus grace) and are not closed with their current counts."""
    out = []
    for key, value in items:
        area, disease, week = key.split("|")
        if partition_for(area, n_partitions) not in partitions:
            continue  # a standby copy or a partition being handed over: its owner closes it
        end = dt.datetime.combine(week_end(EpiWeek.parse(week), start_day) + dt.timedelta(days=1),
                                  dt.time(), tzinfo=dt.timezone.utc)
        if now < end + grace:
            continue
        cases, reports = sum(value["r"].values()), len(value["r"])
        closed = value.get("closed")
        if closed == [cases, reports]:
            continue
        out.append(WeekCell(area, disease, week, cases, reports, reclosed=closed is not None))
    return out


def create_app(settings: Settings, *, stages: WorkerStages | None = None, clock: Clock | None = None) -> faust.App:
    if not settings.broker:
        raise ValueError("SEBAC_BROKER is not set")
    clock = clock or SystemClock()
    if stages is None:
        from sebac.streaming.engine import embedded_pipeline

        stages = WorkerStages(embedded_pipeline(settings, clock))
    n = settings.stream_partitions
    start_day = settings.epiweek_start_day
    names = Topics.with_prefix(settings.stream_topic_prefix)
    app = faust.App(
        settings.stream_app_id, broker=settings.broker, store="memory://", topic_partitions=n,
        topic_replication_factor=settings.stream_replication, table_standby_replicas=0, web_enabled=False,
        consumer_auto_offset_reset="earliest", broker_heartbeat_interval=1,
        broker_session_timeout=settings.stream_session_timeout,
        broker_rebalance_timeout=settings.stream_rebalance_timeout,
        consumer_group_instance_id=settings.stream_instance_id,  # KIP-345 static membership
        producer_acks=-1, stream_buffer_maxsize=max(4096, 2 * settings.stream_batch_size),
        broker_commit_every=max(1000, settings.stream_batch_size), broker_commit_interval=1.0)

    def topic(name: str):
        return app.topic(name, partitions=n, key_type=bytes, value_type=bytes, key_serializer="raw",
                         value_serializer="raw")

    topics = {"reports": topic(names.reports), "rejected": topic(names.rejected), "signals": topic(names.signals),
              "alert-events": topic(names.alert_events), "notifications": topic(names.notifications),
              "weekly-counts": topic(names.weekly_counts)}
    cases = app.tables.add(AreaTable(app, name="cases_by_area_week", default=None, partitions=n,
                                     beacon=app.tables.beacon, key_type=str,
                                     help="sets of report ids per (area, disease, epi week)"))
    batch, within = settings.stream_batch_size, settings.stream_batch_seconds

    async def emit(outputs: list[Output]) -> None:
        pending = [await topics[o.topic].send(key=o.key.encode() if o.key else None, value=o.value)
                   for o in outputs]
        if pending:
            await asyncio.gather(*pending)  # broker acks before this batch's offsets can be committed

    def messages(events) -> list[Message]:
        return [Message(e.message.value, f"{e.message.topic}:{e.message.partition}:{e.message.offset}")
                for e in events]

    @app.agent(topics["reports"], name="classify_reports")
    async def classify_reports(stream):
        async for events in stream.take_events(batch, within=within):
            t0 = time.perf_counter()
            done = await asyncio.to_thread(stages.process_reports, messages(events), clock.now())
            add_reports(cases, done.new + done.duplicates, start_day)
            await emit(done.outputs)
            CONSUMED.labels("reports", "new").inc(len(done.new))
            CONSUMED.labels("reports", "duplicate").inc(len(done.duplicates))
            CONSUMED.labels("reports", "poison").inc(sum(o.topic == "rejected" for o in done.outputs))
            BATCH_SECONDS.labels("reports").observe(time.perf_counter() - t0)

    @app.agent(topics["signals"], name="raise_alerts")
    async def raise_alerts(stream):
        async for events in stream.take_events(min(batch, 500), within=within):
            t0 = time.perf_counter()
            outputs, applied, redelivered = await asyncio.to_thread(stages.apply_signals, messages(events),
                                                                   clock.now())
            await emit(outputs)
            CONSUMED.labels("signals", "applied").inc(applied)
            CONSUMED.labels("signals", "redelivered").inc(redelivered)
            BATCH_SECONDS.labels("signals").observe(time.perf_counter() - t0)

    @app.agent(topics["rejected"], name="store_rejected")
    async def store_rejected(stream):
        async for events in stream.take_events(min(batch, 500), within=within):
            stored = await asyncio.to_thread(stages.store_rejected, messages(events), clock.now())
            CONSUMED.labels("rejected", "stored").inc(stored)

    grace = dt.timedelta(hours=settings.stream_close_grace_hours)
    retention = dt.timedelta(weeks=settings.stream_retention_weeks)

    @app.timer(interval=settings.stream_close_interval, name="close_epiweeks")
    async def close_epiweeks():
        owned = {tp.partition for tp in app.consumer.assignment() if tp.topic == names.reports}
        if not owned:
            return
        now = clock.now()
        cells = due_cells(list(cases.items()), owned, n, now, grace, start_day)
        if cells:
            outputs = await asyncio.to_thread(stages.close_weeks, cells, now)
            await emit(outputs)
            for c in cells:
                key = cell_key(c.health_area_id, c.disease, c.epiweek)
                value = dict(cases.get(key) or {"r": {}, "closed": None})
                value["closed"] = [c.cases, c.reports]
                cases[key] = value
                WEEKS_CLOSED.labels("reclosed" if c.reclosed else "closed").inc()
            log.info("closed %d epi-week cell(s)", len(cells))
        for key, value in list(cases.items()):  # forget weeks closed long ago (late data re-creates them)
            area, _, week = key.split("|")
            if partition_for(area, n) not in owned or value.get("closed") is None:
                continue
            if week_end(EpiWeek.parse(week), start_day) < (now - grace - retention).date():
                del cases[key]

    app.sebac_stages = stages  # type: ignore[attr-defined]  (tests and the CLI reach the stages here)
    return app
