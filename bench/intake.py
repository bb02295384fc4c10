"""Figures of BENCHMARKS.md §4 (whole demo week through ``pipeline.submit``), §5 (SMS grammar) and §7
(``/metrics`` exposition on the demo week).

Usage: ``.venv/bin/python bench/intake.py [--sms 30000]``. A fresh SQLite file database with the demo
pyramid and 5 years of demo history; the simulated demo week (``sebac.demo.simulate_week``) is
submitted item by item on a fake clock at each item's receipt time; then the exposition is built
three times (database gauges uncached each time).
"""
from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

sys.path[:] = [str(Path(__file__).resolve().parents[1])] + [p for p in sys.path
                                                            if Path(p or ".").resolve() != Path(__file__).parent]

from api.metrics import exposition  # noqa: E402
from ingest.clock import FakeClock  # noqa: E402
from ingest.sms.grammar import parse_sms  # noqa: E402
from sebac.demo import GARBLED_SMS, load_demo_history, simulate_week, sms_text  # noqa: E402
from sebac.engine import build_app  # noqa: E402
from sebac.settings import Settings  # noqa: E402


def pct(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(q * len(values)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sms", type=int, default=30_000, help="texts for the grammar benchmark")
    args = ap.parse_args()
    now = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.timezone.utc)
    with tempfile.TemporaryDirectory() as tmp:
        clock = FakeClock(now - dt.timedelta(days=7))
        app = build_app(Settings(database_url=f"sqlite:///{tmp}/bench.db", environment="test"), clock)
        pipeline = app.state.pipeline
        load_demo_history(pipeline, now)
        week = simulate_week(pipeline.pyramid, now)
        times = []
        for item in week:
            clock.set(item.received_at)
            t = time.perf_counter()
            pipeline.submit(item.payload, item.channel)
            times.append((time.perf_counter() - t) * 1000)
        print(f"§4 demo week through pipeline.submit: {len(times)} items, median {statistics.median(times):.1f} ms, "
              f"p99 {pct(times, 0.99):.1f} ms")
        state = SimpleNamespace(pipeline=pipeline, settings=None)
        runs = []
        for _ in range(3):
            t = time.perf_counter()
            body = exposition(state)
            runs.append(time.perf_counter() - t)
            state = SimpleNamespace(pipeline=pipeline, settings=None)  # a new state: no gauge cache
        print(f"§7 /metrics on the demo week: {min(runs) * 1000:.0f}–{max(runs) * 1000:.0f} ms, "
              f"{len(body) / 1024:.0f} KB")
        texts = [sms_text(i.payload) for i in week if i.payload.get("disease")] + [GARBLED_SMS] + \
            ["RAS", "ZERO 1811", "CHOL 3 F 5+ 1811", "blah", "P 2 1 1"]
        rng = random.Random(7)
        sample = [rng.choice(texts) for _ in range(args.sms)]
        t = time.process_time()
        for text in sample:
            try:
                parse_sms(text, pipeline.diseases, now.date())
            except Exception:  # noqa: BLE001 - a refused SMS is part of the mix
                pass
        cpu = time.process_time() - t
        print(f"§5 SMS grammar: {args.sms} texts in {cpu:.2f} s CPU ≈ {args.sms / cpu:,.0f} SMS/s")


if __name__ == "__main__":
    main()
