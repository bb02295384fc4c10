"""Faults that production brings, on Apache Kafka: the broker restarted mid-stream, workers killed with
``kill -9`` again and again, a worker lost for good (its partitions move) and a new one joining.

Every test ends as a run without faults would: each report stored once, each health-area alert once
with its exact cases, exact weekly counts, and one ``new`` message queued per alert (no duplicate
notification).
"""
from __future__ import annotations

import random
import time

from kafka.errors import KafkaError

from sebac.streaming.engine import build_streaming_pipeline, create_topics
from tests.servers import free_port
from tests.streaming.harness import (
    PARTITIONS,
    Worker,
    areas_on_partitions,
    db_state,
    expectations,
    group_members,
    make_reports,
    notifications_diff,
    settled,
    stored_count,
    stream_settings,
    submit_all,
    wait_for,
    weekly_diff,
)


def assert_as_without_faults(settings, bootstrap: str, url: str, reports, sites, workers) -> None:
    weeks, alerts = expectations(reports, sites)
    prefix = settings.stream_topic_prefix
    wait_for(lambda: settled(url, reports, alerts, bootstrap, f"{prefix}.reports"), 120, workers,
             "every report stored once and every alert with its exact cases")
    _, stored_alerts, n_alerts, _ = db_state(url)
    assert n_alerts == (len(alerts), 0), "no duplicate alert"
    assert stored_alerts == alerts, "each signal applied exactly once"
    wait_for(lambda: notifications_diff(url, bootstrap, f"{prefix}.notifications"), 30, workers,
             "one notification per alert event, none twice")
    wait_for(lambda: weekly_diff(bootstrap, f"{prefix}.weekly-counts", weeks), 60, workers,
             "weekly counts equal to the reports sent (none counted twice)")


def test_broker_restarted_mid_stream_loses_nothing_and_doubles_nothing(own_broker, pg_db):
    broker = own_broker
    settings = stream_settings(broker.url, pg_db, "it-bounce")
    create_topics(settings)
    sites = areas_on_partitions(8)
    reports = make_reports(360, sites, seed=11)
    pipeline = build_streaming_pipeline(settings)
    workers = [Worker(settings, f"bounce-w{i}", metrics_port=free_port()).start() for i in range(2)]
    try:
        submit_all(pipeline, reports[:160])
        wait_for(lambda: stored_count(pg_db) >= 20 or stored_count(pg_db), 60, workers, "the workers busy")
        broker.pause()  # by pid, SIGTERM (controlled shutdown) while the workers have a backlog
        time.sleep(2)
        broker.start()  # same ports, same log dir
        submit_all(pipeline, reports[120:260])  # 40 resends of reports the broker had taken before
        wait_for(lambda: stored_count(pg_db) >= 200 or stored_count(pg_db), 90, workers, "the workers back")
        broker.crash()  # by pid, SIGKILL: no shutdown at all
        broker.start()  # log recovery on the same log dir
        submit_all(pipeline, reports[260:])
        assert_as_without_faults(settings, broker.bootstrap, pg_db, reports, sites, workers)
        assert all(w.alive() or w.restarts for w in workers)
    finally:
        for w in workers:
            w.stop()


KILLS = 10


def test_workers_killed_with_kill9_ten_times_end_as_a_run_without_faults(kafka_broker, pg_db):
    settings = stream_settings(kafka_broker.url, pg_db, "it-kill9x")
    create_topics(settings)
    sites = areas_on_partitions(12)
    rng = random.Random(16)
    reports = make_reports(660, sites, seed=16)
    chunks = [reports[i::KILLS + 1] for i in range(KILLS + 1)]
    pipeline = build_streaming_pipeline(settings)
    workers = {name: Worker(settings, name).start() for name in ("kill9x-a", "kill9x-b")}
    try:
        for i in range(KILLS):
            submit_all(pipeline, chunks[i] + rng.sample(reports[:len(chunks[0]) * (i + 1)], 10))  # + resends
            time.sleep(rng.uniform(0.3, 3.0))  # a random point: mid-batch, mid-commit, mid-rebalance, start-up
            victim = rng.choice(sorted(workers))
            workers[victim].kill9()
            time.sleep(rng.uniform(0.0, 1.5))
            workers[victim] = Worker(settings, victim).start()  # same static instance id
        submit_all(pipeline, chunks[KILLS])
        assert_as_without_faults(settings, kafka_broker.bootstrap, pg_db, reports, sites, list(workers.values()))
    finally:
        for w in workers.values():
            w.stop()


def test_a_lost_workers_partitions_move_to_the_other_and_a_new_one_takes_some_back(kafka_broker, pg_db):
    settings = stream_settings(kafka_broker.url, pg_db, "it-rebal")
    create_topics(settings)
    topic, group = f"{settings.stream_topic_prefix}.reports", settings.stream_app_id
    sites = areas_on_partitions(8)
    reports = make_reports(240, sites, seed=21)
    pipeline = build_streaming_pipeline(settings)
    a, b = (Worker(settings, f"rebal-{n}", metrics_port=free_port()).start() for n in "ab")
    workers = [a, b]
    everything = list(range(PARTITIONS))

    def owners(n: int):
        try:
            members = group_members(kafka_broker.bootstrap, group, topic)
        except KafkaError as exc:  # no coordinator yet for a group nobody joined
            return repr(exc)
        shared = sorted(p for ps in members.values() for p in ps) == everything
        return (len(members) == n and all(members.values()) and shared) or members

    try:
        wait_for(lambda: owners(2), 60, workers, "two workers sharing the partitions")
        submit_all(pipeline, reports[:80])
        wait_for(lambda: stored_count(pg_db) == 80 or stored_count(pg_db), 60, workers, "the first reports")
        a.kill9()  # lost for good: the group evicts it after the session timeout
        wait_for(lambda: owners(1), 60, workers, "every partition moved to the survivor")
        before = b.consumed()
        submit_all(pipeline, reports[80:160])
        wait_for(lambda: stored_count(pg_db) == 160 or stored_count(pg_db), 60, workers, "processing going on")
        assert b.consumed() - before == 80, "the survivor took the lost worker's partitions"
        c = Worker(settings, "rebal-c", metrics_port=free_port()).start()
        workers.append(c)
        wait_for(lambda: owners(2), 60, workers, "the new worker taking partitions back")
        submit_all(pipeline, reports[160:])
        assert_as_without_faults(settings, kafka_broker.bootstrap, pg_db, reports, sites, workers)
        assert c.consumed() > 0 and b.alive() and c.alive()
    finally:
        for w in workers:
            w.stop()
