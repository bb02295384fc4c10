"""SMS gateway webhooks over real HTTP (uvicorn): Telerivet, RapidPro, generic; secrets; replies."""
from __future__ import annotations

import json
import logging

import httpx
import pytest

from tests.api.sms_helpers import (  # noqa: F401
    GENERIC,
    PHONE,
    RAPIDPRO,
    TELERIVET,
    cheap_hashing,
    http,
    pipeline_of,
    secrets_env,
    telerivet_form,
)

pytestmark = pytest.mark.integration


def test_telerivet_retry_gets_the_original_confirmation_and_is_counted_once(http, live_app):
    r = http.post("/api/v1/sms/telerivet", data=telerivet_form("CHOL 3 F 5+ 1811"))
    assert r.status_code == 200, r.text
    assert r.json() == {"messages": [{"content": "Rapport reçu : 3 Choléra. Merci."}]}
    again = http.post("/api/v1/sms/telerivet", data=telerivet_form("CHOL 3 F 5+ 1811"))
    assert again.json() == r.json()  # the first answer was lost: the CHW gets the confirmation, not "déjà reçu"
    pipeline = live_app.server.config.app.state.pipeline
    with pipeline.db.connect() as conn:
        reports = pipeline.reports.list(conn)
    assert len(reports) == 1 and reports[0].idempotency_key == "sms:telerivet:PJ1:SMab01"
    assert reports[0].reporter == "ASC-0001"


def test_telerivet_message_ids_are_unique_per_project(http, live_app):
    for project in ("PJ1", "PJ2", "PJ2"):
        http.post("/api/v1/sms/telerivet", data=telerivet_form("PALU 2", msg_id="SMsame", project_id=project))
    with live_app.server.config.app.state.pipeline.db.connect() as conn:
        keys = sorted(r.idempotency_key for r in pipeline_of(live_app).reports.list(conn))
    assert keys == ["sms:telerivet:PJ1:SMsame", "sms:telerivet:PJ2:SMsame"]


def test_telerivet_payload_error_is_kept_once_per_message_without_its_secret(http, live_app, caplog):
    caplog.set_level(logging.DEBUG)
    form = telerivet_form("CHOL 1", msg_id="SMnofrom")
    del form["from_number"], form["from_number_e164"]
    for _ in range(3):  # Telerivet retries a webhook that did not answer 2xx
        r = http.post("/api/v1/sms/telerivet", data=form)
        assert r.status_code == 400 and r.json()["error"]["key"] == "sms.payload.invalid"
    [kept] = http.get("/api/v1/rejected", params={"channel": "sms", "reason": "sms.payload.invalid"}).json()["items"]
    assert "secret=[redacted]" in kept["raw"] and "id=SMnofrom" in kept["raw"]
    assert TELERIVET not in kept["raw"] and TELERIVET not in caplog.text
    logging.getLogger("sebac.test").warning("gateway posted secret=%s&id=1", TELERIVET)
    assert caplog.records and TELERIVET not in caplog.text  # the filter sees every record, not only ours


def test_telerivet_wrong_or_missing_secret_is_403_and_not_stored(http, live_app):
    assert http.post("/api/v1/sms/telerivet", data=telerivet_form("CHOL 1", secret="nope")).status_code == 403
    form = telerivet_form("CHOL 1")
    del form["secret"]
    r = http.post("/api/v1/sms/telerivet", data=form)
    assert r.status_code == 403 and r.json()["error"]["key"] == "sms.secret.invalid"
    pipeline = live_app.server.config.app.state.pipeline
    with pipeline.db.connect() as conn:
        assert pipeline.reports.count(conn) == 0 and pipeline.rejected.count(conn) == 0


def test_telerivet_status_events_are_acknowledged_and_ignored(http):
    r = http.post("/api/v1/sms/telerivet", data=telerivet_form("", event="send_status", status="delivered"))
    assert r.status_code == 200 and r.json() == {"messages": []}


def test_garbage_sms_gets_a_plain_words_reply_and_is_kept(http):
    r = http.post("/api/v1/sms/telerivet", data=telerivet_form("bonjour docteur", msg_id="SMg1"))
    assert r.json()["messages"][0]["content"] == "Maladie inconnue BONJOUR. Envoyez par ex. CHOL 3 F 5+ 0511."
    rejected = http.get("/api/v1/rejected", params={"channel": "sms"}).json()["items"]
    assert rejected[0]["errors"][0]["key"] == "sms.disease.unknown"


def test_rapidpro_flow_webhook(http):
    body = {"contact": {"uuid": "c1", "name": "Awa", "urn": f"tel:{PHONE}"},
            "flow": {"uuid": "f1", "name": "SEBAC"}, "path": [], "results": {},
            "run": {"uuid": "r1", "created_on": "2026-11-20T08:59:00Z"},
            "input": {"uuid": "9b1c7f2e-0000-4000-8000-000000000001", "type": "msg", "text": "palu 4 m -5",
                      "attachments": [], "urn": f"tel:{PHONE}", "created_on": "2026-11-20T08:58:00Z"},
            "channel": {"uuid": "ch1", "name": "Orange Mali"}}
    r = http.post("/api/v1/sms/rapidpro", json=body, headers={"Authorization": f"Token {RAPIDPRO}"})
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["reply"]) == ("accepted", "Rapport reçu : 4 Paludisme. Merci.")
    assert http.post("/api/v1/sms/rapidpro", json=body, headers={"X-Sebac-Secret": RAPIDPRO}).json()["status"] == \
        "duplicate"
    assert http.post("/api/v1/sms/rapidpro", json=body, headers={"X-Sebac-Secret": TELERIVET}).status_code == 403


def test_generic_gateway_json_and_form_and_unknown_phone(http):
    r = http.post("/api/v1/sms/generic", json={"from": PHONE, "text": "1#2#2", "id": "g-1", "secret": GENERIC})
    assert r.json()["status"] == "accepted"
    r = http.post("/api/v1/sms/generic", data={"phone": "+22399000000", "message": "CHOL 1", "id": "g-2"},
                  headers={"X-Sebac-Secret": GENERIC})
    assert r.status_code == 200 and r.json()["status"] == "unregistered"
    listed = http.get("/api/v1/sms/unregistered").json()["items"]
    assert [(i["phone"], i["text"]) for i in listed] == [("+22399000000", "CHOL 1")]


BAD_PAYLOADS = [
    (b'{"from": "+22370000001", "text": ', "report.json.malformed"),
    (b'\xff\xfe\x00garbage', "report.encoding.invalid"),
    (json.dumps({"text": "CHOL 1"}).encode(), "sms.payload.invalid"),
]


def test_generic_bad_payloads_are_400_and_kept(http):
    for content, key in BAD_PAYLOADS:
        r = http.post("/api/v1/sms/generic", content=content,
                      headers={"content-type": "application/json", "X-Sebac-Secret": GENERIC})
        assert r.status_code == 400 and r.json()["error"]["key"] == key
        rejected = http.get("/api/v1/rejected", params={"channel": "sms", "reason": key}).json()["items"]
        assert len(rejected) == 1
    assert len(http.get("/api/v1/rejected", params={"channel": "sms"}).json()["items"]) == 3
    r = http.post("/api/v1/sms/generic", content=b"{" + b" " * 70_000 + b"}",
                  headers={"content-type": "application/json", "X-Sebac-Secret": GENERIC})
    assert r.status_code == 413 and r.json()["error"]["key"] == "report.body.too_large"


def test_unconfigured_gateway_is_503(live_app):
    r = httpx.post(f"{live_app.url}/api/v1/sms/telerivet", data=telerivet_form("CHOL 1"))
    assert r.status_code == 404 and r.json()["error"]["key"] == "sms.gateway.disabled"


def test_same_event_by_sms_and_by_tablet_is_flagged_and_the_late_week_is_queued(http, live_app, clock):
    from ingest.reevaluation import pending

    pipeline = live_app.server.config.app.state.pipeline
    site = live_app.server.config.app.state.ingest_channels.registry.by_number(PHONE).site_id
    area = pipeline.pyramid.ancestor_at(site, "health_area").id
    sms = http.post("/api/v1/sms/telerivet", data=telerivet_form("CHOL 2 F 5+ 0211", msg_id="SMtwice"))
    assert "en retard" in sms.json()["messages"][0]["content"]  # onset 2 Nov: week 45 closed on 10 Nov
    with pipeline.db.connect() as conn:  # queued for the detectors (they pop it after the settle delay)
        assert [(q.area_id, q.disease, q.epiweek) for q in pending(conn)] == [(area, "cholera", "2026-W45")]
    clock.advance(hours=3)  # the tablet syncs later that day
    event = {"event": "EvtTwice001", "program": "SbcSignal01", "programStage": "SbcStage001",
             "orgUnit": pipeline.pyramid.get(site).dhis2_uid, "occurredAt": "2026-11-02",
             "dataValues": [{"dataElement": "DeMaladie01", "value": "CHOLERA"},
                            {"dataElement": "DeNbCas0001", "value": "2"}]}
    r = http.post("/api/v1/dhis2/tracker", json={"events": [event]})
    assert r.status_code == 200 and r.json()["stats"]["created"] == 1, r.text
    pairs = http.get("/api/v1/reports/possible-duplicates").json()["items"]
    assert [(p["channels"], p["cross_channel"], p["cases"]) for p in pairs] == [(["dhis2", "sms"], True, 2)]
