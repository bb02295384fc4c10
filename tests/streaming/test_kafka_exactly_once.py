"""Exactly once end to end on Apache Kafka: a replay with client resends and late arrivals, through the
topics and two workers, ends with the same database as the embedded engine fed the same input: the same
reports, the same weekly counts (database and weekly-counts topic) and the same alerts, compared one by
one (disease, org unit and its level, epi week, the rules that fired, level, severity, cases).

The size is ``SEBAC_EXACTLY_ONCE_REPORTS`` (default 2,000 reports, +10 % duplicates, 20 % out of order):
the issue's 100k runs by hand (``make test-exactly-once-100k``; measured in docs/streaming.md) because a
full worker stores a few hundred reports/s on the 2-core CI machine, and 100k would take longer than
the whole suite's budget.

The health areas are chosen so that each district's areas are on one partition: a district spread
over partitions is seen by the workers in an order that depends on how fast each partition goes, and
the rules comparing weeks (malaria's ``ratio``) depend on that order at district level
(docs/streaming.md, "Alerts of rules comparing weeks").
"""
from __future__ import annotations

import collections
import datetime as dt
import os
import random
import time

import sqlalchemy as sa

from detectors.epiweek import epiweek
from sebac.settings import Settings
from sebac.streaming.engine import (
    build_streaming_pipeline,
    create_topics,
    embedded_pipeline,
)
from tests.streaming.harness import (
    Worker,
    areas_on_partitions,
    latest_weekly_counts,
    make_reports,
    stored_count,
    stream_settings,
    submit_all,
    wait_for,
)

REPORTS = int(os.environ.get("SEBAC_EXACTLY_ONCE_REPORTS", "2000"))
DUPLICATES, LATE = 0.10, 0.20
#: health areas the reports are spread over: more for a larger replay (at most 32 keep every
#: district on one partition), so that an area's weeks stay about as full as in the default size
AREAS = 16 if REPORTS <= 5000 else 32


def replay(reports: list[dict], seed: int) -> list[dict]:
    """The input as clients send it: 10 % resent (same idempotency key), 20 % arriving out of order."""
    rng = random.Random(seed)
    stream = reports + rng.sample(reports, int(len(reports) * DUPLICATES))
    rng.shuffle(stream[len(reports):])
    late = rng.sample(range(len(stream)), int(len(stream) * LATE))
    moved = [stream[i] for i in late]
    rest = [r for i, r in enumerate(stream) if i not in set(late)]
    for r in moved:  # each one lands at a random later place
        rest.insert(rng.randrange(len(rest) + 1), r)
    return rest


def database(url: str) -> dict:
    """What both engines must agree on: reports, weekly counts by health area, and every alert."""
    engine = sa.create_engine(url)
    with engine.connect() as c:
        reports = {k: (o, d, n, str(on)) for k, o, d, n, on in c.execute(sa.text(
            "SELECT idempotency_key, orgunit_id, disease, cases, onset_date FROM reports"))}
        weeks: dict[tuple, list[int]] = collections.defaultdict(lambda: [0, 0])
        for area, disease, cases, onset in c.execute(sa.text(
                "SELECT health_area_id, disease, cases, onset_date FROM reports")):
            onset = onset if isinstance(onset, dt.date) else dt.date.fromisoformat(onset)
            cell = weeks[(area, disease, str(epiweek(onset)))]
            cell[0] += cases
            cell[1] += 1
        fired: dict[int, set[str]] = collections.defaultdict(set)  # alert → the rules' dedup keys
        for alert_id, key in c.execute(sa.text("SELECT alert_id, dedup_key FROM alert_signals")):
            fired[alert_id].add(key)
        # the alert's dedup key names its disease, org unit and epi week
        alerts = collections.Counter(
            (key, level, disease, unit, detector, tuple(sorted(fired[alert_id])), at, severity, float(cases))
            for alert_id, key, level, disease, unit, detector, at, severity, cases in c.execute(sa.text(
                "SELECT alert_id, dedup_key, orgunit_level, disease, orgunit_id, detector, level, severity, cases "
                "FROM alerts")))
    engine.dispose()
    return {"reports": reports, "weeks": {k: tuple(v) for k, v in weeks.items()}, "alerts": alerts}


def test_a_replay_with_duplicates_and_late_reports_equals_the_embedded_engine(kafka_broker, pg_db, tmp_path):
    sites = areas_on_partitions(AREAS, whole_districts=True)
    reports = make_reports(REPORTS, sites, seed=31)
    stream = replay(reports, seed=31)
    assert len(stream) == int(REPORTS * (1 + DUPLICATES))

    t0 = time.monotonic()
    embedded = embedded_pipeline(Settings(environment="test", database_url=f"sqlite:///{tmp_path / 'e.db'}"))
    statuses: collections.Counter = collections.Counter()
    for i, r in enumerate(stream, 1):
        statuses[embedded.submit(r).status] += 1
        if i % 10_000 == 0:
            print(f"embedded engine: {i} messages in {time.monotonic() - t0:.0f} s", flush=True)
    assert statuses == {"accepted": REPORTS, "duplicate": int(REPORTS * DUPLICATES)}
    want = database(f"sqlite:///{tmp_path / 'e.db'}")
    assert any(k[2] == "malaria" for k in want["alerts"]), "the input raises threshold alerts too"
    print(f"\nembedded engine: {len(stream)} messages in {time.monotonic() - t0:.0f} s, "
          f"{sum(want['alerts'].values())} alerts")

    settings = stream_settings(kafka_broker.url, pg_db, "it-once")
    create_topics(settings)
    workers = [Worker(settings, f"once-w{i}").start() for i in range(2)]
    try:
        t0 = time.monotonic()
        submit_all(build_streaming_pipeline(settings), stream, progress_every=10_000)
        print(f"published: {len(stream)} messages in {time.monotonic() - t0:.0f} s")

        def same():
            if (n := stored_count(pg_db)) < REPORTS:
                return f"{n} of {REPORTS} reports stored"
            got = database(pg_db)
            if all(got[k] == want[k] for k in want):
                return True
            return {k: (len(got[k]), len(want[k])) for k in want} | {
                "only embedded": sorted((want["alerts"] - got["alerts"]).elements())[:4],
                "only stream": sorted((got["alerts"] - want["alerts"]).elements())[:4]}
        wait_for(same, 240 + REPORTS / 50, workers, "the stream's database equal to the embedded engine's")
        print(f"workers: equal to the embedded engine {time.monotonic() - t0:.0f} s after the first message")
        got = database(pg_db)
        assert got["reports"] == want["reports"]
        assert got["weeks"] == want["weeks"]
        assert got["alerts"] == want["alerts"], "the same alerts, rules, levels and cases, none doubled"
        wait_for(lambda: latest_weekly_counts(kafka_broker.bootstrap, f"{settings.stream_topic_prefix}.weekly-counts")
                 == want["weeks"] or "weekly counts topic behind", 60, workers, "closed weeks equal the embedded counts")
    finally:
        for w in workers:
            w.stop()
