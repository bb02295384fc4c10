"""The worker's faust agents and timers, one module each by what they handle.

faust is an adapter here: an agent takes a batch of events (``stream.take_events``), turns them into
:class:`~sebac.streaming.records.Message` values, calls the stages (:mod:`sebac.streaming.stages`,
pure of faust) in a thread — the database work must not block the event loop that heartbeats the
consumer group — updates the weekly-counts table (:mod:`sebac.streaming.weeks`), emits, and waits
for the broker's acks before the batch's offsets can be committed (at-least-once). A batch that
fails is retried, never acked (:meth:`~sebac.streaming.agents.context.WorkerContext.retrying`);
records the consumer skipped are read back by offset (:mod:`sebac.streaming.gaps`).

=================  ==========================================================================
module             agents and timers
=================  ==========================================================================
``intake``         ``classify_reports`` (reports → stored reports, weekly counts, signals),
                   ``store_rejected`` (rejected items → the database)
``alerts``         ``raise_alerts`` (signals → alerts, alert events, notifications)
``timers``         ``close_epiweeks``, ``save_marks`` (every second, on revocation, on shutdown),
                   ``sweep_skipped``, ``watch_group``, ``report_backlog``
``context``        what they share: the app, topics, table, stages; emit, retry, decode
=================  ==========================================================================
"""
from __future__ import annotations

from sebac.streaming.agents import alerts, intake, timers
from sebac.streaming.agents.context import WorkerContext


def register_all(ctx: WorkerContext) -> None:
    """Every agent and timer of a worker, on ``ctx.app``."""
    for module in (intake, alerts, timers):
        module.register(ctx)
