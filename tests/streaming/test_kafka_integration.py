"""Scale-out mode on real components: a Kafka-protocol broker (noida-db) and PostgreSQL, both started
on loopback by the fixtures, and ``sebac worker`` processes (faust-streaming) started here.

Each test has its own topics (prefix), consumer group (app id) and database, on the session's servers.
"""
from __future__ import annotations

import collections
import datetime as dt
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from ingest.pyramid import demo_pyramid_path, load_pyramid
from sebac.settings import Settings
from sebac.streaming.app import EXIT_GROUP_LOST
from sebac.streaming.codec import report_id_for
from sebac.streaming.engine import build_streaming_pipeline, create_topics
from sebac.streaming.topics import Topics, partition_for
from tests.conftest import LiveServer
from tests.servers import free_port, start_broker

ROOT = Path(__file__).resolve().parents[2]
PARTITIONS = 4
TODAY = dt.date.today()
# onset dates in the two weeks before the current one: closed by the timer (grace 0)
LAST_MONDAY = TODAY - dt.timedelta(days=TODAY.weekday() + 7)
IMMEDIATE, ROUTINE = ("cholera", "mpox"), ("malaria", "ili")


class Worker:
    """``python -m sebac worker`` in a subprocess; SIGTERM, then SIGKILL (faust may ignore SIGTERM).

    Like the compose file's restart policy, a worker that exits with ``EXIT_GROUP_LOST`` (its
    consumer's group coordination died) is started again, with the same static member id."""

    def __init__(self, settings: Settings, name: str, metrics_port: int = 0):
        self.env = dict(os.environ, PYTHONUNBUFFERED="1", **{
            f"SEBAC_{k.upper()}": str(v) for k, v in settings.model_dump().items()
            if v is not None and (k.startswith(("stream_", "broker", "database_url", "environment", "log_level")))})
        # static membership: a restarted worker (same name) takes its partitions back at once
        self.env["SEBAC_STREAM_INSTANCE_ID"] = f"{settings.stream_app_id}-{name}"
        if metrics_port:
            self.env["SEBAC_WORKER_METRICS_PORT"] = str(metrics_port)
        self.metrics_port = metrics_port
        self.log_path = Path(tempfile.gettempdir()) / f"sebac-{name}-{uuid.uuid4().hex[:6]}.log"
        self.proc: subprocess.Popen | None = None
        self.restarts = 0
        self._stopping = threading.Event()

    def start(self) -> "Worker":
        self._spawn()
        threading.Thread(target=self._supervise, daemon=True).start()
        return self

    def _spawn(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "sebac", "worker", "--no-create-topics"], cwd=ROOT,
                                     env=self.env, stdout=open(self.log_path, "ab"), stderr=subprocess.STDOUT)

    def _supervise(self) -> None:
        while not self._stopping.wait(0.2):
            if self.proc is not None and self.proc.poll() == EXIT_GROUP_LOST and not self._stopping.is_set():
                self.restarts += 1
                self._spawn()

    def kill9(self) -> None:
        self._stopping.set()
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        self._stopping.set()
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=8)
            except subprocess.TimeoutExpired:
                self.kill9()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def consumed(self, outcome: str = "new") -> float:
        return self.metric(f'sebac_stream_consumed_total{{outcome="{outcome}",topic="reports"}}') or 0.0

    def metric(self, series: str) -> float | None:
        """Value of one exposed series of this worker, None when absent (or not started yet)."""
        try:
            text = httpx.get(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=3).text
        except httpx.HTTPError:
            return None
        for line in text.splitlines():
            if line.startswith(series + " "):
                return float(line.split()[-1])
        return None


def stream_settings(broker_url: str, db_url: str, name: str, **extra) -> Settings:
    values = dict(environment="test", database_url=db_url, broker=broker_url, stream_topic_prefix=name,
                  stream_app_id=name, stream_partitions=PARTITIONS, stream_close_interval=1.0,
                  stream_close_grace_hours=0, stream_batch_size=50, stream_publish_timeout=3, log_level="INFO",
                  stream_session_timeout=10, stream_rebalance_timeout=20)
    return Settings(**(values | extra))


def wait_for(check, timeout: float, workers=(), what: str = "condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last is True:
            return
        time.sleep(0.3)
    logs = "\n".join(f"--- {w.log_path}\n" + w.log_path.read_text()[-3000:] for w in workers)
    raise AssertionError(f"timed out waiting for {what}; last: {last}\n{logs}")


def areas_on_partitions(n: int) -> list[tuple[str, str]]:
    """(site, health area) pairs spread over every partition."""
    pyramid = load_pyramid(demo_pyramid_path())
    by_partition: dict[int, list] = collections.defaultdict(list)
    for site in pyramid.at_level("site"):
        area = pyramid.ancestor_at(site.id, "health_area").id
        if area not in {a for _, a in by_partition[partition_for(area, PARTITIONS)]}:
            by_partition[partition_for(area, PARTITIONS)].append((site.id, area))
    assert len(by_partition) == PARTITIONS
    out = []
    while len(out) < n:
        for p in range(PARTITIONS):
            out.append(by_partition[p][len(out) // PARTITIONS])
    return out[:n]


def make_reports(n: int, sites: list[tuple[str, str]], seed: int) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        site, _ = sites[i % len(sites)]
        disease = rng.choice(IMMEDIATE) if i % 5 == 0 else rng.choice(ROUTINE)
        onset = LAST_MONDAY - dt.timedelta(days=rng.randrange(0, 7) + 7 * rng.randrange(0, 2))
        out.append({"client_id": f"s{seed}-{i}", "orgunit_id": site, "disease": disease,
                    "cases": rng.randint(1, 4), "onset_date": onset.isoformat()})
    return out


def expectations(reports: list[dict], sites: list[tuple[str, str]]):
    from detectors.epiweek import epiweek

    area_of = dict(sites)
    weeks: dict[tuple, list[int]] = collections.defaultdict(lambda: [0, 0])
    alerts: dict[tuple, int] = collections.Counter()
    for r in reports:
        week = str(epiweek(dt.date.fromisoformat(r["onset_date"])))
        cell = (area_of[r["orgunit_id"]], r["disease"], week)
        weeks[cell][0] += r["cases"]
        weeks[cell][1] += 1
        if r["disease"] in IMMEDIATE:
            alerts[cell] += r["cases"]
    return {k: tuple(v) for k, v in weeks.items()}, dict(alerts)


def db_state(url: str):
    engine = sa.create_engine(url)
    with engine.connect() as c:
        reports = c.execute(sa.text("SELECT count(*), count(DISTINCT idempotency_key) FROM reports")).one()
        # the immediate case definition (1 case = alert) at health-area level; other rules may add
        # district alerts, whose exactness the duplicate check below covers
        alerts = {(a, d, k.rsplit(":", 1)[-1]): cases for a, d, k, cases in c.execute(sa.text(
            "SELECT orgunit_id, disease, dedup_key, cases FROM alerts WHERE orgunit_level = 'health_area' "
            "AND disease IN ('cholera', 'mpox')"))}
        duplicated = c.execute(sa.text("SELECT count(*) FROM (SELECT dedup_key FROM alerts GROUP BY dedup_key "
                                       "HAVING count(*) > 1) d")).scalar()
        n_alerts = (len(alerts), duplicated)
        rejected = [json.loads(e) if isinstance(e, str) else e for (e,) in c.execute(sa.text(
            "SELECT errors FROM rejected_items"))]
    engine.dispose()
    return tuple(reports), alerts, n_alerts, rejected


def missing(url: str, reports: list[dict], sites) -> dict[int, int]:
    """Reports not stored yet, counted by partition (diagnostics for a timeout)."""
    engine = sa.create_engine(url)
    with engine.connect() as c:
        keys = set(c.execute(sa.text("SELECT idempotency_key FROM reports")).scalars())
    engine.dispose()
    area_of = dict(sites)
    return dict(collections.Counter(partition_for(area_of[r["orgunit_id"]], PARTITIONS) for r in reports
                                    if f"http:{r['client_id']}" not in keys))


def in_topic(bootstrap: str, topic: str, client_ids: set[str]) -> dict[str, str]:
    """Where missing reports are in the topic, if at all (tells a broker loss from a worker loss)."""
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                             consumer_timeout_ms=1500, group_id=None)
    found = {}
    for m in consumer:
        key = json.loads(m.value).get("idempotency_key", "") if m.value.startswith(b"{") else ""
        if key.removeprefix("http:") in client_ids:
            found[key] = f"{m.partition}:{m.offset}"
    consumer.close()
    return found


def weekly_diff(bootstrap: str, topic: str, weeks: dict) -> object:
    got = latest_weekly_counts(bootstrap, topic)
    if got == weeks:
        return True
    diff = {k: (got.get(k), v) for k, v in weeks.items() if got.get(k) != v}
    extra = {k: v for k, v in got.items() if k not in weeks}
    return f"{len(diff)} cells differ (got, want): {dict(list(diff.items())[:4])}; extra: {len(extra)}"


def latest_weekly_counts(bootstrap: str, topic: str) -> dict[tuple, tuple]:
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                             consumer_timeout_ms=1500, group_id=None)
    latest = {}
    for m in consumer:
        v = json.loads(m.value)
        latest[(v["health_area_id"], v["disease"], v["epiweek"])] = (v["cases"], v["reports"])
    consumer.close()
    return latest


@pytest.fixture
def pg_db(pg_url):
    from sebac.db import make_engine, migrate

    engine = make_engine(pg_url)
    migrate(engine)
    engine.dispose()
    return pg_url


def test_reports_over_http_become_alerts_in_postgres_with_two_workers(kafka_broker, pg_db):
    settings = stream_settings(kafka_broker.url, pg_db, "it-http")
    create_topics(settings)
    workers = [Worker(settings, f"http-w{i}", metrics_port=free_port()).start() for i in range(2)]
    try:
        from sebac.engine import build_app

        sites = areas_on_partitions(8)
        reports = make_reports(80, sites, seed=1)
        with LiveServer(build_app(settings)) as api:
            for r in reports:
                res = httpx.post(f"{api.url}/api/v1/reports", json=r, timeout=10)
                assert res.status_code == 201, res.text
                assert res.json()["report_id"] == report_id_for(f"http:{r['client_id']}")
            # a retry of an accepted report is the same report (the worker stores it once)
            assert httpx.post(f"{api.url}/api/v1/reports", json=reports[0]).status_code in (200, 201)
            bad = httpx.post(f"{api.url}/api/v1/reports", json=reports[1] | {"orgunit_id": "ML-NOWHERE"})
            assert bad.status_code == 422
        # a poison message straight on the topic: rejected with its reason, the worker keeps going
        from kafka import KafkaProducer

        producer = KafkaProducer(bootstrap_servers=kafka_broker.bootstrap, acks="all")
        producer.send(f"{settings.stream_topic_prefix}.reports", key=sites[0][1].encode(), value=b"\x00{not json")
        late = make_reports(1, sites, seed=2)[0] | {"client_id": "after-poison", "disease": "cholera"}
        producer.flush()
        producer.close()
        pipeline = build_streaming_pipeline(settings)
        assert pipeline.submit(late).status == "accepted"
        reports.append(late)

        weeks, alerts = expectations(reports, sites)

        def done():
            state = db_state(pg_db)
            return state[0] == (len(reports), len(reports)) and state[1].keys() == alerts.keys() \
                and len(state[3]) == 2 or (missing(pg_db, reports, sites), len(state[3]))
        wait_for(done, 60, workers, "reports, alerts and rejected items in PostgreSQL")
        (n, _), stored_alerts, n_alerts, rejected = db_state(pg_db)
        assert n_alerts == (len(alerts), 0) and stored_alerts == alerts
        assert sorted(e[0]["key"] for e in rejected) == ["report.orgunit.unknown", "stream.message.undecodable"]
        assert all(w.alive() for w in workers)
        assert all(w.consumed() > 0 for w in workers), "both workers own partitions of the reports topic"
        wait_for(lambda: all("watching the group coordination" in w.log_path.read_text() for w in workers), 20,
                 workers, "each worker watching its consumer's group coordination")
        backlog = 'sebac_pipeline_backlog_messages{topic="reports",worker="stream"}'
        wait_for(lambda: all(w.metric(backlog) == 0 for w in workers) or [w.metric(backlog) for w in workers],
                 20, workers, "each worker's consumer lag gauge measured and back to 0")
        wait_for(lambda: weekly_diff(kafka_broker.bootstrap, f"{settings.stream_topic_prefix}.weekly-counts", weeks),
                 30, workers, "closed epi weeks with exact counts")
    finally:
        for w in workers:
            w.stop()


def test_kill9_a_worker_mid_stream_loses_nothing_and_counts_once(kafka_broker, pg_db):
    settings = stream_settings(kafka_broker.url, pg_db, "it-kill")
    create_topics(settings)
    pipeline = build_streaming_pipeline(settings)
    sites = areas_on_partitions(12)
    reports = make_reports(480, sites, seed=3)
    a = Worker(settings, "kill-a", metrics_port=free_port()).start()
    b = Worker(settings, "kill-b", metrics_port=free_port()).start()
    workers = [a, b]
    try:
        def submit(chunk):
            for r in chunk:
                assert pipeline.submit(r).status in ("accepted", "duplicate")

        submit(reports[:120])
        wait_for(lambda: (a.consumed() > 0 or b.consumed() > 0) or "no worker consuming", 60, workers,
                 "a worker owning partitions")
        try:  # usually both share the partitions quickly; the test needs a victim that owns some
            wait_for(lambda: (a.consumed() > 0 and b.consumed() > 0) or "one worker idle", 30, workers,
                     "both workers owning partitions")
        except AssertionError:
            if a.consumed() == 0:
                a, b = b, a
        name = "kill-a" if "kill-a" in a.env["SEBAC_STREAM_INSTANCE_ID"] else "kill-b"
        submit(reports[120:240])
        a.kill9()  # mid-stream: batches in flight, offsets and changelog records not committed
        submit(reports[240:360])
        submit(reports[100:200])  # client retries, some of reports the killed worker held
        time.sleep(2)
        a = Worker(settings, name).start()  # the crashed worker comes back (same instance id)
        workers = [a, b]
        submit(reports[360:])
        weeks, alerts = expectations(reports, sites)

        def settled():
            state = db_state(pg_db)
            if state[0] == (len(reports), len(reports)) and state[1] == alerts:
                return True
            engine = sa.create_engine(pg_db)
            with engine.connect() as c:
                keys = set(c.execute(sa.text("SELECT idempotency_key FROM reports")).scalars())
            engine.dispose()
            lost = {r["client_id"] for r in reports if f"http:{r['client_id']}" not in keys}
            return (state[0], len(state[1]), state[3], "missing ones in the topic at",
                    in_topic(kafka_broker.bootstrap, f"{settings.stream_topic_prefix}.reports", lost)
                    if 0 < len(lost) < 5 else len(lost))
        wait_for(settled, 60, workers, "every report stored once and every alert once")
        (_, _), stored_alerts, n_alerts, _ = db_state(pg_db)
        assert n_alerts == (len(alerts), 0), "no duplicate alert"
        assert stored_alerts == alerts, "alert case counts: each signal applied exactly once"
        topic = f"{settings.stream_topic_prefix}.weekly-counts"
        wait_for(lambda: weekly_diff(kafka_broker.bootstrap, topic, weeks), 40, workers,
                 "weekly counts equal to the reports sent (none counted twice)")

        # worker state lost: a new group with new changelogs rebuilds it from the reports topic
        a.stop()
        b.stop()
        fresh = stream_settings(kafka_broker.url, pg_db, "it-kill", stream_app_id="it-kill-rebuilt")
        since = dt.datetime.now(dt.timezone.utc)
        c = Worker(fresh, "kill-rebuild").start()
        workers = [c]

        def rebuilt():
            from kafka import KafkaConsumer

            consumer = KafkaConsumer(topic, bootstrap_servers=kafka_broker.bootstrap, auto_offset_reset="earliest",
                                     consumer_timeout_ms=1500)
            got = {}
            for m in consumer:
                v = json.loads(m.value)
                if dt.datetime.fromisoformat(v["closed_at"]) >= since:
                    got[(v["health_area_id"], v["disease"], v["epiweek"])] = (v["cases"], v["reports"])
            consumer.close()
            return got == weeks or f"{len(got)}/{len(weeks)} cells"
        wait_for(rebuilt, 60, workers, "weekly counts rebuilt from the reports topic")
        state = db_state(pg_db)
        assert state[0] == (len(reports), len(reports)) and state[2] == (len(alerts), 0) and state[1] == alerts
    finally:
        for w in workers:
            w.stop()


def commit_group(bootstrap: str, group: str, offsets: dict[tuple[str, int], int]) -> None:
    """Commit offsets for a consumer group that has no member (what a faulty consumer's commit does)."""
    from kafka import KafkaConsumer, TopicPartition
    from kafka.structs import OffsetAndMetadata

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    tps = [TopicPartition(t, p) for t, p in offsets]
    consumer.assign(tps)
    consumer.commit({TopicPartition(t, p): OffsetAndMetadata(o, "", -1) for (t, p), o in offsets.items()})
    consumer.close()


def end_offsets(bootstrap: str, topic: str) -> dict[tuple[str, int], int]:
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    ends = consumer.end_offsets([TopicPartition(topic, p) for p in range(PARTITIONS)])
    consumer.close()
    return {(tp.topic, tp.partition): o for tp, o in ends.items()}


def test_records_the_consumer_skipped_are_read_back_and_counted_once(kafka_broker, pg_db):
    settings = stream_settings(kafka_broker.url, pg_db, "it-skip", stream_sweep_interval=1.0)
    topic = f"{settings.stream_topic_prefix}.reports"
    create_topics(settings)
    pipeline = build_streaming_pipeline(settings)
    sites = areas_on_partitions(PARTITIONS)  # report i goes to partition i % PARTITIONS
    reports = make_reports(40, sites, seed=5)
    skipped = reports[8:24]
    after = [r for i, r in enumerate(reports[24:], start=24) if i % PARTITIONS in (0, 1)]

    def stored() -> set[str]:
        engine = sa.create_engine(pg_db)
        with engine.connect() as c:
            keys = set(c.execute(sa.text("SELECT idempotency_key FROM reports")).scalars())
        engine.dispose()
        return {k.removeprefix("http:") for k in keys}

    w = Worker(settings, "skip-w1")
    w.env.pop("SEBAC_STREAM_INSTANCE_ID")  # dynamic membership: the group is empty once it stops
    w.start()
    try:
        for r in reports[:8]:
            assert pipeline.submit(r).status == "accepted"
        wait_for(lambda: len(stored()) == 8 or len(stored()), 60, [w], "the first reports stored")
    finally:
        w.stop()
    for r in skipped:
        assert pipeline.submit(r).status == "accepted"
    # the group's offsets jump over them, as a consumer committing past unhandled records would
    commit_group(kafka_broker.bootstrap, settings.stream_app_id, end_offsets(kafka_broker.bootstrap, topic))
    for r in after:  # partitions 0 and 1 get later records (a batch above the mark); 2 and 3 do not
        assert pipeline.submit(r).status == "accepted"
    w2 = Worker(settings, "skip-w2", metrics_port=free_port())
    w2.env.pop("SEBAC_STREAM_INSTANCE_ID")
    w2.start()
    try:
        sent = {r["client_id"] for r in reports[:24] + after}
        wait_for(lambda: stored() == sent or sorted(sent - stored()), 60, [w2], "skipped reports read back")
        # every skipped report was read back (and maybe one of the first worker's last ones, if it stopped
        # before saving its mark: read back for nothing, stored and counted once all the same)
        assert len(skipped) <= w2.metric('sebac_stream_read_back_total{topic="reports"}') <= len(skipped) + 8
        weeks, _ = expectations(reports[:24] + after, sites)
        wait_for(lambda: weekly_diff(kafka_broker.bootstrap, f"{settings.stream_topic_prefix}.weekly-counts",
                                     weeks), 30, [w2], "weekly counts including the read-back reports")
        log = w2.log_path.read_text()
        assert log.count("not known as handled") >= PARTITIONS, "two batch gaps and two end gaps"
    finally:
        w2.stop()


def test_a_database_refusing_writes_stalls_the_worker_and_loses_nothing(kafka_broker, pg_db):
    """faust acks a batch whose agent raised: the worker must retry it, never pass over it."""
    settings = stream_settings(kafka_broker.url, pg_db, "it-refuse")
    create_topics(settings)
    engine = sa.create_engine(pg_db)
    with engine.begin() as c:  # the database refuses every new report (as a full disk or a lock would)
        c.execute(sa.text("CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$ "
                          "LANGUAGE plpgsql"))
        c.execute(sa.text("CREATE TRIGGER refuse BEFORE INSERT ON reports FOR EACH ROW EXECUTE FUNCTION refuse()"))
    pipeline = build_streaming_pipeline(settings)
    reports = make_reports(12, areas_on_partitions(PARTITIONS), seed=7)
    w = Worker(settings, "refuse-w", metrics_port=free_port()).start()
    retries = 'sebac_stream_batch_retries_total{topic="reports"}'
    try:
        for r in reports:
            assert pipeline.submit(r).status == "accepted"
        wait_for(lambda: (w.metric(retries) or 0) >= 3 or w.metric(retries), 60, [w], "the worker retrying")
        assert db_state(pg_db)[0] == (0, 0)
        with engine.begin() as c:
            c.execute(sa.text("DROP TRIGGER refuse ON reports"))
        wait_for(lambda: db_state(pg_db)[0] == (len(reports), len(reports)) or db_state(pg_db)[0], 60, [w],
                 "every report stored once the database accepts writes again")
        assert w.alive() and w.consumed() == len(reports)
    finally:
        w.stop()
        engine.dispose()


def test_broker_unreachable_at_publish_answers_503_and_loses_nothing(pg_db):
    broker = start_broker()  # our own broker: this test stops it
    settings = stream_settings(broker.url, pg_db, "it-down", stream_publish_timeout=2)
    create_topics(settings)
    worker = None
    try:
        from sebac.engine import build_app

        sites = areas_on_partitions(2)
        before, during = make_reports(3, sites, seed=4), make_reports(3, sites, seed=5)
        with LiveServer(build_app(settings)) as api:
            for r in before:
                assert httpx.post(f"{api.url}/api/v1/reports", json=r, timeout=10).status_code == 201
            broker.pause()
            for r in during:
                res = httpx.post(f"{api.url}/api/v1/reports", json=r, timeout=30)
                assert res.status_code == 503 and res.json()["error"]["key"] == "broker.unavailable"
            broker.start()
            for r in during:  # the client retries with the same idempotency keys
                deadline = time.monotonic() + 30
                while (res := httpx.post(f"{api.url}/api/v1/reports", json=r, timeout=30)).status_code == 503:
                    assert time.monotonic() < deadline, "broker did not come back"
                    time.sleep(0.5)
                assert res.status_code == 201, res.text
        worker = Worker(settings, "down-w").start()
        sent = before + during
        wait_for(lambda: db_state(pg_db)[0] == (len(sent), len(sent)) or db_state(pg_db)[0], 40, [worker],
                 "every report stored exactly once")
        engine = sa.create_engine(pg_db)
        with engine.connect() as c:
            keys = set(c.execute(sa.text("SELECT idempotency_key FROM reports")).scalars())
        engine.dispose()
        assert keys == {f"http:{r['client_id']}" for r in sent}
    finally:
        if worker:
            worker.stop()
        broker.stop()


def test_topic_names_follow_the_prefix():
    assert Topics.with_prefix("it").reports == "it.reports"
