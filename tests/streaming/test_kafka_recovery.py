"""Stream workers on Apache Kafka and PostgreSQL when something else fails: offsets committed past
unhandled records, a database refusing writes, a broker unreachable at publish time.
"""
from __future__ import annotations

import time

import httpx
import sqlalchemy as sa

from sebac.streaming.engine import build_streaming_pipeline, create_topics
from sebac.streaming.topics import Topics
from tests.conftest import LiveServer
from tests.servers import free_port, start_broker
from tests.streaming.harness import (
    PARTITIONS,
    Worker,
    areas_on_partitions,
    commit_group,
    db_state,
    end_offsets,
    expectations,
    make_reports,
    stream_settings,
    wait_for,
    weekly_diff,
)


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
