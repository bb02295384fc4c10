"""What CHWs type, through the real webhooks: bytes that are not UTF-8, other scripts, digits,
dates outside the window (``SEBAC_SMS_DATE_WINDOW_DAYS``), zero reports counted for completeness."""
from __future__ import annotations

import pytest

from tests.api.alerts_helpers import cheap_hashing, user_client  # noqa: F401 (fixture)
from tests.api.test_sms_webhooks import (  # noqa: F401 (fixture)
    GENERIC,
    PHONE,
    TELERIVET,
    secrets_env,
    telerivet_form,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def http(secrets_env, live_app, cheap_hashing):
    with user_client(live_app, "admin", "admin", "ML") as client:
        yield client


def _form(**fields) -> str:
    from urllib.parse import urlencode
    return urlencode(telerivet_form("placeholder", **fields))


def test_telerivet_content_that_is_not_utf8_is_400_with_a_key_and_kept(http):
    body = _form(msg_id="SMbad1").replace("content=placeholder", "content=%FF%FE")
    r = http.post("/api/v1/sms/telerivet", content=body,
                  headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["key"] == "sms.encoding.invalid"
    assert "content" in r.json()["error"]["message"] and "vide" not in r.json()["error"]["message"]
    [kept] = http.get("/api/v1/rejected", params={"channel": "sms", "reason": "sms.encoding.invalid"}).json()["items"]
    assert "content=%FF%FE" in kept["raw"] and "secret=[redacted]" in kept["raw"] and TELERIVET not in kept["raw"]
    for _ in range(2):  # Telerivet's retries of the same message add nothing
        assert http.post("/api/v1/sms/telerivet", content=body,
                         headers={"content-type": "application/x-www-form-urlencoded"}).status_code == 400
    assert len(http.get("/api/v1/rejected", params={"channel": "sms"}).json()["items"]) == 1


@pytest.mark.parametrize("text, key, reply_starts", [
    ("كوليرا ٣", "sms.format.unknown", "Format du message non reconnu."),
    ("CHOL ³", "sms.digit.lookalike", "³ (U+00B3 SUPERSCRIPT THREE) n'est pas un chiffre lisible."),
    ("\u200b", "sms.empty", "Message vide."),
])
def test_text_that_cannot_be_read_gets_the_reason(http, text, key, reply_starts):
    r = http.post("/api/v1/sms/generic", json={"from": PHONE, "text": text, "id": f"t-{key}", "secret": GENERIC})
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    assert r.json()["errors"][0]["key"] == key and r.json()["reply"].startswith(reply_starts)


def test_arabic_indic_digits_are_read(http):
    r = http.post("/api/v1/sms/generic", json={"from": PHONE, "text": "CHOL ٣ F 5+ ١٨١١", "id": "ar-1",
                                               "secret": GENERIC})
    assert (r.json()["status"], r.json()["reply"]) == ("accepted", "Rapport reçu : 3 Choléra. Merci.")


def test_lone_surrogate_in_a_json_text_is_answered_not_500(http):
    body = '{"from": "%s", "text": "\\ud800", "id": "sur-1", "secret": "%s"}' % (PHONE, GENERIC)
    r = http.post("/api/v1/sms/generic", content=body.encode(), headers={"content-type": "application/json"})
    assert r.status_code == 200, r.text
    assert r.json()["errors"][0]["key"] == "sms.format.unknown"
    assert http.get("/api/v1/rejected").status_code == 200


@pytest.fixture
def narrow_window(monkeypatch):
    monkeypatch.setenv("SEBAC_SMS_DATE_WINDOW_DAYS", "10")


def test_onset_outside_the_configured_window_is_refused_and_resend_asked(narrow_window, http, live_app):
    r = http.post("/api/v1/sms/generic", json={"from": PHONE, "text": "CHOL 3 F 5+ 0511", "id": "w-1",
                                               "secret": GENERIC})
    assert r.json()["status"] == "rejected" and r.json()["errors"][0]["key"] == "sms.date.out_of_window"
    assert "10 derniers jours" in r.json()["reply"] and "Renvoyez" in r.json()["reply"]
    r = http.post("/api/v1/sms/generic", json={"from": PHONE, "text": "CHOL 3 F 5+ 1811", "id": "w-2",
                                               "secret": GENERIC})
    assert r.json()["status"] == "accepted"


def test_chol_0_counts_for_completeness_and_stores_no_report(http, live_app):
    r = http.post("/api/v1/sms/generic", json={"from": PHONE, "text": "CHOL 0", "id": "z-1", "secret": GENERIC})
    assert r.json()["status"] == "zero", r.text
    pipeline = live_app.server.config.app.state.pipeline
    chw = live_app.server.config.app.state.ingest_channels.registry.by_number(PHONE)
    district = pipeline.pyramid.ancestor_at(chw.site_id, "district").id
    q = http.get("/api/v1/quality", params={"week": "2026-W47", "district": district}).json()
    [row] = [s for s in q["sites"] if s["site_id"] == chw.site_id]
    assert row["complete"] is True and row["reports"] == 1
    with pipeline.db.connect() as conn:
        assert pipeline.reports.count(conn) == 0
    assert http.get("/api/v1/alerts").json()["total"] == 0
