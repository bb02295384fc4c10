"""The faust app of ``sebac worker``: topics, the weekly-counts table, three agents and five timers.

Agents are verbs and stay thin — take a batch (``stream.take_events``), hand the raw bytes to
:class:`~sebac.streaming.stages.WorkerStages` in a thread (the database work must not block the
event loop that heartbeats the consumer group), update the table, emit, and wait for the broker's
acks before the batch's offsets can be committed (at-least-once). A batch that fails is retried, never
acked (:func:`create_app`'s ``retrying``); records the consumer skipped are read back by offset
(:mod:`sebac.streaming.gaps`).

``cases_by_area_week`` holds one small record per health area (its key, so the table is partitioned
exactly like ``reports``)::

    {"o": 1234,                                   # offset of the last report message applied
     "w": {"cholera|2026-W46": [cases, reports]},  # weekly counts by disease
     "closed": {"cholera|2026-W46": [cases, reports]}}

A case is counted once: a client's resend (another message, same idempotency key) is not new in the
database and is not counted; a report stored by the batch is always counted (it never was); a
redelivered message (crash before its offset was committed) is counted only if its offset is above
``o`` — faust flushes the changelog before committing offsets,
so the table is never behind the committed offsets. One table write per area and batch keeps the
changelog small. The table is rebuilt from its changelog or, lost with it, by replaying ``reports``
(a new ``SEBAC_STREAM_APP_ID``). Epi weeks close on an explicit timer (:func:`close_epiweeks`), not on
faust's window close, which only fires on the next event.

Agents: ``classify_reports`` (reports → stored reports, signals), ``raise_alerts`` (signals → alerts)
and ``store_rejected``. Timers: ``close_epiweeks``, ``save_marks`` (offsets applied, every second),
``sweep_skipped`` (records the consumer skipped), ``watch_group`` (exit when evicted from the group)
and ``report_backlog`` (consumer lag metric).
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import time
from typing import Any, Iterable

import faust

from detectors.epiweek import EpiWeek, epiweek, week_end
from ingest.clock import Clock, SystemClock
from sebac.metrics import observe_backlog
from sebac.settings import Settings
from sebac.streaming.gaps import KafkaRangeReader
from sebac.streaming.metrics import BATCH_SECONDS, CONSUMED, RETRIES, WEEKS_CLOSED
from sebac.streaming.stages import Message, Output, WeekCell, WorkerStages
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


def empty_area() -> dict:
    return {"o": -1, "w": {}, "closed": {}}


def add_reports(table: Any, counted: Iterable[tuple[Any, int]], start_day: int = 0,
                first_time: Iterable[str] = ()) -> int:
    """Add (report, offset) pairs to the weekly counts; returns how many were counted.

    A report stored by this batch (``first_time``: its id) was never counted and always is; any
    other pair is a redelivery of the message that stored it, counted only above the area's ``o``.
    """
    first_time = set(first_time)
    by_area: dict[str, list[tuple[int, Any]]] = {}
    for report, offset in counted:
        by_area.setdefault(report.health_area_id, []).append((offset, report))
    added = 0
    for area, items in by_area.items():  # one table write (one changelog record) per area and batch
        value = table.get(area) or empty_area()
        weeks = dict(value["w"])
        last = value["o"]
        changed = False
        for offset, r in sorted(items, key=lambda x: x[0]):
            if offset <= last and r.report_id not in first_time:
                continue  # redelivered and already counted before the crash
            cell = f"{r.disease}|{epiweek(r.onset_date, start_day)}"
            cases, reports = weeks.get(cell, (0, 0))
            weeks[cell] = [cases + r.cases, reports + 1]
            last = max(last, offset)
            added += 1
            changed = True
        if changed:
            table[area] = {"o": last, "w": weeks, "closed": value["closed"]}
    return added


def _week_closes_at(week: str, start_day: int) -> dt.datetime:
    end = week_end(EpiWeek.parse(week), start_day) + dt.timedelta(days=1)
    return dt.datetime.combine(end, dt.time(), tzinfo=dt.timezone.utc)


def due_cells(items: Iterable[tuple[str, dict]], partitions: set[int], n_partitions: int, now: dt.datetime,
              grace: dt.timedelta, start_day: int = 0) -> list[WeekCell]:
    """Cells of weeks that ended (plus grace) and are not closed with their current counts."""
    out = []
    for area, value in items:
        if partition_for(area, n_partitions) not in partitions:
            continue  # a partition being handed over: its owner closes it
        for cell, counts in value["w"].items():
            disease, week = cell.split("|")
            if now < _week_closes_at(week, start_day) + grace:
                continue
            closed = value["closed"].get(cell)
            if closed is not None and list(closed) == list(counts):
                continue
            out.append(WeekCell(area, disease, week, counts[0], counts[1], reclosed=closed is not None))
    return out


def mark_closed(table: Any, cells: Iterable[WeekCell]) -> None:
    by_area: dict[str, list[WeekCell]] = {}
    for c in cells:
        by_area.setdefault(c.health_area_id, []).append(c)
    for area, group in by_area.items():
        value = table.get(area) or empty_area()
        closed = dict(value["closed"])
        for c in group:
            closed[f"{c.disease}|{c.epiweek}"] = [c.cases, c.reports]
        table[area] = {"o": value["o"], "w": value["w"], "closed": closed}


def forget_old_weeks(table: Any, areas: Iterable[str], before: dt.date, start_day: int = 0) -> None:
    """Drop closed weeks that ended before ``before`` (late data for them re-creates the cell)."""
    for area in areas:
        value = table.get(area)
        if not value:
            continue
        old = [cell for cell in value["closed"]
               if week_end(EpiWeek.parse(cell.split("|")[1]), start_day) < before]
        if old:
            table[area] = {"o": value["o"], "w": {k: v for k, v in value["w"].items() if k not in old},
                           "closed": {k: v for k, v in value["closed"].items() if k not in old}}


async def consumer_backlog(consumer: Any, topic: str) -> int:
    """Consumer lag on ``topic``: highwater minus position, summed over the partitions this worker
    owns (a partition not fetched yet has no highwater and counts 0)."""
    waiting = 0
    for tp in [tp for tp in consumer.assignment() if tp.topic == topic]:
        high, pos = consumer.highwater(tp), await consumer.position(tp)
        if high is not None and pos is not None:
            waiting += max(0, high - pos)
    return waiting


#: exit status of a worker whose consumer stopped taking part in its group (EX_TEMPFAIL): its
#: supervisor (compose ``restart``, a Kubernetes StatefulSet) starts it again
EXIT_GROUP_LOST = 75


def coordination_failure(consumer: Any) -> BaseException | None:
    """The error that ended the group coordination of faust's aiokafka consumer, if it ended.

    aiokafka runs the group protocol (join, sync, heartbeats) in one task; when that task dies on
    an unexpected error (seen: an empty member assignment in a SyncGroup answer), nothing restarts
    it and the worker sits in the group holding nothing, while the group waits for it. faust does
    not notice; :func:`create_app`'s ``watch_group`` timer does, and exits."""
    task = coordination_task(consumer)
    if task is None or not task.done() or task.cancelled():
        return None
    return task.exception()


def coordination_task(consumer: Any) -> Any:
    kafka = getattr(getattr(consumer, "_thread", None), "_consumer", None)
    return getattr(getattr(kafka, "_coordinator", None), "_coordination_task", None)


def create_app(settings: Settings, *, stages: WorkerStages | None = None, clock: Clock | None = None) -> faust.App:
    if not settings.broker:
        raise ValueError("SEBAC_BROKER is not set")
    clock = clock or SystemClock()
    if stages is None:
        from sebac.streaming.engine import embedded_pipeline

        stages = WorkerStages(embedded_pipeline(settings, clock),
                              reader=KafkaRangeReader(bootstrap_of(settings.broker)))
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
    batch, within = settings.stream_batch_size, settings.stream_batch_seconds

    async def emit(outputs: list[Output]) -> None:
        pending = [await topics[o.topic].send(key=o.key.encode() if o.key else None, value=o.value)
                   for o in outputs]
        if pending:
            await asyncio.gather(*pending)  # broker acks before this batch's offsets can be committed

    def messages(events) -> list[Message]:
        return [Message(e.message.value, f"{e.message.topic}:{e.message.partition}:{e.message.offset}")
                for e in events]

    async def retrying(kind: str, batch: list[Message], handle) -> None:
        """Handle a batch until it succeeds. faust acks a batch whose handler raised (and commits its
        offsets), so an error must not escape: the database or the broker being away stalls the
        worker (its backlog grows) and loses nothing; poison is handled inside the stages."""
        delay = 0.5
        while True:
            try:
                stages.note_handled(await handle(batch))
                return
            except Exception:  # noqa: BLE001 - CancelledError (shutdown) is not an Exception
                RETRIES.labels(kind).inc()
                log.exception("%s: batch of %d failed; retrying in %.1f s", kind, len(batch), delay)
                await asyncio.sleep(delay)
                delay = min(2 * delay, 30.0)

    async def handle_reports(batch: list[Message]) -> list[Message]:
        t0 = time.perf_counter()
        full, done = await asyncio.to_thread(stages.run, "reports", batch, clock.now(), stages.process_reports)
        add_reports(cases, done.counted, start_day, done.first_time)
        await emit(done.outputs)
        CONSUMED.labels("reports", "new").inc(len(done.new))
        CONSUMED.labels("reports", "duplicate").inc(len(done.duplicates))
        CONSUMED.labels("reports", "poison").inc(sum(o.topic == "rejected" for o in done.outputs))
        BATCH_SECONDS.labels("reports").observe(time.perf_counter() - t0)
        return full

    async def handle_signals(batch: list[Message]) -> list[Message]:
        t0 = time.perf_counter()
        full, (outputs, applied, redelivered) = await asyncio.to_thread(stages.run, "signals", batch, clock.now(),
                                                                        stages.apply_signals)
        await emit(outputs)
        CONSUMED.labels("signals", "applied").inc(applied)
        CONSUMED.labels("signals", "redelivered").inc(redelivered)
        BATCH_SECONDS.labels("signals").observe(time.perf_counter() - t0)
        return full

    async def handle_rejected(batch: list[Message]) -> list[Message]:
        full, stored = await asyncio.to_thread(stages.run, "rejected", batch, clock.now(), stages.store_rejected)
        CONSUMED.labels("rejected", "stored").inc(stored)
        return full

    @app.agent(topics["reports"], name="classify_reports")
    async def classify_reports(stream):
        async for events in stream.take_events(batch, within=within):
            await retrying("reports", messages(events), handle_reports)

    @app.agent(topics["signals"], name="raise_alerts")
    async def raise_alerts(stream):
        async for events in stream.take_events(min(batch, 500), within=within):
            await retrying("signals", messages(events), handle_signals)

    @app.agent(topics["rejected"], name="store_rejected")
    async def store_rejected(stream):
        async for events in stream.take_events(min(batch, 500), within=within):
            await retrying("rejected", messages(events), handle_rejected)

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
            mark_closed(cases, cells)
            for c in cells:
                WEEKS_CLOSED.labels("reclosed" if c.reclosed else "closed").inc()
            log.info("closed %d epi-week cell(s)", len(cells))
        owned_areas = [area for area in list(cases.keys()) if partition_for(area, n) in owned]
        forget_old_weeks(cases, owned_areas, (now - grace - retention).date(), start_day)

    handlers = {names.reports: ("reports", handle_reports), names.signals: ("signals", handle_signals),
                names.rejected: ("rejected", handle_rejected)}

    async def save_marks() -> None:
        try:
            await asyncio.to_thread(stages.save_marks, clock.now())
        except Exception:  # noqa: BLE001 - kept in memory for the next try; a mark saved late costs a read-back
            log.warning("consumed marks not saved now", exc_info=True)

    @app.on_partitions_revoked.connect
    async def save_marks_on_revoke(sender, revoked, **kwargs):
        """Before another worker takes a partition over, it finds the marks of what was handled here."""
        await save_marks()

    @app.on_before_shutdown.connect
    async def save_marks_on_shutdown(sender, **kwargs):
        await save_marks()

    @app.timer(interval=1.0, name="save_marks")
    async def save_marks_every_second():
        await save_marks()

    @app.timer(interval=settings.stream_sweep_interval, name="sweep_skipped")
    async def sweep_skipped():
        """Read back records skipped at the end of a partition: below the group's committed offset,
        or below the end of the log of a partition that had no batch for a whole interval."""
        reader = getattr(stages, "reader", None)
        owned = [tp for tp in app.consumer.assignment() if tp.topic in handlers]
        if reader is None or not owned:
            return
        try:
            committed = await asyncio.to_thread(reader.committed, settings.stream_app_id)
        except Exception:  # noqa: BLE001 - the broker is away: sweep on the next tick
            log.warning("committed offsets not readable now", exc_info=True)
            return
        ends = {(tp.topic, tp.partition): app.consumer.highwater(tp) for tp in owned}
        for topic, (kind, handle) in handlers.items():
            mine = {tp: c for tp, c in committed.items() if tp[0] == topic and tp in ends}
            idle = {tp: e for tp, e in ends.items() if tp[0] == topic and e is not None}
            for below, idle_for in ((mine, None), (idle, settings.stream_sweep_interval)):
                try:
                    back = await asyncio.to_thread(stages.read_back_below, below, kind, idle_for) if below else []
                except Exception:  # noqa: BLE001 - database or broker away: sweep on the next tick
                    log.warning("%s: sweep not possible now", kind, exc_info=True)
                    return
                if back:
                    await retrying(kind, back, handle)
                    await asyncio.to_thread(stages.save_marks, clock.now())

    watching: list[bool] = []

    @app.timer(interval=2.0, name="watch_group")
    async def watch_group():
        if not watching and app.consumer.assignment():
            watching.append(coordination_task(app.consumer) is not None)
            if watching[0]:
                log.info("watching the group coordination of the consumer")
            else:  # aiokafka's internals moved: say so rather than watch nothing in silence
                log.warning("cannot watch the group coordination of the consumer (aiokafka internals changed)")
        failure = coordination_failure(app.consumer)
        if failure is not None:
            log.critical("the consumer left its group for good (%r): exiting with status %d so that the "
                         "worker is restarted; nothing is lost (idempotent writes, consumed marks)",
                         failure, EXIT_GROUP_LOST)
            logging.shutdown()
            os._exit(EXIT_GROUP_LOST)  # faust's own shutdown can hang with a dead coordinator

    @app.timer(interval=5.0, name="report_backlog")
    async def report_backlog():
        try:
            waiting = await consumer_backlog(app.consumer, names.reports)
        except Exception:  # e.g. a partition revoked mid-rebalance: measure again on the next tick
            log.warning("consumer backlog not measurable now", exc_info=True)
            return
        observe_backlog("stream", "reports", waiting)

    app.sebac_stages = stages  # type: ignore[attr-defined]  (tests and the CLI reach the stages here)
    return app
