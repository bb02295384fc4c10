"""Reporting quality for one week, as a timeline: who reported, when, twice, or not at all."""
from __future__ import annotations

import datetime as dt

import httpx
import pytest

from ingest.contracts import Channel
from ingest.epiweek import EpiWeek
from ingest.quality import compute_quality, deadline_of, load_receipts
from ingest.zero_reports import record_zero_report
from tests.api.alerts_helpers import cheap_hashing, user_client  # noqa: F401 (fixture)
from tests.conftest import NOW

UTC = dt.timezone.utc
W46 = EpiWeek(2026, 46)  # Mon 9 Nov .. Sun 15 Nov 2026
A = "ML-MOP-DJENNE-MOUGNA"
S = "ML-MOP-DJENNE-SOFARA"


def at(day, hour=10):
    return dt.datetime(2026, 11, day, hour, tzinfo=UTC)


def report(cid, site, report_date, disease="malaria", cases=2):
    return {"client_id": cid, "orgunit_id": site, "disease": disease, "cases": cases,
            "onset_date": report_date, "report_date": report_date}


def play_week(pipeline, clock):
    timeline = [
        (at(12), report("q1", f"{A}-S1", "2026-11-12"), Channel.http),
        (at(18, 9), report("q2", f"{A}-S2", "2026-11-15"), Channel.http),           # after the deadline
        (at(13), report("q3", f"{S}-S1", "2026-11-13"), Channel.http),
        (at(13, 15), report("q4", f"{S}-S1", "2026-11-13"), Channel.sms),           # same content, other channel
        (at(19), report("q5", f"{S}-S2", "2026-11-19", "ili", 1), Channel.http),    # week 47
    ]
    for when, payload, channel in timeline:
        clock.set(when)
        assert pipeline.submit(payload, channel).status == "accepted"
    with pipeline.db.begin() as conn:
        record_zero_report(conn, idempotency_key="sms:z1", channel="sms", orgunit_id=f"{A}-S3", health_area_id=A,
                           district_id="ML-MOP-DJENNE", epiweek="2026-W46", received_at=at(16, 20))
    clock.set(NOW)  # Friday 20 Nov, 09:00


def test_deadline_is_end_of_monday_after_the_week():
    assert deadline_of(W46, 1) == dt.datetime(2026, 11, 17, tzinfo=UTC)
    assert deadline_of(W46, 0) == dt.datetime(2026, 11, 16, tzinfo=UTC)


def test_week_timeline_gives_completeness_promptness_duplicates_and_silence(pipeline, clock, pyramid):
    play_week(pipeline, clock)
    with pipeline.db.connect() as conn:
        receipts = load_receipts(conn, W46, NOW)
    q = compute_quality(pyramid, "ML-MOP-DJENNE", W46, receipts, now=NOW)
    d = q.summary
    assert (d.sites, d.complete, d.prompt, d.reports, d.flagged) == (15, 4, 3, 5, 1)
    assert (d.completeness, d.promptness, d.duplicate_rate) == (4 / 15, 3 / 15, 0.2)
    areas = {a.orgunit_id: a for a in q.health_areas}
    assert (areas[A].complete, areas[A].prompt, areas[A].sites) == (3, 2, 3)
    assert (areas[S].complete, areas[S].prompt, areas[S].duplicate_rate) == (1, 1, 0.5)
    assert areas["ML-MOP-DJENNE-TAGA"].completeness == 0.0
    sites = {s.site_id: s for s in q.sites}
    assert (sites[f"{A}-S2"].complete, sites[f"{A}-S2"].prompt) == (True, False)
    assert (sites[f"{A}-S3"].complete, sites[f"{A}-S3"].prompt) == (True, True)  # zero report counts
    assert sorted(s.site_id for s in q.sites if not s.silent) == [f"{A}-S2", f"{S}-S2"]
    assert sum(s.silent for s in q.sites) == 13


@pytest.mark.parametrize("days, silent", [(3, 13), (4, 12), (8, 10)])
def test_silence_window_is_configurable(pipeline, clock, pyramid, days, silent):
    play_week(pipeline, clock)
    with pipeline.db.connect() as conn:
        receipts = load_receipts(conn, W46, NOW, silent_days=days)
    q = compute_quality(pyramid, "ML-MOP-DJENNE", W46, receipts, now=NOW, silent_days=days)
    assert sum(s.silent for s in q.sites) == silent


@pytest.mark.integration
def test_quality_endpoint(live_app, clock, cheap_hashing):
    pipeline = live_app.server.config.app.state.pipeline
    play_week(pipeline, clock)
    assert httpx.get(f"{live_app.url}/api/v1/quality").status_code == 401
    with user_client(live_app, "djenne", "district", "ML-MOP-DJENNE") as district:
        assert district.get("/api/v1/quality").json()["scope"]["orgunit_id"] == "ML-MOP-DJENNE"  # own district
        assert district.get("/api/v1/quality", params={"region": "ML-MOP"}).status_code == 403
        assert len(district.get("/api/v1/reports/possible-duplicates").json()["items"]) == 1
    with user_client(live_app, "kadiolo", "district", "ML-SIK-KADIOLO") as other:
        assert other.get("/api/v1/reports/possible-duplicates").json()["items"] == []
    with user_client(live_app, "admin", "admin", "ML") as http:
        body = http.get("/api/v1/quality", params={"week": "2026-W46", "district": "ML-MOP-DJENNE"}).json()
        assert body["week"] == "2026-W46" and body["scope"]["complete"] == 4 and body["scope"]["sites"] == 15
        assert body["deadline"] == "2026-11-17T00:00:00+00:00" and len(body["silent_sites"]) == 13
        assert http.get("/api/v1/quality").json()["week"] == "2026-W46"  # default: last complete week
        region = http.get("/api/v1/quality", params={"region": "ML-MOP", "sites": "false"}).json()
        assert "sites" not in region and region["scope"]["level"] == "region"
        assert http.get("/api/v1/quality", params={"district": "ML-NOWHERE"}).status_code == 404
        dups = http.get("/api/v1/reports/possible-duplicates", params={"district": "ML-MOP-DJENNE"}).json()["items"]
        assert len(dups) == 1 and dups[0]["cross_channel"] and dups[0]["channels"] == ["sms", "http"]
