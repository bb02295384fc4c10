"""Benchmark of the scale-out mode on real servers (Apache Kafka broker, PostgreSQL), started here.

    .venv/bin/python bench/stream.py [--reports 20000] [--partitions 8] [--latency 200]

Figures (one line each, and a Markdown table at the end):

* ``naive``: the issue's baseline on the same broker — a faust agent taking one event at a time,
  parsing it with pydantic and updating a table per message (no database);
* ``layer``: reports/s through the faust layer of one and two workers — take_events batches, raw
  bytes, pydantic decoding, the weekly-counts table with its changelog, emits — with the database
  stages replaced by a decode-only stub (what faust and the broker cost);
* ``full``: reports/s through one and two real workers (``sebac worker`` code: PostgreSQL writes,
  ingest intake notes, case-definition rules and statistical detectors per report, alerts);
* ``latency``: report accepted by the API adapter (broker ack) → alert stored in PostgreSQL, p50/p99,
  one immediately notifiable report at a time at a modest rate.

Throughput is counted from the first to the last report processed (worker start-up excluded), on a
backlog pre-loaded in the topic.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from sebac.settings import Settings  # noqa: E402
from sebac.streaming.publisher import KafkaPublisher, Record  # noqa: E402
from sebac.streaming.topics import bootstrap_of  # noqa: E402


# -- the worker process ----------------------------------------------------------------------------
class DecodeOnlyStages:
    """Stand-in for WorkerStages: decode every report, store nothing, count in a shared file."""

    def __init__(self, pipeline, counter: Path):
        self.pipeline = pipeline
        self.counter = counter
        self.seen = 0

    def process_reports(self, batch, now):
        from sebac.streaming.stages import ReportsDone

        good, bad = self.pipeline_stages.decode_reports(batch, now)
        self.seen += len(batch)
        self.counter.write_text(f"{self.seen} {time.time()}")
        return ReportsDone(new=[r for r, _ in good],
                           counted=[(r, int(m.source.rsplit(":", 1)[-1])) for r, m in good])

    def run(self, kind, batch, now, work):
        return list(batch), work(batch, now)

    def note_handled(self, batch):
        return None

    def save_marks(self, now):
        return None

    def apply_signals(self, batch, now):
        return [], 0, 0

    def store_rejected(self, batch, now):
        return 0

    def close_weeks(self, cells, now):
        return []


def run_naive_worker(counter: str) -> None:
    """The issue's baseline: a naive faust agent, one event at a time, pydantic parse, a table update
    per message (changelog), no database. Counts in the shared file from a 50 ms timer."""
    import faust

    from ingest.contracts import Report
    from sebac.streaming.topics import Topics

    settings = Settings()
    n = settings.stream_partitions
    app = faust.App(settings.stream_app_id, broker=settings.broker, store="memory://", topic_partitions=n,
                    web_enabled=False, consumer_auto_offset_reset="earliest", table_standby_replicas=0)
    topic = app.topic(Topics.with_prefix(settings.stream_topic_prefix).reports, partitions=n, key_type=bytes,
                      value_type=bytes, key_serializer="raw", value_serializer="raw")
    table = app.Table("naive_counts", default=int, partitions=n)
    seen = [0]

    @app.agent(topic)
    async def count(stream):
        async for value in stream:
            report = Report.model_validate_json(value)
            table[report.health_area_id] += 1
            seen[0] += 1

    @app.timer(interval=0.05)
    async def write_counter():
        if seen[0]:
            Path(counter).write_text(f"{seen[0]} {time.time()}")

    faust.Worker(app, loglevel="warning", console_port=0).execute_from_commandline()


def run_worker(mode: str, counter: str) -> None:
    import faust

    from sebac.streaming.app import create_app
    from sebac.streaming.engine import embedded_pipeline
    from sebac.streaming.stages import WorkerStages

    settings = Settings()
    if settings.stream_instance_id == "hostname":
        settings = settings.model_copy(update={"stream_instance_id": None})
    stages = None
    if mode == "layer":
        pipeline = embedded_pipeline(settings)
        stages = DecodeOnlyStages(pipeline, Path(counter))
        stages.pipeline_stages = WorkerStages(pipeline)
    app = create_app(settings, stages=stages)
    faust.Worker(app, loglevel="warning", console_port=0).execute_from_commandline()


# -- the driver ------------------------------------------------------------------------------------
def reports(n: int, seed: int, immediate_share: float, onset_base: dt.date) -> list[dict]:
    from ingest.pyramid import demo_pyramid_path, load_pyramid

    pyramid = load_pyramid(demo_pyramid_path())
    sites = [s.id for s in pyramid.at_level("site")]
    rng = random.Random(seed)
    out = []
    for i in range(n):
        disease = "cholera" if rng.random() < immediate_share else rng.choice(["malaria", "ili", "acute_diarrhoea"])
        onset = onset_base - dt.timedelta(days=rng.randrange(0, 14))
        out.append({"client_id": f"b{seed}-{i}", "orgunit_id": rng.choice(sites), "disease": disease,
                    "cases": rng.randint(1, 5), "onset_date": onset.isoformat()})
    return out


def preload(settings: Settings, payloads: list[dict]) -> float:
    """Validate like the API and publish in batches of 500 with the API's publisher; returns msg/s."""
    from sebac.streaming.engine import build_streaming_pipeline
    from sebac.streaming.publisher import InMemoryPublisher

    capture = InMemoryPublisher()
    pipeline = build_streaming_pipeline(settings, publisher=capture)
    for p in payloads:
        pipeline.submit(p)
    publisher = KafkaPublisher(bootstrap_of(settings.broker), timeout=30)
    t0 = time.perf_counter()
    for i in range(0, len(capture.records), 500):
        publisher.publish(capture.records[i:i + 500])
    rate = len(capture.records) / (time.perf_counter() - t0)
    publisher.close()
    pipeline.db.dispose()
    return rate


def worker_env(settings: Settings, extra: dict | None = None) -> dict:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    for k, v in settings.model_dump().items():
        if v is not None and k.startswith(("stream_", "broker", "database_url", "environment")):
            env[f"SEBAC_{k.upper()}"] = str(v)
    env.update(extra or {})
    return env


def start_workers(settings: Settings, mode: str, n: int, tag: str) -> list[tuple[subprocess.Popen, Path]]:
    out = []
    for i in range(n):
        counter = Path(f"/tmp/sebac-bench-{tag}-{i}.count")
        counter.unlink(missing_ok=True)
        log = open(f"/tmp/sebac-bench-{tag}-{i}.log", "wb")
        env = worker_env(settings, {"SEBAC_STREAM_INSTANCE_ID": f"{tag}-{i}"})
        proc = subprocess.Popen([sys.executable, __file__, "--worker", mode, "--counter", str(counter)],
                                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        out.append((proc, counter))
    return out


def stop_workers(workers) -> None:
    from tests.servers import stop_process

    for proc, _ in workers:
        stop_process(proc, timeout=8)


def count_stored(url: str) -> int:
    engine = sa.create_engine(url)
    with engine.connect() as c:
        n = c.execute(sa.text("SELECT count(*) FROM reports")).scalar()
    engine.dispose()
    return int(n)


def measure(settings: Settings, mode: str, n_workers: int, n: int, tag: str, timeout: float) -> float:
    """Reports/s from the first to the last report processed."""
    workers = start_workers(settings, mode, n_workers, tag)
    first = last = None
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if mode in ("layer", "naive"):
                done = 0
                for _, counter in workers:
                    if counter.exists():
                        parts = counter.read_text().split()
                        if len(parts) == 2:
                            done += int(parts[0])
            else:
                done = count_stored(settings.database_url)
            now = time.perf_counter()
            if done and first is None:
                first = (now, done)
            if done >= n:
                last = (now, done)
                break
            time.sleep(0.05 if mode in ("layer", "naive") else 0.2)
    finally:
        stop_workers(workers)
    if first is None or last is None:
        raise RuntimeError(f"{mode}/{n_workers}: not done in {timeout}s (first={first})")
    return (last[1] - first[1]) / max(last[0] - first[0], 1e-6)


def latency(settings: Settings, n: int) -> tuple[float, float]:
    """Accepted (broker ack) → alert stored, for reports that each open a new alert."""
    from ingest.pyramid import demo_pyramid_path, load_pyramid
    from sebac.streaming.engine import build_streaming_pipeline

    pipeline = build_streaming_pipeline(settings)
    workers = start_workers(settings, "full", 1, "lat")
    try:
        time.sleep(12)  # worker start-up and group join
        areas = [s.id for s in load_pyramid(demo_pyramid_path()).at_level("site")]
        accepted: dict[str, float] = {}
        onset = dt.date.today()
        for i in range(n):  # distinct (area, disease, week): every report opens an alert
            payload = {"client_id": f"lat-{i}", "orgunit_id": areas[i % len(areas)],
                       "disease": ["cholera", "mpox", "dengue", "plague"][i // len(areas) % 4],
                       "cases": 1, "onset_date": onset.isoformat()}
            res = pipeline.submit(payload)
            accepted[res.report.report_id] = time.time()
            time.sleep(0.05)
        deadline = time.monotonic() + 120
        lat = []
        while time.monotonic() < deadline:
            with pipeline.db.connect() as c:
                rows = c.execute(sa.text("SELECT payload, a.created_at FROM alert_signals s JOIN alerts a "
                                         "ON a.alert_id = s.alert_id")).all()
            lat = []
            for payload, created in rows:
                payload = json.loads(payload) if isinstance(payload, str) else payload
                for rid in payload.get("report_ids", []):
                    if rid in accepted:
                        lat.append(created.timestamp() - accepted[rid])
            if len(lat) >= n:
                break
            time.sleep(0.5)
    finally:
        stop_workers(workers)
    lat.sort()
    return statistics.median(lat), lat[min(len(lat) - 1, int(0.99 * len(lat)))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--counter", help=argparse.SUPPRESS)
    ap.add_argument("--reports", type=int, default=20000, help="backlog for the layer benchmark")
    ap.add_argument("--full-reports", type=int, default=2000, help="backlog for the full-worker benchmark")
    ap.add_argument("--partitions", type=int, default=8)
    ap.add_argument("--latency", type=int, default=200, help="reports for the latency figure")
    ap.add_argument("--modes", default="naive,layer,full,latency", help="which figures, comma-separated")
    ap.add_argument("--batch-seconds", type=float, default=0.25, help="SEBAC_STREAM_BATCH_SECONDS of the workers")
    args = ap.parse_args()
    if args.worker == "naive":
        return run_naive_worker(args.counter)
    if args.worker:
        return run_worker(args.worker, args.counter)

    from tests.servers import start_broker, start_postgres

    pg, broker = start_postgres(), start_broker()
    results = []
    try:
        onset = dt.date.today() - dt.timedelta(days=1)
        modes = args.modes.split(",")
        for mode, n, timeout in (("naive", args.reports, 600), ("layer", args.reports, 600),
                                 ("full", args.full_reports, 900)):
            if mode not in modes:
                continue
            for n_workers in (1, 2):
                tag = f"{mode}{n_workers}"
                url = pg.create_database(f"bench_{tag}")
                settings = Settings(environment="test", database_url=url, broker=broker.url,
                                    stream_topic_prefix=tag, stream_app_id=tag,
                                    stream_partitions=args.partitions, stream_close_interval=5,
                                    stream_session_timeout=10, stream_rebalance_timeout=20,
                                    stream_batch_seconds=args.batch_seconds)
                from sebac.db import make_engine, migrate

                migrate(make_engine(url))
                from sebac.streaming.engine import create_topics

                create_topics(settings)
                produce = preload(settings, reports(n, seed=n_workers, immediate_share=0.02, onset_base=onset))
                rate = measure(settings, mode, n_workers, n, tag, timeout)
                results.append((mode, n_workers, n, rate, produce))
                print(f"{mode:6} workers={n_workers} reports={n}: {rate:,.0f} reports/s "
                      f"(pre-load publish {produce:,.0f} msg/s)", flush=True)
        if "latency" not in modes:
            return
        url = pg.create_database("bench_latency")
        settings = Settings(environment="test", database_url=url, broker=broker.url, stream_topic_prefix="lat",
                            stream_app_id="lat", stream_partitions=args.partitions, stream_batch_seconds=0.01)
        from sebac.db import make_engine, migrate

        migrate(make_engine(url))
        from sebac.streaming.engine import create_topics

        create_topics(settings)
        p50, p99 = latency(settings, args.latency)
        print(f"latency accepted → alert stored: p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms "
              f"({args.latency} reports)", flush=True)
    finally:
        broker.stop()
        pg.stop()
    print("\n| what | workers | reports | reports/s |\n|---|---|---|---|")
    for mode, w, n, rate, _ in results:
        print(f"| {mode} | {w} | {n} | {rate:,.0f} |")
    print(f"\nbroker: Apache Kafka {broker.version}; machine: {platform.machine()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}, load {os.getloadavg()[0]:.1f}; "
          f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC")


if __name__ == "__main__":
    main()
