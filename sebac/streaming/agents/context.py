"""What every agent and timer of a worker shares: the faust app, its topics and table, the stages, and
the adapter steps around a pure call — decode the consumed events, retry a failed batch, emit and wait
for the broker's acks."""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

import faust

from ingest.clock import Clock
from sebac.settings import Settings
from sebac.streaming.metrics import RETRIES
from sebac.streaming.records import Message, Output
from sebac.streaming.stages import WorkerStages
from sebac.streaming.topics import Topics

log = logging.getLogger("sebac.streaming.worker")

#: a batch handler: the messages in, the messages handled (the batch and what was read back) out
Handler = Callable[[list[Message]], Awaitable[list[Message]]]


@dataclass
class WorkerContext:
    app: faust.App
    settings: Settings
    stages: WorkerStages
    clock: Clock
    names: Topics
    topics: dict[str, Any]  # logical name (``reports``, ``signals``...) → faust topic
    cases: Any  # the ``cases_by_area_week`` table (:mod:`sebac.streaming.weeks`)
    #: source topic name → (kind, handler): what the sweep timer hands records read back to
    handlers: dict[str, tuple[str, Handler]] = field(default_factory=dict)

    @property
    def partitions(self) -> int:
        return self.settings.stream_partitions

    @property
    def start_day(self) -> int:
        return self.settings.epiweek_start_day

    async def emit(self, outputs: list[Output]) -> None:
        pending = [await self.topics[o.topic].send(key=o.key.encode() if o.key else None, value=o.value)
                   for o in outputs]
        if pending:
            await asyncio.gather(*pending)  # broker acks before this batch's offsets can be committed

    async def retrying(self, kind: str, batch: list[Message], handle: Handler) -> None:
        """Handle a batch until it succeeds. faust acks a batch whose handler raised (and commits its
        offsets), so an error must not escape: the database or the broker being away stalls the
        worker (its backlog grows) and loses nothing; poison is handled inside the stages."""
        delay = 0.5
        while True:
            try:
                self.stages.note_handled(await handle(batch))
                return
            except Exception:  # noqa: BLE001 - CancelledError (shutdown) is not an Exception
                RETRIES.labels(kind).inc()
                log.exception("%s: batch of %d failed; retrying in %.1f s", kind, len(batch), delay)
                await asyncio.sleep(delay)
                delay = min(2 * delay, 30.0)

    async def save_marks(self) -> None:
        try:
            await asyncio.to_thread(self.stages.save_marks, self.clock.now())
        except Exception:  # noqa: BLE001 - kept in memory for the next try; a mark saved late costs a read-back
            log.warning("consumed marks not saved now", exc_info=True)


def messages(events) -> list[Message]:
    """faust events → the stages' messages (raw value and ``topic:partition:offset``)."""
    return [Message(e.message.value, f"{e.message.topic}:{e.message.partition}:{e.message.offset}")
            for e in events]
