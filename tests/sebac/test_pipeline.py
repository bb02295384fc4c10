"""Embedded pipeline: report → immediate case definition → alert, exactly once, nothing lost."""
from __future__ import annotations

from ingest.contracts import Channel

REPORT = {"client_id": "c-1", "orgunit_id": "ML-MOP-DJENNE-MOUGNA-S1", "disease": "cholera", "cases": 1,
          "onset_date": "2026-11-18"}


def test_one_cholera_case_raises_one_alert(pipeline):
    res = pipeline.submit(REPORT)
    assert res.status == "accepted" and len(res.alerts) == 1
    alert = res.alerts[0]
    assert (alert.disease, alert.orgunit_id, alert.status.value) == ("cholera", "ML-MOP-DJENNE-MOUGNA", "open")
    with pipeline.db.connect() as conn:
        events = pipeline.alerts.events(conn, alert.alert_id)
    assert [e.type for e in events] == ["created"]


def test_repeat_is_a_duplicate_and_counted_once(pipeline):
    assert pipeline.submit(REPORT).status == "accepted"
    again = pipeline.submit(REPORT)
    assert again.status == "duplicate" and not again.alerts
    with pipeline.db.connect() as conn:
        assert pipeline.reports.count(conn) == 1 and pipeline.alerts.count(conn) == 1


def test_second_case_same_area_and_week_merges(pipeline):
    a = pipeline.submit(REPORT).alerts[0]
    b = pipeline.submit(REPORT | {"client_id": "c-2", "orgunit_id": "ML-MOP-DJENNE-MOUGNA-S2", "cases": 2}).alerts[0]
    assert a.alert_id == b.alert_id and b.cases == 3 and b.signal_count == 2


def test_non_immediate_disease_raises_nothing(pipeline):
    assert pipeline.submit(REPORT | {"disease": "malaria", "cases": 5}).alerts == []


def test_rejected_item_is_kept_with_reason(pipeline):
    res = pipeline.submit(REPORT | {"orgunit_id": "ML-NOWHERE"}, Channel.http)
    assert res.status == "rejected"
    with pipeline.db.connect() as conn:
        kept = pipeline.rejected.list(conn)
    assert len(kept) == 1 and kept[0].errors[0]["key"] == "report.orgunit.unknown"
    assert "ML-NOWHERE" in kept[0].raw
