"""Stream workers on Apache Kafka and PostgreSQL: reports over HTTP shared by two workers, and a worker
killed with ``kill -9`` mid-stream.

Each test has its own topics (prefix), consumer group (app id) and database, on the session's servers.
"""
from __future__ import annotations

import datetime as dt
import json
import time

import httpx
import sqlalchemy as sa

from sebac.streaming.codec import report_id_for
from sebac.streaming.engine import build_streaming_pipeline, create_topics
from tests.conftest import LiveServer
from tests.servers import free_port
from tests.streaming.harness import (
    Worker,
    areas_on_partitions,
    db_state,
    expectations,
    in_topic,
    make_reports,
    missing,
    stream_settings,
    wait_for,
    weekly_diff,
)


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
        _, stored_alerts, n_alerts, rejected = db_state(pg_db)
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
        since = dt.datetime.now(dt.UTC)
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
