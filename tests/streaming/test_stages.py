"""Worker stages without a broker (SQLite): exactly-once effects under redelivery, poison messages,
the weekly-counts table logic, and the publishing API side with an in-memory publisher."""
from __future__ import annotations

import datetime as dt
import json

import httpx
import pytest

from sebac.settings import Settings
from sebac.streaming.weeks import add_reports, due_cells, forget_old_weeks, mark_closed
from sebac.streaming.codec import report_id_for
from sebac.streaming.engine import publishing
from sebac.streaming.publisher import BrokerUnavailable, InMemoryPublisher
from sebac.streaming.stages import Message, WorkerStages
from sebac.streaming.topics import Topics, partition_for
from tests.conftest import LiveServer

AREA = "ML-MOP-DJENNE-MOUGNA"
REPORT = {"client_id": "c-1", "orgunit_id": "ML-MOP-DJENNE-MOUGNA-S1", "disease": "cholera", "cases": 1,
          "onset_date": "2026-11-10"}


@pytest.fixture
def stages(pipeline) -> WorkerStages:
    return WorkerStages(pipeline)


def published(api_side, *payloads) -> list[Message]:
    sp, pub = api_side
    for p in payloads:
        assert sp.submit(p).status == "accepted"
    return [Message(r.value, f"t.reports:0:{i}") for i, r in enumerate(pub.records)]


def test_accept_publishes_keyed_by_area_with_id_from_idempotency_key(api_side):
    sp, pub = api_side
    res = sp.submit(REPORT)
    assert res.status == "accepted" and res.report.report_id == report_id_for("http:c-1")
    (rec,) = pub.records
    assert (rec.topic, rec.key) == ("t.reports", AREA.encode())
    assert json.loads(rec.value)["report_id"] == res.report.report_id
    with sp.db.connect() as conn:  # nothing stored by the API: the worker stores
        assert sp.reports.count(conn) == 0


def test_broker_down_raises_503_and_publishes_nothing(api_side):
    sp, pub = api_side
    pub.fail = True
    with pytest.raises(BrokerUnavailable) as err:
        sp.submit(REPORT)
    assert err.value.status == 503 and err.value.key == "broker.unavailable" and pub.records == []


def test_invalid_report_goes_to_rejected_topic_with_reason(api_side):
    sp, pub = api_side
    res = sp.submit(REPORT | {"orgunit_id": "ML-NOWHERE"})
    assert res.status == "rejected"
    (rec,) = pub.records
    assert rec.topic == "t.rejected" and json.loads(rec.value)["errors"][0]["key"] == "report.orgunit.unknown"


def test_redelivered_batch_stores_once_and_re_emits_the_same_signals(api_side, stages, clock):
    msgs = published(api_side, REPORT, REPORT | {"client_id": "c-2", "disease": "malaria", "cases": 4})
    first = stages.process_reports(msgs, clock.now())
    again = stages.process_reports(msgs, clock.now())  # crash before commit: the whole batch comes back
    assert (len(first.new), len(first.duplicates)) == (2, 0)
    assert (len(again.new), len(again.duplicates)) == (0, 2)
    signals = [o for o in first.outputs if o.topic == "signals"]
    assert len(signals) == 1 and signals[0].key == AREA
    assert [o.value for o in again.outputs] == [o.value for o in first.outputs]


def test_signals_applied_once_redelivery_replays_recorded_outputs(api_side, stages, clock, pipeline):
    msgs = published(api_side, REPORT, REPORT | {"client_id": "c-2", "cases": 2})
    signals = [Message(o.value, f"t.signals:0:{i}") for i, o in
               enumerate(stages.process_reports(msgs, clock.now()).outputs)]
    outputs, applied, redelivered = stages.apply_signals(signals, clock.now())
    again, applied2, redelivered2 = stages.apply_signals(signals, clock.now())
    assert (applied, redelivered, applied2, redelivered2) == (2, 0, 0, 2)
    assert [(o.topic, o.value) for o in again] == [(o.topic, o.value) for o in outputs]
    assert [json.loads(o.value)["type"] for o in outputs if o.topic == "alert-events"] == ["created", "signal_merged"]
    assert [o.topic for o in outputs].count("notifications") == 1
    with pipeline.db.connect() as conn:
        (alert,) = pipeline.alerts.list(conn)
    assert (alert.cases, alert.signal_count) == (3, 2)


@pytest.mark.parametrize("value, key", [
    (b"\xff\xfenot json", "stream.message.undecodable"),
    (b'{"report_id": "x"}', "stream.message.undecodable"),
    (None, "stream.message.undecodable"),
])
def test_poison_report_becomes_a_rejected_record_with_reason(stages, clock, pipeline, value, key):
    done = stages.process_reports([Message(value, "t.reports:3:17")], clock.now())
    (out,) = done.outputs
    assert out.topic == "rejected" and json.loads(out.value)["errors"][0]["key"] == key
    assert stages.store_rejected([Message(out.value, "t.rejected:0:0")] * 2, clock.now()) == 1
    with pipeline.db.connect() as conn:
        (kept,) = pipeline.rejected.list(conn)
    assert kept.errors[0]["key"] == key


def test_report_for_unknown_area_is_poison_not_a_crash(api_side, stages, clock):
    (msg,) = published(api_side, REPORT)
    forged = msg.value.replace(AREA.encode(), b"ML-ATLANTIS")
    done = stages.process_reports([Message(forged, "t.reports:0:9")], clock.now())
    assert [json.loads(o.value)["errors"][0]["key"] for o in done.outputs] == ["report.orgunit.unknown"]


def test_a_rule_that_raises_rejects_only_its_report(api_side, stages, clock, monkeypatch):
    msgs = published(api_side, REPORT, REPORT | {"client_id": "c-2", "disease": "malaria"})
    real = stages.pipeline.detection.on_reports

    def flaky(conn, reports, now):
        if any(r.disease == "malaria" for r in reports):
            raise ZeroDivisionError("bug in a rule")
        return real(conn, reports, now)

    monkeypatch.setattr(stages.pipeline.detection, "on_reports", flaky)
    done = stages.process_reports(msgs, clock.now())
    assert [r.disease for r in done.new] == ["cholera"]
    rejected = [json.loads(o.value) for o in done.outputs if o.topic == "rejected"]
    assert [r["errors"][0] for r in rejected] == [
        {"key": "stream.processing.failed", "field": None,
         "params": {"error": "ZeroDivisionError", "source": "t.reports:0:1"}}]


def test_weekly_counts_count_each_report_once(api_side, stages, clock):
    msgs = published(api_side, REPORT, REPORT | {"client_id": "c-2", "cases": 3})
    done = stages.process_reports(msgs, clock.now())
    table: dict = {}
    assert add_reports(table, done.counted) == 2
    # the same batch redelivered after a crash: already in the table (offsets ≤ watermark)
    assert add_reports(table, stages.process_reports(msgs, clock.now()).counted) == 0
    assert table[AREA]["w"] == {"cholera|2026-W46": [4, 2]} and table[AREA]["o"] == 1


def test_crash_after_commit_before_changelog_still_counts_once(api_side, stages, clock):
    msgs = published(api_side, REPORT, REPORT | {"client_id": "c-2", "cases": 3})
    stages.process_reports(msgs, clock.now())  # stored, but the table update was lost with the worker
    redelivered = stages.process_reports(msgs, clock.now())
    assert len(redelivered.new) == 0 and len(redelivered.counted) == 2
    table: dict = {}
    add_reports(table, redelivered.counted)
    assert table[AREA]["w"] == {"cholera|2026-W46": [4, 2]}


def test_client_resend_under_a_new_offset_is_not_counted(api_side, stages, clock):
    (msg,) = published(api_side, REPORT)
    table: dict = {}
    add_reports(table, stages.process_reports([msg], clock.now()).counted)
    resend = Message(msg.value, "t.reports:0:7")  # the API published it again (lost answer, retry)
    assert stages.process_reports([resend], clock.now()).counted == []
    assert table[AREA]["w"] == {"cholera|2026-W46": [1, 1]}


@pytest.mark.parametrize("now, closed, expect", [
    (dt.datetime(2026, 11, 16, 11, 59, tzinfo=dt.timezone.utc), None, []),       # W46 still in grace
    (dt.datetime(2026, 11, 17, 1, tzinfo=dt.timezone.utc), None, [(4, 2, False)]),
    (dt.datetime(2026, 11, 17, 1, tzinfo=dt.timezone.utc), [4, 2], []),           # already closed
    (dt.datetime(2026, 11, 17, 1, tzinfo=dt.timezone.utc), [1, 1], [(4, 2, True)]),  # late data: re-close
])
def test_due_cells_close_ended_weeks_once(now, closed, expect):
    value = {"o": 3, "w": {"cholera|2026-W46": [4, 2]},  # W46: Mon 9 – Sun 15 November 2026
             "closed": {"cholera|2026-W46": closed} if closed else {}}
    owned = {partition_for(AREA, 8)}
    cells = due_cells([(AREA, value)], owned, 8, now, dt.timedelta(hours=12))
    assert [(c.cases, c.reports, c.reclosed) for c in cells] == expect
    assert due_cells([(AREA, value)], set(range(8)) - owned, 8, now, dt.timedelta(hours=12)) == []


def test_closed_weeks_are_marked_then_forgotten(api_side, stages, clock):
    table: dict = {}
    add_reports(table, stages.process_reports(published(api_side, REPORT), clock.now()).counted)
    now = dt.datetime(2026, 11, 17, 1, tzinfo=dt.timezone.utc)
    cells = due_cells(table.items(), {partition_for(AREA, 8)}, 8, now, dt.timedelta(0))
    mark_closed(table, cells)
    assert due_cells(table.items(), {partition_for(AREA, 8)}, 8, now, dt.timedelta(0)) == []
    forget_old_weeks(table, [AREA], dt.date(2026, 11, 15))
    assert table[AREA]["w"] and table[AREA]["closed"]  # W46 ends on the 15th: kept
    forget_old_weeks(table, [AREA], dt.date(2026, 11, 16))
    assert table[AREA]["w"] == {} and table[AREA]["closed"] == {}


def test_close_weeks_emits_weekly_counts(stages, clock):
    from sebac.streaming.stages import WeekCell

    (out,) = stages.close_weeks([WeekCell(AREA, "malaria", "2026-W46", 7, 3)], clock.now())
    assert out.topic == "weekly-counts" and out.key == AREA
    assert json.loads(out.value) | {"closed_at": None} == {
        "health_area_id": AREA, "disease": "malaria", "epiweek": "2026-W46", "cases": 7, "reports": 3,
        "closed_at": None, "reclosed": False}


def test_http_api_answers_503_when_the_broker_is_down(pipeline, clock):
    from api.app import create_app

    publisher = InMemoryPublisher(fail=True)
    settings = Settings(environment="test", broker="kafka://127.0.0.1:9")
    app = create_app(publishing(pipeline, settings, publisher), settings)
    with LiveServer(app) as server:
        r = httpx.post(f"{server.url}/api/v1/reports", json=REPORT)
        assert r.status_code == 503 and r.json()["error"]["key"] == "broker.unavailable"
        publisher.fail = False
        r = httpx.post(f"{server.url}/api/v1/reports", json=REPORT)  # the client retries: same report
        assert r.status_code == 201 and r.json()["report_id"] == report_id_for("http:c-1")
    assert len(publisher.records) == 1


def test_topics_have_stable_names():
    assert Topics.with_prefix("sebac").all() == ["sebac.reports", "sebac.rejected", "sebac.signals",
                                                 "sebac.alert-events", "sebac.notifications",
                                                 "sebac.weekly-counts"]
