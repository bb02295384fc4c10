"""Figures of BENCHMARKS.md §6: signals into alerts, and one escalation tick, on a real SQLite file.

Usage::

    .venv/bin/python bench/alerts.py                       # 1,000 alerts, 3,000 merged signals
    .venv/bin/python bench/alerts.py --alerts 300 --merges 900

The pipeline of ``sebac serve`` (``sebac.engine.build_pipeline``: the demo pyramid, the shipped
escalation policy, SQLite in WAL with ``synchronous=FULL``), one SMS subscription per health area and
per district, so every new and escalated alert writes its outbox rows. Each signal goes through
``AlertService.on_signal`` in its own transaction, as the detection stage does:

1. *open*: ``--alerts`` immediate cholera signals with distinct dedup keys (a health area × an epi
   week each) open one alert each (alert row, created and notified events, outbox row, signal);
2. *merge*: ``--merges`` further signals with the keys of those alerts merge into them (signal_merged
   event, alert update, signal);
3. *escalate*: 31 minutes later every alert is past its 30-minute health-area deadline; one
   ``EscalationScheduler.tick`` moves them all to the district (escalated and notified events,
   outbox row), one transaction per alert; then an idle tick (nothing due).

Floor, same database and engine, same number of transactions: one row per transaction inserted into
(open), then updated in (merge, escalate) a plain table holding each alert's JSON. A progress bar
per step on stderr; one summary line per figure at the end.
"""
from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
import tempfile
import time
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])  # this file is bench/alerts.py: not the package

import sqlalchemy as sa  # noqa: E402
from tqdm import tqdm  # noqa: E402

from alerts.escalation import EscalationScheduler  # noqa: E402
from alerts.notify import SubscriptionIn, SubscriptionRepository  # noqa: E402
from bench.detectors import machine  # noqa: E402
from ingest.clock import FakeClock  # noqa: E402
from sebac.engine import build_pipeline  # noqa: E402
from sebac.settings import Settings  # noqa: E402
from tests.alerts.scenario import START, make_signal  # noqa: E402

FLOOR = sa.table("bench_floor", sa.column("id", sa.Integer), sa.column("body", sa.Text))


def timed(label: str, items: list, step) -> float:
    """Seconds to call ``step(item)`` on every item, each in its own transaction (the caller's ``step``)."""
    t0 = time.perf_counter()
    for item in tqdm(items, desc=label, unit="tx", file=sys.stderr, leave=False):
        step(item)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--alerts", type=int, default=1000, help="alerts opened, then escalated by one tick")
    ap.add_argument("--merges", type=int, default=3000, help="signals merged into the open alerts")
    args = ap.parse_args()
    logging.disable(logging.WARNING)  # one line per alert raised or escalated: the bars say enough
    with tempfile.TemporaryDirectory() as tmp:
        clock = FakeClock(START)
        pipeline = build_pipeline(Settings(database_url=f"sqlite:///{tmp}/bench.db", environment="test"), clock)
        db, pyramid, service = pipeline.db, pipeline.pyramid, pipeline.alerting
        areas = sorted(u.id for u in pyramid.at_level("health_area"))
        with db.begin() as conn:
            subs = SubscriptionRepository()
            for i, unit in enumerate(areas + sorted(u.id for u in pyramid.at_level("district"))):
                subs.create(conn, SubscriptionIn(orgunit_id=unit, channel="sms", address=f"+22370{i:06d}"), pyramid)
            conn.execute(sa.text("CREATE TABLE bench_floor (id INTEGER PRIMARY KEY, body TEXT NOT NULL)"))
        # one alert per (health area, epi week): onsets a week apart give distinct dedup keys
        opening = [make_signal("cholera", areas[i % len(areas)], now=START, pyramid=pyramid,
                               onset=(START - dt.timedelta(days=1 + 7 * (i // len(areas)))).date())
                   for i in range(args.alerts)]
        merging = [make_signal("cholera", s.orgunit_id, now=START, pyramid=pyramid, onset=s.period_start,
                               observed=2) for s in (opening[i % len(opening)] for i in range(args.merges))]

        def on_signal(signal) -> None:
            with db.begin() as conn:
                service.on_signal(conn, signal, clock.now())

        def floor_insert(signal) -> None:
            with db.begin() as conn:
                conn.execute(sa.insert(FLOOR).values(body=signal.model_dump_json()))

        def floor_update(i: int) -> None:
            with db.begin() as conn:
                conn.execute(sa.update(FLOOR).where(FLOOR.c.id == i).values(body=FLOOR.c.body + "."))

        opened = timed("open", opening, on_signal)
        merged = timed("merge", merging, on_signal)
        floor_open = timed("floor insert", opening, floor_insert)
        floor_merge = timed("floor update", [1 + i % args.alerts for i in range(args.merges)], floor_update)
        with db.connect() as conn:
            counts = dict(conn.execute(sa.text("SELECT status, count(*) FROM alerts GROUP BY status")).all())
            merged_events = conn.execute(sa.text(
                "SELECT count(*) FROM alert_events WHERE type = 'signal_merged'")).scalar_one()
        assert counts == {"open": args.alerts} and merged_events == args.merges, (counts, merged_events)

        clock.set(START + dt.timedelta(minutes=31))
        scheduler = EscalationScheduler(db, service)
        advance = service.advance
        with tqdm(total=args.alerts, desc="escalation tick", unit="alert", file=sys.stderr, leave=False) as bar:
            service.advance = lambda *a: (bar.update(), advance(*a))[1]  # the bar follows the tick's alerts
            t0 = time.perf_counter()
            escalations = scheduler.tick(clock.now())
            tick = time.perf_counter() - t0
        del service.advance
        t0 = time.perf_counter()
        assert scheduler.tick(clock.now()) == 0  # idempotent: nothing is due any more
        idle = time.perf_counter() - t0
        floor_tick = timed("floor update", list(range(1, args.alerts + 1)), floor_update)
        assert escalations == args.alerts, escalations

    info = machine()
    print(f"# alerts bench — {info['date']}, {info['cpu']} ({info['nproc']} cores), load average "
          f"{info['load average (1/5/15 min)']}, Python {info['python']}; `{info['command']}`")
    print(f"open: {args.alerts} signals → {args.alerts} new alerts in {opened:.2f} s ≈ {args.alerts / opened:,.0f} "
          f"alerts/s; floor (plain insert, one per transaction) {args.alerts / floor_open:,.0f} rows/s")
    print(f"merge: {args.merges} signals merged into {args.alerts} open alerts in {merged:.2f} s ≈ "
          f"{args.merges / merged:,.0f} signals/s; floor (plain update) {args.merges / floor_merge:,.0f} rows/s")
    print(f"escalation tick: {escalations} due alerts escalated in {tick:.2f} s ≈ {escalations / tick:,.0f} "
          f"escalations/s; floor (plain update) {args.alerts / floor_tick:,.0f} rows/s; "
          f"idle tick (nothing due, {args.alerts} open alerts) {idle * 1000:.1f} ms")


if __name__ == "__main__":
    main()
