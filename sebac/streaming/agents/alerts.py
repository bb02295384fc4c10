"""``raise_alerts``: signals → the alert lifecycle → alert events and notifications."""
from __future__ import annotations

import asyncio
import time

from sebac.streaming.agents.context import WorkerContext, messages
from sebac.streaming.metrics import BATCH_SECONDS, CONSUMED
from sebac.streaming.records import Message


def register(ctx: WorkerContext) -> None:
    stages, clock, settings = ctx.stages, ctx.clock, ctx.settings

    async def handle_signals(batch: list[Message]) -> list[Message]:
        t0 = time.perf_counter()
        full, (outputs, applied, redelivered) = await asyncio.to_thread(stages.run, "signals", batch, clock.now(),
                                                                        stages.apply_signals)
        await ctx.emit(outputs)
        CONSUMED.labels("signals", "applied").inc(applied)
        CONSUMED.labels("signals", "redelivered").inc(redelivered)
        BATCH_SECONDS.labels("signals").observe(time.perf_counter() - t0)
        return full

    @ctx.app.agent(ctx.topics["signals"], name="raise_alerts")
    async def raise_alerts(stream):
        async for events in stream.take_events(min(settings.stream_batch_size, 500),
                                               within=settings.stream_batch_seconds):
            await ctx.retrying("signals", messages(events), handle_signals)

    ctx.handlers[ctx.names.signals] = ("signals", handle_signals)
