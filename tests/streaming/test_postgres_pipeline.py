"""The embedded pipeline on a real PostgreSQL server: migrations (twice) and report → alert, exactly once."""
from __future__ import annotations

import sqlalchemy as sa

from sebac.db import make_engine, migrate
from sebac.pipeline import Pipeline

REPORT = {"client_id": "pg-1", "orgunit_id": "ML-MOP-DJENNE-MOUGNA-S1", "disease": "cholera", "cases": 1,
          "onset_date": "2026-11-18"}


def test_migrations_apply_twice_on_postgres(pg_url):
    engine = make_engine(pg_url)
    migrate(engine)
    migrate(engine)  # idempotent: already at heads
    tables = set(sa.inspect(engine).get_table_names())
    assert {"reports", "rejected_items", "alerts", "alert_events", "alert_signals"} <= tables
    engine.dispose()


def test_report_to_alert_on_postgres_exactly_once(pg_url, pyramid, diseases, clock):
    engine = make_engine(pg_url)
    migrate(engine)
    pipeline = Pipeline(engine, pyramid, diseases, clock=clock)
    first = pipeline.submit(REPORT)
    assert first.status == "accepted" and len(first.alerts) == 1
    assert pipeline.submit(REPORT).status == "duplicate"
    merged = pipeline.submit(REPORT | {"client_id": "pg-2", "cases": 2}).alerts[0]
    assert merged.alert_id == first.alerts[0].alert_id and merged.cases == 3
    with engine.connect() as conn:
        assert pipeline.reports.count(conn) == 2 and pipeline.alerts.count(conn) == 1
        assert [e.type for e in pipeline.alerts.events(conn, merged.alert_id)] == ["created", "signal_merged"]
    engine.dispose()
