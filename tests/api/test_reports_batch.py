"""HTTP JSON channel: batches with per-item index and limit, bad-input classes, uploads, re-processing."""
from __future__ import annotations

import json

import httpx
import pytest

from tests.api.alerts_helpers import cheap_hashing, user_client  # noqa: F401 (fixture)

pytestmark = pytest.mark.integration

GOOD = {"client_id": "b-1", "orgunit_id": "ML-MOP-DJENNE-MOUGNA-S1", "disease": "malaria", "cases": 3,
        "onset_date": "2026-11-18"}


@pytest.fixture
def http(live_app, cheap_hashing):
    """Reports are posted as the foundation does; listings, uploads and re-processing need an admin."""
    with user_client(live_app, "admin", "admin", "ML") as client:
        yield client


def test_listings_need_an_administrator(live_app, cheap_hashing):
    anonymous = httpx.get(f"{live_app.url}/api/v1/rejected")
    assert anonymous.status_code == 401
    with user_client(live_app, "djenne", "district", "ML-MOP-DJENNE") as district:
        assert district.get("/api/v1/rejected").status_code == 403
        assert district.post("/api/v1/uploads/history", content="a,b\n").status_code == 403
        assert district.get("/api/v1/history", params={"area": "ML-MOP-DJENNE", "disease": "malaria"}).status_code == 200
        assert district.get("/api/v1/history", params={"area": "ML-SIK", "disease": "malaria"}).status_code == 403


def test_batch_accepts_valid_items_with_per_item_index(http):
    batch = [GOOD, GOOD, GOOD | {"client_id": "b-2", "disease": "zombie"}, "not an object",
             GOOD | {"client_id": "b-3", "onset_date": "2026-11-02"}]
    r = http.post("/api/v1/reports", json=batch, headers={"accept-language": "fr"})
    assert r.status_code == 200
    res = r.json()["results"]
    assert [(x["index"], x["status"]) for x in res] == [(0, "accepted"), (1, "duplicate"), (2, "rejected"),
                                                        (3, "rejected"), (4, "accepted")]
    assert res[2]["errors"][0]["key"] == "report.disease.unknown"
    assert res[2]["errors"][0]["message"] == "Code maladie inconnu : zombie."
    assert res[3]["errors"][0]["key"] == "report.format.invalid"
    assert (res[0]["late"], res[4]["late"]) == (False, True)
    assert r.json()["summary"] == {"accepted": 2, "duplicate": 1, "rejected": 2, "total": 5}


def test_batch_over_the_limit_is_413_and_kept(http, live_app):
    live_app.server.config.app.state.settings = live_app.server.config.app.state.settings.model_copy(
        update={"max_batch_items": 3})
    r = http.post("/api/v1/reports", json=[GOOD | {"client_id": f"l-{i}"} for i in range(4)])
    assert r.status_code == 413 and r.json()["error"]["key"] == "report.batch.too_large"
    kept = http.get("/api/v1/rejected", params={"reason": "report.batch.too_large"}).json()["items"]
    assert len(kept) == 1 and len(kept[0]["raw"]) == 4


BAD_INPUT = [
    ({"cases": "three"}, "report.field.type"),
    ({"orgunit_id": "ML-NOWHERE"}, "report.orgunit.unknown"),
    ({"disease": "zombie"}, "report.disease.unknown"),
    ({"onset_date": "2027-01-01"}, "report.date.future"),
    ({"onset_date": "1999-12-31"}, "report.date.too_old"),
    ({"cases": -1}, "report.count.negative"),
    ({"cases": 100000}, "report.cases.absurd"),
]


def test_each_bad_input_class_has_its_key_and_can_be_listed(http):
    # one server for the whole table (a live server per row costs seconds)
    for i, (change, key) in enumerate(BAD_INPUT):
        r = http.post("/api/v1/reports", json=GOOD | {"client_id": f"bad-{i}"} | change)
        assert r.status_code == 422 and r.json()["error"]["key"] == key, (change, r.text)
        listed = http.get("/api/v1/rejected", params={"reason": key}).json()["items"]
        assert [x["rejected_id"] for x in listed] == [r.json()["rejected_id"]], key
    assert len(http.get("/api/v1/rejected").json()["items"]) == len(BAD_INPUT)


def test_chunked_oversized_body_is_cut_at_the_limit(http, live_app):
    limit = live_app.server.config.app.state.settings.max_body_bytes

    def chunks():  # no content-length: the server must count while reading
        for _ in range(limit // 65536 + 2):
            yield b" " * 65536

    r = http.post("/api/v1/reports", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["key"] == "report.body.too_large"
    kept = http.get("/api/v1/rejected", params={"reason": "report.body.too_large"}).json()["items"]
    assert len(kept) == 1 and len(kept[0]["raw"]) <= 4096  # only the head is kept


def test_malformed_bodies_cannot_be_reprocessed(http):
    rid = http.post("/api/v1/reports", content=b'{"a": ', headers={"content-type": "application/json"}).json()[
        "rejected_id"]
    r = http.post(f"/api/v1/rejected/{rid}/reprocess")
    assert r.json()["status"] == "not_reprocessable"
    assert http.post("/api/v1/rejected/nope/reprocess").status_code == 404


def test_unregistered_sms_reprocessed_after_the_chw_is_registered(http, live_app, tmp_path):
    app = live_app.server.config.app
    app.state.settings = app.state.settings.model_copy(update={"sms_generic_secret": "gen-secret-0123456789"})
    hdr = {"X-Sebac-Secret": "gen-secret-0123456789"}
    for i, text in enumerate(["PALU 2", "RAS", "CHOL 1 F"]):
        r = http.post("/api/v1/sms/generic", json={"from": "+22378787878", "text": text, "id": f"u-{i}"}, headers=hdr)
        assert r.json()["status"] == "unregistered"
    assert http.post("/api/v1/reports", json=GOOD | {"client_id": "o-1", "orgunit_id": "ML-NOWHERE"}).status_code == 422
    # register the CHW in the registry file and reload it, then bulk re-process the unregistered signals
    registry_file = tmp_path / "chws.csv"
    registry_file.write_text("id,phone,site_id\nASC-NEW,+22378787878,ML-MOP-DJENNE-TAGA-S1\n")
    app.state.settings = app.state.settings.model_copy(update={"chw_registry_path": registry_file})
    assert http.post("/api/v1/sms/registry/reload").json() == {"chws": 1}
    r = http.post("/api/v1/rejected/reprocess", params={"reason": "sms.reporter.unknown"}).json()
    assert r["summary"] == {"accepted": 2, "zero": 1}
    assert http.get("/api/v1/sms/unregistered").json()["items"] == []
    assert len(http.get("/api/v1/rejected").json()["items"]) == 1  # the unknown org unit remains
    # the CHW's gateway retries one of them: now a duplicate, counted once
    r = http.post("/api/v1/sms/generic", json={"from": "+22378787878", "text": "PALU 2", "id": "u-0"}, headers=hdr)
    assert r.json()["status"] == "duplicate"


def test_upload_backlog_and_history(http):
    csv_text = ("client_id,orgunit_id,disease,cases,onset_date\n"
                "u-1,ML-MOP-DJENNE-MOUGNA-S1,malaria,2,2026-11-18\n"
                "u-2,ML-NOWHERE,malaria,2,2026-11-18\n")
    r = http.post("/api/v1/uploads/reports", content=csv_text, headers={"content-type": "text/csv"})
    assert r.status_code == 200 and (r.json()["accepted"], r.json()["rejected"]) == (1, 1)
    assert r.json()["errors"][0]["line"] == 3
    nd = "\n".join(json.dumps(GOOD | {"client_id": f"n-{i}"}) for i in range(3))
    r = http.post("/api/v1/uploads/reports", params={"format": "ndjson"}, content=nd)
    assert (r.json()["format"], r.json()["accepted"]) == ("ndjson", 3)
    r = http.post("/api/v1/uploads/reports", content="x,y\n1,2\n", headers={"content-type": "text/csv"})
    assert r.status_code == 400 and r.json()["error"]["key"] == "csv.header.invalid"
    hist = "area_id,disease,iso_year,iso_week,count\nML-MOP-DJENNE,malaria,2025,46,120\nML-MOP-DJENNE,malaria,2025,54,1\n"
    r = http.post("/api/v1/uploads/history", content=hist)
    assert r.json()["stored"] == 1 and r.json()["errors"][0]["line"] == 3
    got = http.get("/api/v1/history", params={"area": "ML-MOP-DJENNE", "disease": "malaria"}).json()
    assert got["items"] == [{"iso_year": 2025, "iso_week": 46, "count": 120}]
