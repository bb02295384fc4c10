"""``POST /api/tracker`` over real HTTP with DHIS2's semantics: credentials as DHIS2 takes them, async
jobs polled by another client, atomic modes, import strategies and DHIS2's error codes."""
from __future__ import annotations

import base64
import time

import httpx
import pytest

from tests.api.alerts_helpers import PASSWORD, cheap_hashing, make_user, user_client  # noqa: F401 (fixture)
from tests.api.test_dhis2_tracker import event

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("cheap_hashing")]


@pytest.fixture
def http(live_app):
    with user_client(live_app, "admin", "admin", "ML") as client:
        yield client


@pytest.fixture
def site_uid(pyramid):
    return pyramid.get("ML-MOP-DJENNE-MOUGNA-S1").dhis2_uid


def api_key(live_app) -> str:
    from api.auth import ApiKeyRepository
    pipeline = live_app.server.config.app.state.pipeline
    with pipeline.db.begin() as conn:
        _, raw = ApiKeyRepository().create(conn, "openhim", "device", None, pipeline.clock.now())
    return raw


def sync(client, events, **params):
    return client.post("/api/tracker", params={"async": "false", **params}, json={"events": events})


def codes(report):
    return [(e["errorCode"], e["args"][0]) for e in report["validationReport"]["errorReports"]]


def test_credentials_basic_apitoken_and_sebac_keys(live_app, site_uid):
    make_user(live_app, "openhim", "national", "ML")
    url = f"{live_app.url}/api/tracker"
    body = {"events": []}
    assert httpx.post(url, json=body).status_code == 401
    wrong = "Basic " + base64.b64encode(b"openhim:nope").decode()
    r = httpx.post(url, json=body, headers={"Authorization": wrong})
    assert r.status_code == 401 and r.json()["error"]["key"] == "auth.basic.invalid"
    basic = "Basic " + base64.b64encode(f"openhim:{PASSWORD}".encode()).decode()
    key = api_key(live_app)
    for headers in ({"Authorization": basic}, {"Authorization": f"ApiToken {key}"}, {"X-API-Key": key}):
        r = httpx.post(url, params={"async": "false"}, json=body, headers=headers)
        assert r.status_code == 200 and r.json()["stats"]["total"] == 0, (headers, r.text)
    r = httpx.post(url, json=body, headers={"Authorization": "ApiToken d2pat_notOurs"})
    assert r.status_code == 401


def test_async_by_default_the_job_and_its_report_answer_another_client(live_app, http, site_uid):
    r = http.post("/api/tracker", json={"events": [event("EvtAsync001", site_uid, disease="CHOLERA", cases="2")]})
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["status"] == "OK" and doc["message"] == "Tracker job added"
    job = doc["response"]["id"]
    assert len(job) == 11 and doc["response"]["location"] == f"{live_app.url}/api/tracker/jobs/{job}"
    other = {"X-API-Key": api_key(live_app)}  # another client, another connection
    for _ in range(200):
        log = httpx.get(doc["response"]["location"], headers=other).json()
        if log[0]["completed"]:
            break
        time.sleep(0.05)
    assert log[0]["message"] == "Import complete with status OK, 1 created, 0 updated, 0 deleted, 0 ignored"
    assert log[-1]["message"] == "Tracker import started" and log[-1]["data"]["atomicMode"] == "ALL"
    report = httpx.get(f"{live_app.url}/api/tracker/jobs/{job}/report", headers=other).json()
    assert report["stats"] == {"created": 1, "updated": 0, "deleted": 0, "ignored": 0, "total": 1}
    [obj] = report["bundleReport"]["typeReportMap"]["EVENT"]["objectReports"]
    assert obj == {"trackerType": "EVENT", "uid": "EvtAsync001", "index": 0, "errorReports": []}
    assert httpx.get(f"{live_app.url}/api/tracker/jobs/Nope0000000", headers=other).status_code == 404
    assert httpx.get(f"{live_app.url}/api/tracker/jobs/Nope0000000/report", headers=other).status_code == 404


def test_strategies_create_update_delete_as_corrections(live_app, http, site_uid):
    ev = event("EvtStrat001", site_uid, disease="MALARIA", cases="3")
    assert sync(http, [ev], importStrategy="CREATE").json()["stats"]["created"] == 1
    again = sync(http, [ev], importStrategy="CREATE")
    assert again.status_code == 409 and codes(again.json()) == [("E1030", "dhis2.event.exists")]
    assert "EvtStrat001" in again.json()["validationReport"]["errorReports"][0]["message"]
    same = sync(http, [ev])  # CREATE_AND_UPDATE, nothing changed: ignored
    assert same.status_code == 200 and same.json()["stats"]["ignored"] == 1
    fixed = sync(http, [event("EvtStrat001", site_uid, disease="MALARIA", cases="8")], importStrategy="UPDATE")
    assert fixed.status_code == 200 and fixed.json()["stats"]["updated"] == 1
    pipeline = live_app.server.config.app.state.pipeline
    with pipeline.db.connect() as conn:
        stored = pipeline.reports.by_idempotency_key(conn, "dhis2:EvtStrat001")
    assert (stored.cases, stored.version) == (8, 2)
    unknown = sync(http, [event("EvtNever001", site_uid, disease="MALARIA", cases="1")], importStrategy="UPDATE")
    assert unknown.status_code == 409 and codes(unknown.json()) == [("E1032", "dhis2.event.not_found")]
    gone = http.post("/api/tracker", params={"async": "false", "importStrategy": "delete"},
                     json={"events": [{"event": "EvtStrat001"}]})
    assert gone.status_code == 200 and gone.json()["stats"]["deleted"] == 1
    late = sync(http, [event("EvtStrat001", site_uid, disease="MALARIA", cases="9")])
    assert late.status_code == 409 and codes(late.json()) == [("E1082", "dhis2.event.deleted")]
    with pipeline.db.connect() as conn:
        assert pipeline.reports.by_idempotency_key(conn, "dhis2:EvtStrat001").state == "retracted"


def test_atomic_all_commits_nothing_when_one_event_fails_object_commits_the_valid(live_app, http, site_uid):
    good = event("EvtAtom0001", site_uid, disease="MALARIA", cases="2")
    lost = event("EvtAtom0002", "NoSuchUnit1", disease="MALARIA", cases="2")
    no_date = event("EvtAtom0003", site_uid, disease="MALARIA", cases="2")
    del no_date["occurredAt"]
    r = sync(http, [good, lost, no_date])
    assert r.status_code == 409
    rep = r.json()
    assert rep["status"] == "ERROR" and rep["stats"] == {"created": 0, "updated": 0, "deleted": 0, "ignored": 3,
                                                         "total": 3}
    assert codes(rep) == [("E1011", "report.orgunit.unknown"), ("E1031", "dhis2.dataelement.missing")]
    assert rep["validationReport"]["errorReports"][0]["args"][1] == "NoSuchUnit1"
    objects = rep["bundleReport"]["typeReportMap"]["EVENT"]["objectReports"]
    assert [(o["uid"], o["index"], len(o["errorReports"])) for o in objects] == [
        ("EvtAtom0001", 0, 0), ("EvtAtom0002", 1, 1), ("EvtAtom0003", 2, 1)]
    pipeline = live_app.server.config.app.state.pipeline
    with pipeline.db.connect() as conn:
        assert pipeline.reports.count(conn) == 0 and pipeline.rejected.count(conn) == 2  # bad events kept
    r = sync(http, [good, lost], atomicMode="OBJECT")
    assert r.status_code == 409 and r.json()["stats"]["created"] == 1  # status stays ERROR, as DHIS2
    with pipeline.db.connect() as conn:
        assert pipeline.reports.count(conn) == 1 and pipeline.rejected.count(conn) == 2  # kept once


def test_validate_mode_writes_nothing_and_bad_parameters_are_400(live_app, http, site_uid):
    r = sync(http, [event("EvtValid001", site_uid, disease="MALARIA", cases="2")], importMode="VALIDATE")
    assert r.status_code == 200 and r.json()["stats"]["ignored"] == 1
    pipeline = live_app.server.config.app.state.pipeline
    with pipeline.db.connect() as conn:
        assert pipeline.reports.count(conn) == 0
    bad = http.post("/api/tracker", params={"importStrategy": "MERGE"}, json={"events": []})
    assert bad.status_code == 400 and bad.json()["error"]["key"] == "dhis2.param.invalid"
    nested = {"trackedEntities": [{"trackedEntity": "TeiNested01", "enrollments": [
        {"enrollment": "EnrNested01", "events": [event("EvtNest0001", site_uid, disease="MALARIA", cases="1")]}]}]}
    r = http.post("/api/tracker", params={"async": "false"}, json=nested)
    assert r.status_code == 200 and r.json()["stats"]["created"] == 1
    r = http.post("/api/tracker", params={"async": "false"}, json=[1, 2])
    assert r.status_code == 400 and r.json()["errorCode"] == "dhis2.payload.invalid"
