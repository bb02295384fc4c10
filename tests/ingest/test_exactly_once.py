"""Exactly once in event time: repeats across restarts, same content across channels, late reports."""
from __future__ import annotations

import datetime as dt

import pytest

from ingest.clock import FakeClock
from ingest.contracts import Channel
from ingest.duplicates import list_possible_duplicates
from ingest.lateness import LatenessPolicy, assess_lateness
from ingest.reevaluation import mark_for_reevaluation, mark_many, pending, pop_due
from sebac.db import make_engine
from sebac.pipeline import Pipeline
from tests.conftest import NOW

UTC = dt.timezone.utc
REPORT = {"client_id": "x-1", "orgunit_id": "ML-MOP-DJENNE-MOUGNA-S1", "disease": "malaria", "cases": 4,
          "onset_date": "2026-11-18"}


@pytest.mark.parametrize("onset, received, late, days_late, week", [
    # week 2026-W45 runs Mon 2 Nov .. Sun 8 Nov; closed (2 days grace) at the end of Tue 10 Nov
    ("2026-11-05", "2026-11-08T23:00", False, 0, "2026-W45"),
    ("2026-11-05", "2026-11-10T23:59", False, 0, "2026-W45"),
    ("2026-11-05", "2026-11-11T00:01", True, 1, "2026-W45"),
    ("2026-11-02", "2026-11-20T09:00", True, 10, "2026-W45"),
    ("2026-11-19", "2026-11-20T09:00", False, 0, "2026-W47"),
    ("2020-12-31", "2021-01-06T09:00", True, 1, "2020-W53"),
])
def test_lateness_is_decided_in_event_time(onset, received, late, days_late, week):
    v = assess_lateness(dt.date.fromisoformat(onset), dt.datetime.fromisoformat(received).replace(tzinfo=UTC))
    assert (v.late, v.days_late, str(v.week)) == (late, days_late, week)


def test_lateness_grace_is_configurable():
    onset, received = dt.date(2026, 11, 5), dt.datetime(2026, 11, 9, 8, tzinfo=UTC)
    assert not assess_lateness(onset, received, LatenessPolicy(closed_after_days=2)).late
    assert assess_lateness(onset, received, LatenessPolicy(closed_after_days=0)).late
    with pytest.raises(ValueError):
        LatenessPolicy(closed_after_days=-1)


def test_repeat_is_duplicate_across_restarts(db_url, db, pyramid, diseases, clock):
    first = Pipeline(db, pyramid, diseases, clock=clock)
    assert first.submit(REPORT).status == "accepted"
    db.dispose()
    second_engine = make_engine(db_url)  # a new process: new engine, same SQLite file
    second = Pipeline(second_engine, pyramid, diseases, clock=clock)
    again = second.submit(REPORT)
    assert again.status == "duplicate"
    assert second.submit(REPORT | {"cases": 99}).status == "duplicate"  # the key decides, not the content
    with second_engine.connect() as conn:
        assert second.reports.count(conn) == 1
    second_engine.dispose()


def test_late_report_is_accepted_and_marks_its_week(pipeline):
    res = pipeline.submit(REPORT | {"onset_date": "2026-11-03"})  # W45, closed on 10 Nov; now is 20 Nov
    assert res.status == "accepted" and res.notes.late and res.notes.epiweek == "2026-W45"
    pipeline.submit(REPORT | {"client_id": "x-2", "onset_date": "2026-11-04", "cases": 1})
    assert pipeline.submit(REPORT | {"client_id": "x-3"}).notes.late is False  # this week: on time
    with pipeline.db.begin() as conn:
        queued = pending(conn)
        assert [(q.area_id, q.disease, q.epiweek, q.report_count) for q in queued] == [
            ("ML-MOP-DJENNE-MOUGNA", "malaria", "2026-W45", 2)]
        assert queued[0].marked_at == NOW and "late report" in queued[0].reason
        assert [q.epiweek for q in pop_due(conn)] == ["2026-W45"]
        assert pop_due(conn) == []


def test_pop_due_waits_for_settle_delay(db):
    t0 = NOW
    with db.begin() as conn:
        mark_for_reevaluation(conn, "A", "malaria", "2026-W45", now=t0, reason="r")
        mark_for_reevaluation(conn, "A", "malaria", "2026-W46", now=t0 + dt.timedelta(minutes=10), reason="r")
        mark_for_reevaluation(conn, "A", "malaria", "2026-W45", now=t0 + dt.timedelta(minutes=20), reason="r")
        due = pop_due(conn, t0 + dt.timedelta(minutes=15), settle=dt.timedelta(minutes=10))
        assert [(d.epiweek, d.report_count) for d in due] == [("2026-W45", 2)]
        assert [d.epiweek for d in pending(conn)] == ["2026-W46"]


def test_marks_of_a_batch_queue_what_the_same_marks_one_by_one_queue(db):
    t0, t1 = NOW, NOW + dt.timedelta(minutes=5)
    marks = [("A", "malaria", "2026-W45", "late a"), ("A", "malaria", "2026-W46", "late b"),
             ("A", "malaria", "2026-W45", "late c"), ("B", "ili", "2026-W45", "late d")]
    with db.begin() as conn:  # a cell queued before the batch keeps its marked_at and reason
        mark_for_reevaluation(conn, "A", "malaria", "2026-W45", now=t0, reason="earlier")
        for area, disease, week, reason in marks:
            mark_for_reevaluation(conn, area, disease, week, now=t1, reason=reason)
        one_by_one = sorted(pending(conn), key=lambda i: (i.area_id, i.epiweek))
        pop_due(conn)
        mark_for_reevaluation(conn, "A", "malaria", "2026-W45", now=t0, reason="earlier")
        batch: dict = {}
        for area, disease, week, reason in marks:  # as IntakeRecorder.on_stored counts them
            first, n = batch.get((area, disease, week), (reason, 0))
            batch[(area, disease, week)] = (first, n + 1)
        mark_many(conn, batch, now=t1)
        mark_many(conn, {}, now=t1)
        batched = sorted(pending(conn), key=lambda i: (i.area_id, i.epiweek))
    assert batched == one_by_one
    assert [(i.area_id, i.epiweek, i.reason, i.report_count, i.marked_at) for i in batched] == [
        ("A", "2026-W45", "earlier", 3, t0), ("A", "2026-W46", "late b", 1, t1), ("B", "2026-W45", "late d", 1, t1)]


def test_same_content_from_two_channels_is_flagged_not_merged(pipeline, clock: FakeClock):
    a = pipeline.submit(REPORT, Channel.http)
    clock.advance(days=1)
    b = pipeline.submit(REPORT | {"client_id": "sms-77"}, Channel.sms, idempotency_key="sms:telerivet:77")
    assert (a.status, b.status) == ("accepted", "accepted")
    assert b.notes.possible_duplicate_of == [a.report.report_id]
    clock.advance(days=4)  # outside the 3-day window: a new event, not flagged
    c = pipeline.submit(REPORT | {"client_id": "x-9"}, Channel.http)
    assert c.notes.possible_duplicate_of == []
    d = pipeline.submit(REPORT | {"client_id": "x-10", "cases": 5}, Channel.http)  # other content
    assert d.notes.possible_duplicate_of == []
    with pipeline.db.connect() as conn:
        assert pipeline.reports.count(conn) == 4
        pairs = list_possible_duplicates(conn, district_ids=["ML-MOP-DJENNE"])
    assert [(p.report_id, p.duplicate_of, p.channels) for p in pairs] == [
        (b.report.report_id, a.report.report_id, ("sms", "http"))]


def test_site_and_its_health_area_reporting_the_same_cases_are_flagged(pipeline):
    site = pipeline.submit(REPORT, Channel.sms, idempotency_key="sms:generic:s1")
    area = pipeline.submit(REPORT | {"client_id": "tab-1", "orgunit_id": "ML-MOP-DJENNE-MOUGNA"}, Channel.dhis2)
    other_site = pipeline.submit(REPORT | {"client_id": "x-s2", "orgunit_id": "ML-MOP-DJENNE-MOUGNA-S2"})
    assert area.notes.possible_duplicate_of == [site.report.report_id]
    # two different sites of the same area are two places: not flagged against each other
    assert other_site.notes.possible_duplicate_of == [area.report.report_id]


def test_recording_a_pair_twice_or_both_ways_keeps_one(pipeline, clock):
    from ingest.duplicates import record_possible_duplicates
    a = pipeline.submit(REPORT).report
    b = pipeline.submit(REPORT | {"client_id": "x-b"}, Channel.sms, idempotency_key="sms:generic:b").report
    with pipeline.db.begin() as conn:
        for r in (a, b, b):  # as a stream worker storing both in one batch, then a redelivery
            record_possible_duplicates(conn, r, dt.timedelta(days=3), NOW)
        assert len(list_possible_duplicates(conn)) == 1
