"""Revisions of stored reports (ingest.corrections): corrections replace the cases in every count,
retractions take them out, held cross-channel duplicates wait for a person; nothing is lost."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from detectors.repository import DetectorRepository
from ingest.contracts import Channel
from ingest.corrections import CHANGES, report_history, revise_report
from ingest.duplicates import pending_possible_duplicates
from ingest.errors import DomainError
from ingest.reevaluation import pending
from ingest.tables import reports
from tests.conftest import NOW

SITE = "ML-MOP-DJENNE-MOUGNA-S1"
AREA = "ML-MOP-DJENNE-MOUGNA"
REPORT = {"client_id": "x-1", "orgunit_id": SITE, "disease": "malaria", "cases": 4,
          "onset_date": "2026-11-16", "reporter": "chw-1"}
WEEK = (dt.date(2026, 11, 1), dt.date(2026, 11, 30))


def cases(pipeline, disease="malaria") -> dict[dt.date, int]:
    with pipeline.db.connect() as conn:
        return DetectorRepository().daily_cases(conn, "health_area", AREA, disease, *WEEK)


def content(pipeline, **changes):
    from ingest.validation import validate_report
    return validate_report(REPORT | changes, channel=Channel.http, pyramid=pipeline.pyramid,
                           diseases=pipeline.diseases, now=NOW, idempotency_key="http:x-1")


def test_a_correction_replaces_the_cases_keeps_the_old_version_and_queues_both_weeks(pipeline):
    stored = pipeline.submit(REPORT).report
    assert cases(pipeline) == {dt.date(2026, 11, 16): 4}
    res = pipeline.revise(stored.report_id, "corrected", content=content(pipeline, cases=7, onset_date="2026-11-09"),
                          source_updated_at="2026-11-20T08:00:00.000", by="dhis2")
    assert cases(pipeline) == {dt.date(2026, 11, 9): 7}  # the old cases no longer count anywhere
    after = res.revision.after
    assert (after.version, after.state, after.cases, after.report_id) == (2, "active", 7, stored.report_id)
    with pipeline.db.connect() as conn:
        history = report_history(conn, stored.report_id)
        assert [(h["version"], h["change"], h["before"]["cases"]) for h in history] == [(1, "corrected", 4)]
        assert sorted(p.epiweek for p in pending(conn)) == ["2026-W46", "2026-W47"]  # old and new onset weeks
        assert pipeline.reports.count(conn) == 1


def test_a_retraction_takes_the_report_out_of_the_counts_and_keeps_it(pipeline):
    stored = pipeline.submit(REPORT).report
    pipeline.submit(REPORT | {"client_id": "x-2", "cases": 2})
    pipeline.revise(stored.report_id, "retracted", reason="deleted in DHIS2")
    assert cases(pipeline) == {dt.date(2026, 11, 16): 2}
    with pipeline.db.connect() as conn:
        kept = pipeline.reports.get(conn, stored.report_id)
    assert (kept.state, kept.cases, kept.version) == ("retracted", 4, 2)
    with pytest.raises(DomainError) as exc:  # a retracted report stays retracted
        pipeline.revise(stored.report_id, "corrected", content=content(pipeline, cases=9))
    assert (exc.value.key, exc.value.status) == ("report.revision.state", 409)


@pytest.mark.parametrize("start,change,allowed", [
    (state, change, state in CHANGES[change][0])
    for state in ("active", "held", "retracted", "duplicate") for change in CHANGES])
def test_transition_table(pipeline, start, change, allowed):
    stored = pipeline.submit(REPORT).report
    with pipeline.db.begin() as conn:
        conn.execute(reports.update().values(state=start))
    with pipeline.db.begin() as conn:
        args = {"content": content(pipeline, cases=5)} if change == "corrected" else {}
        if allowed:
            rev = revise_report(conn, stored.report_id, change, now=NOW, **args)
            assert rev.after.state == (CHANGES[change][1] or start)
        else:
            with pytest.raises(DomainError):
                revise_report(conn, stored.report_id, change, now=NOW, **args)


def test_unknown_report_is_404(pipeline):
    with pytest.raises(DomainError) as exc:
        pipeline.revise("no-such-id", "retracted")
    assert (exc.value.key, exc.value.status) == ("report.not_found", 404)


def test_the_alert_timeline_says_corrected_then_retracted(pipeline):
    cholera = REPORT | {"disease": "cholera", "cases": 1}
    res = pipeline.submit(cholera, Channel.dhis2, idempotency_key="dhis2:EvtChol0001")
    assert res.alerts, "1 cholera case is an alert"
    alert_id = res.alerts[0].alert_id
    pipeline.revise(res.report.report_id, "corrected", content=content(pipeline, disease="cholera", cases=3))
    pipeline.revise(res.report.report_id, "retracted")
    with pipeline.db.connect() as conn:
        events = pipeline.alerts.events(conn, alert_id)
    noted = [(e.type, e.data["before"]["cases"], e.data["after"]["cases"]) for e in events
             if e.type.startswith("report_")]
    assert noted == [("report_corrected", 1, 3), ("report_retracted", 3, 3)]
    assert "corrected: 1 → 3" in next(e.reason for e in events if e.type == "report_corrected")


def test_sms_and_dhis2_of_the_same_cases_are_held_until_a_person_decides(pipeline, clock):
    sms = pipeline.submit(REPORT | {"disease": "cholera", "cases": 2}, Channel.sms, idempotency_key="sms:t:1")
    assert sms.alerts
    clock.advance(days=4)  # the tablet syncs days later, onset typed one day off
    tablet = pipeline.submit(REPORT | {"client_id": "EvtTab0001", "disease": "cholera", "cases": 2,
                                       "onset_date": "2026-11-17"}, Channel.dhis2, idempotency_key="dhis2:EvtTab0001")
    assert tablet.notes.held and tablet.alerts == []
    assert sum(cases(pipeline, "cholera").values()) == 2  # the held one is out of the counts
    with pipeline.db.connect() as conn:
        [pair] = pending_possible_duplicates(conn, cross_channel_only=True)
    assert (pair.report_id, pair.duplicate_of, pair.report_state) == (tablet.report.report_id,
                                                                      sms.report.report_id, "held")
    res = pipeline.decide_duplicate(pair.report_id, pair.duplicate_of, "distinct", by="user:nurse")
    assert res.revision.after.state == "active" and sum(cases(pipeline, "cholera").values()) == 4
    with pytest.raises(DomainError) as exc:
        pipeline.decide_duplicate(pair.report_id, pair.duplicate_of, "confirmed", by="user:nurse")
    assert exc.value.key == "duplicate.decided"


def test_a_confirmed_cross_channel_duplicate_never_counts(pipeline, clock):
    sms = pipeline.submit(REPORT, Channel.sms, idempotency_key="sms:t:2")
    tablet = pipeline.submit(REPORT | {"client_id": "EvtTab0002"}, Channel.dhis2, idempotency_key="dhis2:EvtTab0002")
    res = pipeline.decide_duplicate(tablet.report.report_id, sms.report.report_id, "confirmed", by="user:nurse")
    assert res.revision.after.state == "duplicate" and cases(pipeline) == {dt.date(2026, 11, 16): 4}
    with pipeline.db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(reports)).scalar_one() == 2
        assert pending_possible_duplicates(conn) == []


def test_another_chw_is_not_a_cross_channel_duplicate(pipeline):
    pipeline.submit(REPORT, Channel.sms, idempotency_key="sms:t:3")
    other = pipeline.submit(REPORT | {"client_id": "EvtTab0003", "reporter": "chw-2"}, Channel.dhis2,
                            idempotency_key="dhis2:EvtTab0003")
    assert not other.notes.held and cases(pipeline) == {dt.date(2026, 11, 16): 8}
