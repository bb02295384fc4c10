"""The scale-out harness on real servers: ``sebac worker`` subprocesses (faust-streaming) on Apache Kafka
(``kafka_broker``, KRaft) and PostgreSQL, reports made for every partition, and what the database and the
topics hold afterwards."""
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
import sqlalchemy as sa

from ingest.pyramid import demo_pyramid_path, load_pyramid
from sebac.settings import Settings
from sebac.streaming.consumer import EXIT_GROUP_LOST
from sebac.streaming.topics import partition_for

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

    def start(self) -> Worker:
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


def areas_on_partitions(n: int, whole_districts: bool = False) -> list[tuple[str, str]]:
    """(site, health area) pairs spread over every partition.

    ``whole_districts``: only areas whose district has all its chosen areas on one partition. A
    worker sees the reports of one partition in the order they were sent, but the reports of a
    district spread over partitions in an order that depends on how fast each partition goes, and
    the rules comparing weeks (``ratio``, ``trend``) at district level depend on that order."""
    pyramid = load_pyramid(demo_pyramid_path())
    by_partition: dict[int, list] = collections.defaultdict(list)
    district_on: dict[str, int] = {}
    for site in pyramid.at_level("site"):
        area = pyramid.ancestor_at(site.id, "health_area").id
        p = partition_for(area, PARTITIONS)
        if whole_districts:
            district = pyramid.ancestor_at(area, "district").id
            if district_on.setdefault(district, p) != p:
                continue
        if area not in {a for _, a in by_partition[p]}:
            by_partition[p].append((site.id, area))
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




def notifications_diff(url: str, bootstrap: str, topic: str) -> object:
    """True when the notifications topic asks to tell people exactly once per alert event that calls for it
    (``created``, ``escalated`` in the database), every alert included: a resend of a record carries the
    same ``dedup_key`` (consumers dedup on it), a doubled event would carry a new one."""
    from kafka import KafkaConsumer

    engine = sa.create_engine(url)
    with engine.connect() as c:
        want = {f"notify:v1:{a}:{s}" for a, s in c.execute(sa.text(
            "SELECT alert_id, seq FROM alert_events WHERE type IN ('created', 'escalated')"))}
        alerts = set(c.execute(sa.text("SELECT alert_id FROM alerts")).scalars())
    engine.dispose()
    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                             consumer_timeout_ms=1500, group_id=None)
    got = {json.loads(m.value)["dedup_key"] for m in consumer}
    consumer.close()
    told = {int(k.split(":")[2]) for k in got}
    if got == want and told == alerts:
        return True
    return f"{len(got)} notified, {len(want)} wanted; extra {sorted(got - want)[:3]}; missing {sorted(want - got)[:3]}"


def group_members(bootstrap: str, group: str, topic: str) -> dict[str, list[int]]:
    """The consumer group's members (static instance id, else member id) and their partitions of ``topic``."""
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
    try:
        info = admin.describe_groups([group])[group]
    finally:
        admin.close()
    out = {}
    for m in info["members"]:
        assignment = m.get("member_assignment") or {}
        owned = [p for t in assignment.get("assigned_partitions", []) if t["topic"] == topic for p in t["partitions"]]
        out[m.get("group_instance_id") or m["member_id"]] = sorted(owned)
    return out


def settled(url: str, reports: list[dict], alerts: dict, bootstrap: str, topic: str):
    """True once every report is stored once and every health-area alert has its exact cases; else why not."""
    state = db_state(url)
    if state[0] == (len(reports), len(reports)) and state[1] == alerts:
        return True
    engine = sa.create_engine(url)
    with engine.connect() as c:
        keys = set(c.execute(sa.text("SELECT idempotency_key FROM reports")).scalars())
    engine.dispose()
    lost = {r["client_id"] for r in reports if f"http:{r['client_id']}" not in keys}
    return (state[0], f"{len(state[1])}/{len(alerts)} alerts", state[3], "missing ones in the topic at",
            in_topic(bootstrap, topic, lost) if 0 < len(lost) < 5 else len(lost))


def submit_all(pipeline, reports: list[dict], timeout: float = 60, progress_every: int = 0) -> None:
    """Submit like a client does: a report the broker did not take (it is restarting) is sent again."""
    t0 = time.monotonic()
    for i, r in enumerate(reports, 1):
        if progress_every and i % progress_every == 0:
            print(f"published {i} messages in {time.monotonic() - t0:.0f} s", flush=True)
        deadline = time.monotonic() + timeout
        while True:
            try:
                status = pipeline.submit(r).status
            except Exception as exc:  # broker.unavailable while the broker restarts: the client retries
                status = repr(exc)
            if status in ("accepted", "duplicate"):
                break
            assert time.monotonic() < deadline, f"report {r['client_id']} never accepted: {status}"
            time.sleep(0.5)


def stored_count(url: str) -> int:
    engine = sa.create_engine(url)
    with engine.connect() as c:
        n = c.execute(sa.text("SELECT count(*) FROM reports")).scalar()
    engine.dispose()
    return n
