"""The ingest repositories on PostgreSQL: exactly once across engines, lateness queue, duplicates,
rejected filters (JSON cast), quality receipts, history upsert."""
from __future__ import annotations

import datetime as dt

import pytest

from ingest.contracts import Channel
from ingest.epiweek import EpiWeek
from ingest.history import HistoryRow, history_counts, store_history
from ingest.quality import load_receipts
from ingest.reevaluation import pending, pop_due
from sebac.db import make_engine, migrate
from sebac.pipeline import Pipeline
from tests.conftest import NOW

pytestmark = pytest.mark.integration

REPORT = {"client_id": "pg-1", "orgunit_id": "ML-MOP-DJENNE-MOUGNA-S1", "disease": "malaria", "cases": 2,
          "onset_date": "2026-11-03", "report_date": "2026-11-12"}


def test_ingest_on_postgres(pg_url, pyramid, diseases, clock):
    first_engine = make_engine(pg_url)
    migrate(first_engine)
    migrate(first_engine)  # twice is harmless
    one = Pipeline(first_engine, pyramid, diseases, clock=clock)
    res = one.submit(REPORT)
    assert res.status == "accepted" and res.notes.late
    second_engine = make_engine(pg_url)  # another API replica on the same database
    two = Pipeline(second_engine, pyramid, diseases, clock=clock)
    assert two.submit(REPORT).status == "duplicate"
    flagged = two.submit(REPORT | {"client_id": "pg-2"}, Channel.sms, idempotency_key="sms:generic:9")
    assert flagged.notes.possible_duplicate_of == [res.report.report_id]
    assert two.submit(REPORT | {"client_id": "pg-3", "orgunit_id": "ML-NOWHERE"}).status == "rejected"
    with second_engine.begin() as conn:
        assert [(q.epiweek, q.report_count) for q in pending(conn)] == [("2026-W45", 2)]
        assert len(pop_due(conn, NOW)) == 1 and pending(conn) == []
        assert len(two.rejected.list(conn, reason="report.orgunit.unknown")) == 1
        assert two.rejected.list(conn, reason="report.disease.unknown") == []
        receipts = load_receipts(conn, EpiWeek(2026, 46), NOW)
        assert receipts["ML-MOP-DJENNE-MOUGNA-S1"].reports == 2
        assert receipts["ML-MOP-DJENNE-MOUGNA-S1"].flagged == 1
        store_history(conn, [HistoryRow("ML-MOP-DJENNE", "malaria", 2025, 46, 7)], now=NOW)
        store_history(conn, [HistoryRow("ML-MOP-DJENNE", "malaria", 2025, 46, 9)], now=NOW + dt.timedelta(hours=1))
        assert history_counts(conn, "ML-MOP-DJENNE", "malaria") == [(2025, 46, 9)]
    first_engine.dispose()
    second_engine.dispose()


def test_rejected_item_with_nul_bytes_is_kept_on_postgres(pg_url, pyramid, diseases, clock):
    """PostgreSQL text cannot hold NUL: the raw item is kept with NUL written as \\x00, not lost."""
    engine = make_engine(pg_url)
    migrate(engine)
    pipeline = Pipeline(engine, pyramid, diseases, clock=clock)
    res = pipeline.submit(REPORT | {"client_id": "nul\x00id", "orgunit_id": "ML-\x00NOWHERE"})
    assert res.status == "rejected"
    raw = pipeline.reject(Channel.http, b'{"client_id": "\x00', []).rejected_id
    with engine.connect() as conn:
        kept = {r.rejected_id: r.raw for r in pipeline.rejected.list(conn)}
    assert "\x00" not in kept[res.rejected_id] and "ML-\\u0000NOWHERE" in kept[res.rejected_id]
    assert kept[raw] == '{"client_id": "\\x00'
    engine.dispose()


def test_revisions_on_postgres(pg_url, pyramid, diseases, clock):
    """Corrections (row lock, JSON versions), the alert timeline (JSON cast) and tracker jobs."""
    from ingest.corrections import report_history
    from ingest.dhis2_jobs import create_job, finish_job, get_job
    from ingest.validation import validate_report

    engine = make_engine(pg_url)
    migrate(engine)
    pipe = Pipeline(engine, pyramid, diseases, clock=clock)
    cholera = REPORT | {"client_id": "pg-chol", "disease": "cholera", "cases": 1, "onset_date": "2026-11-18",
                        "report_date": "2026-11-19"}
    res = pipe.submit(cholera, Channel.dhis2, idempotency_key="dhis2:EvtPgChol01")
    assert res.alerts
    fixed = validate_report(cholera | {"cases": 3}, channel=Channel.dhis2, pyramid=pyramid, diseases=diseases,
                            now=NOW, idempotency_key="dhis2:EvtPgChol01")
    rev = pipe.revise(res.report.report_id, "corrected", content=fixed, source_updated_at="2026-11-20T08:00:00.000")
    assert rev.noted_alert_ids == [res.alerts[0].alert_id] and rev.revision.after.cases == 3
    pipe.revise(res.report.report_id, "retracted")
    with engine.begin() as conn:
        assert [h["change"] for h in report_history(conn, res.report.report_id)] == ["corrected", "retracted"]
        job = create_job(conn, {"atomicMode": "ALL"}, "key:x", NOW)
        finish_job(conn, job, {"status": "OK", "message": "done"}, NOW)
        assert get_job(conn, job).report == {"status": "OK", "message": "done"}
