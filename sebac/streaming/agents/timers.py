"""The worker's timers: ``close_epiweeks``, ``save_marks`` (also on revocation and shutdown),
``sweep_skipped``, ``watch_group`` and ``report_backlog``."""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os

from sebac.metrics import observe_backlog
from sebac.streaming.agents.context import WorkerContext
from sebac.streaming.consumer import EXIT_GROUP_LOST, consumer_backlog, coordination_failure, coordination_task
from sebac.streaming.metrics import WEEKS_CLOSED
from sebac.streaming.topics import partition_for
from sebac.streaming.weeks import due_cells, forget_old_weeks, mark_closed

log = logging.getLogger("sebac.streaming.worker")


def register(ctx: WorkerContext) -> None:
    app, settings, stages, clock, names = ctx.app, ctx.settings, ctx.stages, ctx.clock, ctx.names
    n, start_day = ctx.partitions, ctx.start_day
    grace = dt.timedelta(hours=settings.stream_close_grace_hours)
    retention = dt.timedelta(weeks=settings.stream_retention_weeks)

    @app.timer(interval=settings.stream_close_interval, name="close_epiweeks")
    async def close_epiweeks():
        """Close the weeks that ended (plus grace) of the areas this worker owns: weekly counts out,
        weekly detectors run (:meth:`~sebac.streaming.stages.WorkerStages.close_weeks`)."""
        owned = {tp.partition for tp in app.consumer.assignment() if tp.topic == names.reports}
        if not owned:
            return
        now = clock.now()
        cells = due_cells(list(ctx.cases.items()), owned, n, now, grace, start_day)
        if cells:
            outputs = await asyncio.to_thread(stages.close_weeks, cells, now)
            await ctx.emit(outputs)
            mark_closed(ctx.cases, cells)
            for c in cells:
                WEEKS_CLOSED.labels("reclosed" if c.reclosed else "closed").inc()
            log.info("closed %d epi-week cell(s)", len(cells))
        owned_areas = [area for area in list(ctx.cases.keys()) if partition_for(area, n) in owned]
        forget_old_weeks(ctx.cases, owned_areas, (now - grace - retention).date(), start_day)

    # faust's signal stubs name a keyword-only ``signal`` argument that its dispatcher passes in **kwargs
    @app.on_partitions_revoked.connect  # type: ignore[arg-type]
    async def save_marks_on_revoke(sender, revoked, **kwargs):
        """Before another worker takes a partition over, it finds the marks of what was handled here."""
        await ctx.save_marks()

    @app.on_before_shutdown.connect  # type: ignore[arg-type]
    async def save_marks_on_shutdown(sender, **kwargs):
        await ctx.save_marks()

    @app.timer(interval=1.0, name="save_marks")
    async def save_marks_every_second():
        await ctx.save_marks()

    @app.timer(interval=settings.stream_sweep_interval, name="sweep_skipped")
    async def sweep_skipped():
        """Read back records skipped at the end of a partition: below the group's committed offset,
        or below the end of the log of a partition that had no batch for a whole interval."""
        reader = getattr(stages, "reader", None)
        owned = [tp for tp in app.consumer.assignment() if tp.topic in ctx.handlers]
        if reader is None or not owned:
            return
        try:
            committed = await asyncio.to_thread(reader.committed, settings.stream_app_id)
        except Exception:  # noqa: BLE001 - the broker is away: sweep on the next tick
            log.warning("committed offsets not readable now", exc_info=True)
            return
        ends = {(tp.topic, tp.partition): app.consumer.highwater(tp) for tp in owned}
        for topic, (kind, handle) in ctx.handlers.items():
            mine = {tp: c for tp, c in committed.items() if tp[0] == topic and tp in ends}
            idle = {tp: e for tp, e in ends.items() if tp[0] == topic and e is not None}
            for below, idle_for in ((mine, None), (idle, settings.stream_sweep_interval)):
                try:
                    back = await asyncio.to_thread(stages.read_back_below, below, kind, idle_for) if below else []
                except Exception:  # noqa: BLE001 - database or broker away: sweep on the next tick
                    log.warning("%s: sweep not possible now", kind, exc_info=True)
                    return
                if back:
                    await ctx.retrying(kind, back, handle)
                    await asyncio.to_thread(stages.save_marks, clock.now())

    watching: list[bool] = []

    @app.timer(interval=2.0, name="watch_group")
    async def watch_group():
        """Exit (to be restarted) when the consumer's group coordination died (:mod:`sebac.streaming.consumer`)."""
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
