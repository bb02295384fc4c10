"""``classify_reports`` (reports → stored reports, weekly counts, signals) and ``store_rejected``."""
from __future__ import annotations

import asyncio
import time

from sebac.streaming.agents.context import WorkerContext, messages
from sebac.streaming.metrics import BATCH_SECONDS, CONSUMED
from sebac.streaming.records import Message
from sebac.streaming.weeks import add_reports


def register(ctx: WorkerContext) -> None:
    stages, clock, settings = ctx.stages, ctx.clock, ctx.settings
    batch, within = settings.stream_batch_size, settings.stream_batch_seconds

    async def handle_reports(batch: list[Message]) -> list[Message]:
        t0 = time.perf_counter()
        full, done = await asyncio.to_thread(stages.run, "reports", batch, clock.now(), stages.process_reports)
        add_reports(ctx.cases, done.counted, ctx.start_day, done.first_time)
        await ctx.emit(done.outputs)
        CONSUMED.labels("reports", "new").inc(len(done.new))
        CONSUMED.labels("reports", "duplicate").inc(len(done.duplicates))
        CONSUMED.labels("reports", "poison").inc(sum(o.topic == "rejected" for o in done.outputs))
        BATCH_SECONDS.labels("reports").observe(time.perf_counter() - t0)
        return full

    async def handle_rejected(batch: list[Message]) -> list[Message]:
        full, stored = await asyncio.to_thread(stages.run, "rejected", batch, clock.now(), stages.store_rejected)
        CONSUMED.labels("rejected", "stored").inc(stored)
        return full

    @ctx.app.agent(ctx.topics["reports"], name="classify_reports")
    async def classify_reports(stream):
        async for events in stream.take_events(batch, within=within):
            await ctx.retrying("reports", messages(events), handle_reports)

    @ctx.app.agent(ctx.topics["rejected"], name="store_rejected")
    async def store_rejected(stream):
        async for events in stream.take_events(min(batch, 500), within=within):
            await ctx.retrying("rejected", messages(events), handle_rejected)

    ctx.handlers[ctx.names.reports] = ("reports", handle_reports)
    ctx.handlers[ctx.names.rejected] = ("rejected", handle_rejected)
