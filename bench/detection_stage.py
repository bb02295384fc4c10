"""Latency of the detection stage per report (embedded pipeline), with and without 5 years of history.

Usage: ``.venv/bin/python bench/detection_stage.py [--reports 300]``. Stores reports in a fresh SQLite
database, loads 5 years of weekly malaria/ILI history for one district and its health areas, then
times ``DetectionStage.on_report`` (rules + statistical detectors, default configuration) per report.

``--batches 50,200,1000`` instead measures the stream worker's shape: batches of reports stored in one
transaction over the whole demo pyramid (5 years of malaria history per district, ILI per health
area, last weeks' reports as baseline), then reports/s of the per-report loop
``[on_report(conn, r, now) for r in batch]`` versus one ``on_reports(conn, batch, now)`` call, each on the
same database state in a transaction rolled back afterwards (the detection stage only, not the insert).
"""
from __future__ import annotations

import argparse
import datetime as dt
import math
import platform
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

# run as a script from anywhere: the repository root first, not bench/ (bench/detectors.py would shadow
# the detectors package)
sys.path[:] = [str(Path(__file__).resolve().parents[1])] + [p for p in sys.path
                                                            if Path(p or ".").resolve() != Path(__file__).parent]

from detectors.stage import DetectionStage  # noqa: E402
from ingest.contracts import Channel, Report  # noqa: E402
from ingest.diseases import load_diseases  # noqa: E402
from ingest.history import HistoryRow, store_history  # noqa: E402
from ingest.pyramid import demo_pyramid_path, load_pyramid  # noqa: E402
from ingest.repository import ReportRepository  # noqa: E402
from sebac.db import make_engine, migrate  # noqa: E402

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 11, 20, 9, tzinfo=UTC)
DISTRICT = "ML-MOP-DJENNE"


def history(db, pyramid, weeks: int = 5 * 52 + 40) -> None:
    rng = np.random.default_rng(1)
    rows = []
    areas = [u.id for u in pyramid.descendants(DISTRICT) if u.level == "health_area"]
    for i in range(weeks):
        day = NOW.date() - dt.timedelta(weeks=weeks - i)
        y, w, _ = day.isocalendar()
        rows.append(HistoryRow(DISTRICT, "malaria", y, w, int(rng.poisson(40))))
        for a in areas:
            rows.append(HistoryRow(a, "ili", y, w, int(rng.poisson(3))))
    with db.begin() as conn:
        store_history(conn, rows, now=NOW, source="bench")


def pyramid_history(db, pyramid, weeks: int = 5 * 52 + 40) -> None:
    """Weekly malaria counts for every district and ILI counts for every health area, up to 3 weeks ago."""
    rng = np.random.default_rng(3)
    districts = [u.id for u in pyramid.units.values() if u.level == "district"]
    areas = [u.id for u in pyramid.units.values() if u.level == "health_area"]
    rows = []
    for i in range(weeks):
        y, w, _ = (NOW.date() - dt.timedelta(weeks=3 + i)).isocalendar()
        rows += [HistoryRow(d, "malaria", y, w, int(rng.poisson(30))) for d in districts]
        rows += [HistoryRow(a, "ili", y, w, int(rng.poisson(3))) for a in areas]
    with db.begin() as conn:
        store_history(conn, rows, now=NOW, source="bench")


def stream_batch(pyramid, sites: list[str], rng, n: int, tag: str) -> list[Report]:
    """``n`` reports as a stream worker sees them: random sites, onsets over the last two weeks."""
    out = []
    for i in range(n):
        disease = ("malaria", "ili", "meningitis", "cholera", "acute_diarrhoea", "measles")[int(rng.integers(6))]
        site = sites[int(rng.integers(len(sites)))]
        onset = NOW.date() - dt.timedelta(days=int(rng.integers(0, 14)))
        out.append(Report(report_id=str(uuid.uuid4()), idempotency_key=f"bench:{tag}:{i}", channel=Channel.http,
                          orgunit_id=site, health_area_id=pyramid.ancestor_at(site, "health_area").id,
                          district_id=pyramid.ancestor_at(site, "district").id, disease=disease,
                          cases=int(rng.integers(1, 8)), onset_date=onset, report_date=NOW.date(), received_at=NOW))
    return out


def timed(db, fn) -> float:
    with db.connect() as conn:
        tx = conn.begin()
        try:
            t0 = time.perf_counter()
            fn(conn)
            return time.perf_counter() - t0
        finally:
            tx.rollback()


def batches(sizes: list[int], repeat: int) -> None:
    pyramid, diseases = load_pyramid(demo_pyramid_path()), load_diseases()
    sites = sorted(u.id for u in pyramid.units.values() if u.level == "site")
    rng = np.random.default_rng(4)
    db = make_engine(f"sqlite:///{tempfile.mkdtemp()}/bench.db")
    migrate(db)
    pyramid_history(db, pyramid)
    repo = ReportRepository()
    with db.begin() as conn:  # baseline: last weeks' reports everywhere
        for r in stream_batch(pyramid, sites, rng, 2000, "base"):
            repo.insert(conn, r)
    stage = DetectionStage(pyramid, diseases)
    print(f"{'batch':>6s} {'loop reports/s':>15s} {'on_reports reports/s':>21s} {'speed-up':>9s}")
    for n in sizes:
        batch = stream_batch(pyramid, sites, rng, n, f"b{n}")
        with db.begin() as conn:
            for r in batch:
                repo.insert(conn, r)
        loop, once = math.inf, math.inf
        for _ in range(repeat):  # best of ``repeat``, alternating (shared machine: noisy)
            loop = min(loop, timed(db, lambda conn: [stage.on_report(conn, r, NOW) for r in batch]))
            once = min(once, timed(db, lambda conn: stage.on_reports(conn, batch, NOW)))
        print(f"{n:6d} {n / loop:15.0f} {n / once:21.0f} {loop / once:8.1f}x")
    db.dispose()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reports", type=int, default=300)
    ap.add_argument("--batches", default="", help="comma-separated batch sizes: loop versus on_reports")
    ap.add_argument("--repeat", type=int, default=3, help="with --batches: best of this many runs")
    args = ap.parse_args()
    if args.batches:
        batches([int(x) for x in args.batches.split(",")], args.repeat)
        print(f"# {platform.processor() or platform.machine()}, Python {platform.python_version()}, "
              f"{dt.datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
        return
    pyramid, diseases = load_pyramid(demo_pyramid_path()), load_diseases()
    sites = [u.id for u in pyramid.descendants(DISTRICT) if u.level == "site"]
    rng = np.random.default_rng(2)
    for with_history in (False, True):
        db = make_engine(f"sqlite:///{tempfile.mkdtemp()}/bench.db")
        migrate(db)
        if with_history:
            history(db, pyramid)
        stage = DetectionStage(pyramid, diseases)
        repo = ReportRepository()
        times: dict[str, list[float]] = {}
        for i in range(args.reports):
            disease = ("malaria", "ili", "meningitis", "cholera")[i % 4]
            site = sites[int(rng.integers(len(sites)))]
            onset = NOW.date() - dt.timedelta(days=int(rng.integers(0, 4)))
            r = Report(report_id=str(uuid.uuid4()), idempotency_key=f"bench:{i}", channel=Channel.http,
                       orgunit_id=site, health_area_id=pyramid.ancestor_at(site, "health_area").id,
                       district_id=DISTRICT, disease=disease, cases=int(rng.integers(1, 6)), onset_date=onset,
                       report_date=NOW.date(), received_at=NOW)
            with db.begin() as conn:
                repo.insert(conn, r)
                t0 = time.perf_counter()
                stage.on_report(conn, r, NOW)
                times.setdefault(disease, []).append(time.perf_counter() - t0)
        label = "5 years of history" if with_history else "no history (warm-up)"
        for disease, ts in times.items():
            ts = sorted(ts)
            print(f"{label:24s} {disease:11s} n={len(ts):4d} median {statistics.median(ts) * 1e3:6.2f} ms  "
                  f"p95 {ts[int(0.95 * (len(ts) - 1))] * 1e3:6.2f} ms")
        db.dispose()
    print(f"# {platform.processor() or platform.machine()}, Python {platform.python_version()}, "
          f"{dt.datetime.now(UTC):%Y-%m-%d %H:%M} UTC")


if __name__ == "__main__":
    main()
