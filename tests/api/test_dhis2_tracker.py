"""DHIS2 tracker import over real HTTP: mapping, org units by UID, import report, re-sent events."""
from __future__ import annotations

import httpx
import pytest

from tests.api.alerts_helpers import cheap_hashing, user_client  # noqa: F401 (fixture)

pytestmark = pytest.mark.integration


def event(uid, org_unit, **values):
    des = {"disease": "DeMaladie01", "cases": "DeNbCas0001", "sex": "DeSexe00001", "age_group": "DeAge000001",
           "onset_date": "DeDebut0001", "deaths": "DeNbDeces01"}
    return {"event": uid, "program": "SbcSignal01", "programStage": "SbcStage001", "orgUnit": org_unit,
            "occurredAt": "2026-11-19T00:00:00.000", "status": "COMPLETED",
            "dataValues": [{"dataElement": des[k], "value": v} for k, v in values.items()]}


@pytest.fixture
def http(live_app, cheap_hashing):
    with user_client(live_app, "admin", "admin", "ML") as client:
        yield client


def test_tracker_import_needs_an_api_key_or_a_user(live_app, diseases):
    r = httpx.post(f"{live_app.url}/api/v1/dhis2/tracker", json={"events": []})
    assert r.status_code == 401 and r.json()["error"]["key"] == "auth.token.missing"
    from api.auth import ApiKeyRepository
    pipeline = live_app.server.config.app.state.pipeline
    with pipeline.db.begin() as conn:
        _, raw = ApiKeyRepository().create(conn, "dhis2-sync", "device", None, pipeline.clock.now())
    r = httpx.post(f"{live_app.url}/api/v1/dhis2/tracker", json={"events": []}, headers={"X-API-Key": raw})
    assert r.status_code == 200 and r.json()["stats"]["total"] == 0


@pytest.fixture
def site_uid(pyramid):
    return pyramid.get("ML-MOP-DJENNE-MOUGNA-S1").dhis2_uid


def test_import_report_counts_created_ignored_and_errors(http, site_uid, live_app):
    body = {"events": [
        event("EvtAAAAAAA1", site_uid, disease="CHOLERA", cases="2", sex="FEMININ", age_group="PLUS_5",
              onset_date="2026-11-17"),
        event("EvtAAAAAAA2", "NoSuchOrgU1", disease="PALUDISME", cases="3"),
        event("EvtAAAAAAA3", site_uid, disease="ROUGEOLE"),  # no cases data element: default 1
        {"event": "EvtAAAAAAA4", "program": "UnknownProg", "orgUnit": site_uid, "occurredAt": "2026-11-19"},
    ]}
    r = http.post("/api/v1/dhis2/tracker", json=body)
    assert r.status_code == 200, r.text
    rep = r.json()
    assert rep["status"] == "WARNING"
    assert rep["stats"] == {"created": 2, "updated": 0, "deleted": 0, "ignored": 2, "total": 4}
    errors = {e["uid"]: e["errorCode"] for e in rep["validationReport"]["errorReports"]}
    assert errors == {"EvtAAAAAAA2": "report.orgunit.unknown", "EvtAAAAAAA4": "dhis2.program.unmapped"}
    objects = rep["bundleReport"]["typeReportMap"]["EVENT"]["objectReports"]
    assert [o["index"] for o in objects] == [0, 1, 2, 3]
    pipeline = live_app.server.config.app.state.pipeline
    with pipeline.db.connect() as conn:
        r1 = pipeline.reports.by_idempotency_key(conn, "dhis2:EvtAAAAAAA1")
        r3 = pipeline.reports.by_idempotency_key(conn, "dhis2:EvtAAAAAAA3")
    assert (r1.orgunit_id, r1.disease, r1.cases, r1.sex.value, r1.age_group.value, str(r1.onset_date)) == (
        "ML-MOP-DJENNE-MOUGNA-S1", "cholera", 2, "F", "5+", "2026-11-17")
    assert (r3.disease, r3.cases, str(r3.onset_date)) == ("measles", 1, "2026-11-19")
    # a tablet re-syncs: the same events are ignored (never counted twice)
    again = http.post("/api/v1/dhis2/tracker", json={"events": body["events"][:1]}).json()
    assert again["status"] == "OK" and again["stats"]["created"] == 0 and again["stats"]["ignored"] == 1
    assert again["validationReport"]["warningReports"][0]["uid"] == "EvtAAAAAAA1"


def test_all_failing_is_error_409_and_kept_then_reprocessed_after_mapping_fix(http, site_uid, live_app):
    bad = event("EvtBBBBBBB1", site_uid, disease="LEPRE", cases="1")
    r = http.post("/api/v1/dhis2/tracker", json={"events": [bad]})
    assert r.status_code == 409 and r.json()["status"] == "ERROR"
    assert r.json()["validationReport"]["errorReports"][0]["errorCode"] == "report.disease.unknown"
    kept = http.get("/api/v1/rejected", params={"channel": "dhis2"}).json()["items"]
    assert len(kept) == 1 and kept[0]["raw"]["event"] == "EvtBBBBBBB1"
    # still failing: same item keeps its reason, no second row
    still = http.post(f"/api/v1/rejected/{kept[0]['rejected_id']}/reprocess").json()
    assert still["status"] == "rejected" and still["errors"][0]["key"] == "report.disease.unknown"
    # the mapping is fixed (LEPRE now maps to a known code); re-process
    from ingest.dhis2 import Dhis2Mapping
    channels = live_app.server.config.app.state.ingest_channels
    doc = channels.dhis2_mapping.model_dump()
    doc["programs"][0]["options"]["disease"]["LEPRE"] = "rabies"
    channels.dhis2_mapping = Dhis2Mapping.model_validate(doc)
    done = http.post(f"/api/v1/rejected/{kept[0]['rejected_id']}/reprocess").json()
    assert done["status"] == "accepted" and done["report_id"]
    assert http.get("/api/v1/rejected", params={"channel": "dhis2"}).json()["items"] == []
    assert http.post(f"/api/v1/rejected/{kept[0]['rejected_id']}/reprocess").status_code == 409


def test_bad_payloads_are_400_and_kept(http):
    for i, body in enumerate([b'{"events": [', b'{"trackedEntities": []}', b'[1, 2]']):
        r = http.post("/api/v1/dhis2/tracker", content=body, headers={"content-type": "application/json"})
        assert r.status_code == 400, body
        assert len(http.get("/api/v1/rejected", params={"channel": "dhis2"}).json()["items"]) == i + 1


def test_mapping_is_checked_at_load(diseases, tmp_path):
    from ingest.dhis2 import load_dhis2_mapping
    from ingest.errors import DomainError
    p = tmp_path / "m.yaml"
    p.write_text("programs:\n  - {program: P1, dataElements: {cases: D1}}\n")
    with pytest.raises(DomainError, match="disease"):
        load_dhis2_mapping(p, diseases)
    p.write_text("programs:\n  - {program: P1, disease: zombie}\n")
    with pytest.raises(DomainError, match="zombie"):
        load_dhis2_mapping(p, diseases)
    p.write_text("programs:\n  - {program: P1, disease: cholera, dataElements: {colour: D1}}\n")
    with pytest.raises(DomainError, match="colour"):
        load_dhis2_mapping(p, diseases)
