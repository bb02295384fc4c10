"""The demo (``sebac serve --demo``): every channel and every stage, deterministic.

The simulated week is checked item by item against the real SMS grammar and the shipped DHIS2
mapping; the feeder is run through the fully wired engine (rules, statistical detectors, alerts,
escalation scheduler) on a FakeClock, and once as a thread on a short catch-up clock.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections import Counter

import pytest
import sqlalchemy as sa

from alerts.escalation import EscalationScheduler
from alerts.tables import alert_events, alert_signals, alerts
from ingest.clock import CatchUpClock, FakeClock
from ingest.contracts import Channel
from ingest.dhis2 import event_to_payload, load_dhis2_mapping
from ingest.epiweek import epiweek, week_end
from ingest.sms.grammar import parse_sms
from ingest.tables import weekly_counts_history
from sebac.demo import (GARBLED_SMS, HISTORY_YEARS, ILI_SURGE_AREA, MALARIA_SURGE_DISTRICT, MEASLES_DISTRICT,
                        OUTBREAK_AREAS, UNKNOWN_SITE, demo_history, load_demo_history, simulate_week)
from sebac.demo_feeder import DemoFeeder, dhis2_event
from sebac.engine import build_app
from sebac.metrics import PIPELINE_LAG
from sebac.settings import Settings

END = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.timezone.utc)  # a Friday; the demo week starts Fri 13 Nov


@pytest.fixture(scope="module")
def week(pyramid):
    return simulate_week(pyramid, END)


def test_the_week_is_deterministic_and_sorted(pyramid, week):
    again = simulate_week(pyramid, END)
    assert [(r.received_at, r.payload, r.channel, r.sms_text) for r in again] == \
           [(r.received_at, r.payload, r.channel, r.sms_text) for r in week]
    assert [r.received_at for r in week] == sorted(r.received_at for r in week)
    assert END - dt.timedelta(days=7) <= week[0].received_at and week[-1].received_at <= END
    assert simulate_week(pyramid, END, seed=8) != week


def test_the_week_uses_every_channel(week):
    by = Counter(r.channel for r in week)
    assert set(by) == {Channel.sms, Channel.dhis2, Channel.http}
    assert all(n >= 20 for n in by.values()), by
    cholera = Counter(r.channel for r in week if r.payload["disease"] == "cholera"
                      and r.payload["orgunit_id"].startswith(OUTBREAK_AREAS))
    assert set(cholera) == {Channel.sms, Channel.dhis2, Channel.http}
    assert [r.sms_text for r in week if r.sms_text == GARBLED_SMS] == [GARBLED_SMS]
    assert [r.channel for r in week if r.payload["orgunit_id"] == UNKNOWN_SITE] == [Channel.http]
    assert [r.live for r in week] == [False] * (len(week) - 1) + [True]   # the engine runs live afterwards


def test_sms_texts_read_back_with_the_grammar(week, diseases):
    sms = [r for r in week if r.channel is Channel.sms and r.sms_text != GARBLED_SMS]
    assert sms
    for r in sms:
        parsed = parse_sms(r.sms_text, diseases, r.received_at.date())
        p = r.payload
        assert (parsed.disease, parsed.cases, parsed.onset_date.isoformat()) == \
               (p["disease"], p["cases"], p["onset_date"]), r.sms_text
        for k in ("sex", "age_group"):
            if k in p:
                assert getattr(parsed, k).value == p[k], r.sms_text
    assert "CHOL 3 F 5+ 1611" in {r.sms_text for r in sms}  # onset as DDMM


def test_tablet_events_map_back_with_the_shipped_mapping(week, pyramid, diseases):
    mapping = load_dhis2_mapping(None, diseases)
    tablets = [r for r in week if r.channel is Channel.dhis2]
    uids = set()
    for r in tablets:
        event = dhis2_event(r, pyramid, mapping)
        assert len(event["event"]) == 11 and event["event"][0].isalpha()
        assert event["orgUnit"] == pyramid.get(r.payload["orgunit_id"]).dhis2_uid
        uid, payload = event_to_payload(event, mapping, diseases)
        uids.add(uid)
        assert pyramid.resolve(payload["orgunit_id"]).id == r.payload["orgunit_id"]
        for k in ("disease", "cases", "onset_date", "report_date", "sex", "age_group"):
            assert str(payload.get(k)) == str(r.payload.get(k)), (k, event)
    assert len(uids) == len(tablets)


@pytest.mark.parametrize("end", [END + dt.timedelta(days=d, hours=h) for d, h in
                                 ((0, 0), (1, 5), (2, 13), (3, 0), (4, 22), (5, 1), (6, 12))])
def test_the_late_tablet_reports_a_closed_week_whatever_the_weekday(pyramid, end):
    (late,) = [r for r in simulate_week(pyramid, end) if "late" in r.story]
    assert late.channel is Channel.dhis2 and late.payload["orgunit_id"].startswith(OUTBREAK_AREAS[1])
    onset = dt.date.fromisoformat(late.payload["onset_date"])
    closed = week_end(epiweek(onset)) + dt.timedelta(days=2)   # SEBAC_LATE_AFTER_DAYS
    assert late.received_at.date() > closed


def test_history_covers_five_years_before_the_demo_week(pyramid):
    rows = demo_history(pyramid, END)
    assert rows == demo_history(pyramid, END)
    first_demo_week = epiweek((END - dt.timedelta(days=7)).date())
    by_series = Counter((r.area_id, r.disease) for r in rows)
    assert ("ML-MOP-DJENNE", "malaria") in by_series and (ILI_SURGE_AREA, "ili") in by_series
    assert set(by_series.values()) == {52 * HISTORY_YEARS + 1}
    last = max((r.iso_year, r.iso_week) for r in rows)
    assert last < (first_demo_week.year, first_demo_week.week)
    assert dt.date.fromisocalendar(*last, 1) + dt.timedelta(weeks=1) == \
           dt.date.fromisocalendar(first_demo_week.year, first_demo_week.week, 1)   # no gap before the demo
    djenne = [r.count for r in rows if r.area_id == "ML-MOP-DJENNE"]
    assert 5 < sum(djenne) / len(djenne) < 30


# -- the feeder through the wired engine ------------------------------------------------------------

def _engine(tmp_path, clock):
    app = build_app(Settings(database_url=f"sqlite:///{tmp_path / 'demo.db'}"), clock)
    return app, app.state.pipeline


def _replay(tmp_path, end, *, history=True):
    clock = FakeClock(end - dt.timedelta(days=7))
    app, pipeline = _engine(tmp_path, clock)
    if history:
        t0 = time.perf_counter()
        load_demo_history(pipeline, end)
        assert time.perf_counter() - t0 < 3
    feeder = DemoFeeder(pipeline, simulate_week(pipeline.pyramid, end), clock, threading.Event(),
                        channels=app.state.ingest_channels)
    scheduler = EscalationScheduler(pipeline.db, pipeline.alerting)
    for r in feeder.reports:
        if clock.now() < r.received_at:
            clock.set(r.received_at)
        feeder.feed(r)
        scheduler.tick(clock.now())
    with pipeline.db.connect() as conn:
        rows = conn.execute(sa.select(alerts)).mappings().all()
        keys = {k for (k,) in conn.execute(sa.select(alert_signals.c.dedup_key))}
        escalated = conn.execute(sa.select(alert_events.c.alert_id, alert_events.c.level)
                                 .where(alert_events.c.type == "escalated")).all()
    return feeder, rows, keys, escalated


@pytest.mark.parametrize("end", [END, END + dt.timedelta(days=3, hours=12)])  # Friday, and a Monday
def test_the_feeder_raises_rules_and_statistics_through_every_channel(tmp_path, end, caplog):
    caplog.set_level(logging.INFO, logger="sebac.demo")
    feeder, rows, keys, escalated = _replay(tmp_path, end)
    t = feeder.tally
    assert {c: t.outcomes[(c, "accepted")] > 10 for c in ("sms", "dhis2", "http")} == \
           {"sms": True, "dhis2": True, "http": True}
    assert t.rejected == Counter({"report.orgunit.unknown": 1, "sms.disease.unknown": 1})
    assert "reply: Maladie inconnue CHOLRA" in caplog.text           # the garbled SMS got an answer
    assert "reply: Rapport reçu : 3 Choléra. Merci." in caplog.text

    def fired(prefix: str) -> bool:
        return any(k.startswith(prefix) for k in keys)

    assert fired(f"detector:v1:malaria_noufaily_district:malaria:{MALARIA_SURGE_DISTRICT}:")
    assert fired(f"detector:v1:ili_ears_c2_area:ili:{ILI_SURGE_AREA}:")
    assert fired(f"rule:v1:measles_district_month:measles:{MEASLES_DISTRICT}:")
    assert fired("rule:v1:meningitis_rate:meningitis:ML-MOP-BANDIAGARA")
    for area in OUTBREAK_AREAS:
        assert fired(f"rule:v1:immediate:cholera:{area}:")
    # the statistics fire on the surges only: no detector signal elsewhere
    assert {k.split(":")[4] for k in keys if k.startswith("detector:")} == {MALARIA_SURGE_DISTRICT, ILI_SURGE_AREA}

    late = [r for r in rows if r["raised_late"]]
    assert [(r["disease"], r["orgunit_id"]) for r in late] == [("cholera", "ML-MOP-DJENNE-SOFARA")]
    assert "RAISED LATE" in caplog.text
    # nobody acknowledges: the first cholera alert climbed to national by timeouts
    first = min((r for r in rows if r["disease"] == "cholera"), key=lambda r: r["alert_id"])
    assert first["level"] == "national"
    assert [lvl for a, lvl in escalated if a == first["alert_id"]] == ["district", "region", "national"]

    summary = "\n".join(feeder.summary())
    assert "rejected: 2 (report.orgunit.unknown 1, sms.disease.unknown 1)" in summary
    assert "malaria_noufaily_district" in summary and "ili_ears_c2_area" in summary
    assert "raised late: #" in summary and "escalations: " in summary


def test_without_history_the_statistical_detectors_stay_in_warm_up(tmp_path):
    _, rows, keys, _ = _replay(tmp_path, END, history=False)
    assert not [k for k in keys if k.startswith("detector:")]
    assert any(k.startswith("rule:v1:immediate:cholera:") for k in keys)


def test_history_load_is_idempotent(tmp_path):
    _, pipeline = _engine(tmp_path, FakeClock(END))
    n = load_demo_history(pipeline, END)
    assert load_demo_history(pipeline, END) == n
    with pipeline.db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(weekly_counts_history)).scalar() == n


def test_short_demo_thread_replays_the_week_and_logs_a_summary(tmp_path, caplog):
    """What ``sebac serve --demo --demo-seconds 4`` runs: the feeder thread on a catch-up clock."""
    caplog.set_level(logging.INFO, logger="sebac.demo")
    now = dt.datetime.now(dt.timezone.utc)
    clock = CatchUpClock(now - dt.timedelta(days=7), speed=7 * 86400 / 4)
    app, pipeline = _engine(tmp_path, clock)
    load_demo_history(pipeline, now)
    stop = threading.Event()
    feeder = DemoFeeder(pipeline, simulate_week(pipeline.pyramid, now), clock, stop,
                        channels=app.state.ingest_channels, users=[])
    feeder.start()
    try:
        assert feeder.finished.wait(60), "the demo week was not replayed"
    finally:
        stop.set()
        feeder.join(5)
    assert sum(feeder.tally.items.values()) == len(feeder.reports)
    # the last item was delivered live: its processing time is in real seconds, not demo seconds
    assert feeder.reports[-1].live
    assert PIPELINE_LAG.labels("embedded")._value.get() < 10
    text = caplog.text
    assert "demo: replay finished" in text
    for line in ("demo: reports by channel: dhis2", "demo: rejected: 2", "demo: alerts: ", "demo: escalations: "):
        assert line in text, line
