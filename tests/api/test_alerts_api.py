"""The alert API over real HTTP: jurisdiction, actions and their error keys."""
from __future__ import annotations

import httpx
import pytest
import sqlalchemy as sa

from alerts.tables import alert_events, alerts
from tests.api.alerts_helpers import cheap_hashing, login, make_user, user_client  # noqa: F401

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("cheap_hashing")]

KADIOLO_CASE = {"client_id": "k-1", "orgunit_id": "ML-SIK-KADIOLO-ZEGOUA-S1", "disease": "cholera", "cases": 1,
                "onset_date": "2026-11-19"}
DJENNE_CASE = {"client_id": "d-1", "orgunit_id": "ML-MOP-DJENNE-MOUGNA-S1", "disease": "cholera", "cases": 2,
               "onset_date": "2026-11-19"}


def _raise(live_app, payload) -> int:
    pipeline = live_app.server.config.app.state.pipeline
    res = pipeline.submit(payload)
    assert res.status == "accepted", res.errors
    return res.alerts[0].alert_id


def _state(live_app, alert_id):
    pipeline = live_app.server.config.app.state.pipeline
    with pipeline.db.connect() as conn:
        row = conn.execute(sa.select(alerts).where(alerts.c.alert_id == alert_id)).first()
        n = conn.execute(sa.select(sa.func.count()).select_from(alert_events)
                         .where(alert_events.c.alert_id == alert_id)).scalar_one()
    return dict(row._mapping), n


def test_cross_jurisdiction_read_and_acknowledge_are_denied_and_change_nothing(live_app):
    kadiolo = _raise(live_app, KADIOLO_CASE)
    djenne = _raise(live_app, DJENNE_CASE)
    mopti_user = user_client(live_app, "epi.mopti", "district", "ML-MOP-MOPTI")
    djenne_user = user_client(live_app, "epi.djenne", "district", "ML-MOP-DJENNE")
    before = _state(live_app, kadiolo)
    r = mopti_user.get(f"/api/v1/alerts/{kadiolo}")
    assert r.status_code == 403 and r.json()["error"]["key"] == "auth.jurisdiction.denied"
    r = mopti_user.post(f"/api/v1/alerts/{kadiolo}/acknowledge")
    assert r.status_code == 403 and r.json()["error"]["key"] == "auth.jurisdiction.denied"
    assert _state(live_app, kadiolo) == before
    assert mopti_user.get("/api/v1/alerts").json()["items"] == []  # Mopti district sees neither
    assert [a["alert_id"] for a in djenne_user.get("/api/v1/alerts").json()["items"]] == [djenne]
    region = user_client(live_app, "drs.mopti", "region", "ML-MOP")
    assert [a["alert_id"] for a in region.get("/api/v1/alerts").json()["items"]] == [djenne]
    national = user_client(live_app, "dgshp", "national", "ML")
    listed = national.get("/api/v1/alerts").json()
    assert {a["alert_id"] for a in listed["items"]} == {kadiolo, djenne} and listed["total"] == 2


def test_district_user_works_an_alert_through_its_lifecycle(live_app):
    alert_id = _raise(live_app, DJENNE_CASE)
    http = user_client(live_app, "epi.djenne", "district", "ML-MOP-DJENNE")
    r = http.post(f"/api/v1/alerts/{alert_id}/respond")
    assert r.status_code == 409 and r.json()["error"]["key"] == "alert.respond.wrongStatus"
    assert http.post(f"/api/v1/alerts/{alert_id}/acknowledge").json()["status"] == "acknowledged"
    r = http.post(f"/api/v1/alerts/{alert_id}/discard", json={})
    assert r.status_code == 422 and r.json()["error"]["key"] == "alert.discard.reasonRequired"
    assert http.post(f"/api/v1/alerts/{alert_id}/verify").json()["status"] == "verified"
    assert http.post(f"/api/v1/alerts/{alert_id}/respond").json()["status"] == "response"
    r = http.post(f"/api/v1/alerts/{alert_id}/close", json={"reason": "contained, 2 cases, no deaths"})
    body = r.json()
    assert r.status_code == 200 and body["status"] == "closed" and body["outcome"] == "contained, 2 cases, no deaths"
    assert [e["type"] for e in body["events"]] == ["created", "acknowledged", "verified", "response_started", "closed"]
    assert body["events"][1]["by"] == "user:epi.djenne"
    t = body["timeliness"]
    assert t["status"] == {"detection": "met", "notification": "met", "response": "met"} and t["compliant"] is True
    r = http.post(f"/api/v1/alerts/{alert_id}/dance")
    assert r.status_code == 404 and r.json()["error"]["key"] == "alert.action.unknown"
    assert http.get("/api/v1/alerts/99999").status_code == 404


@pytest.mark.parametrize("headers, key", [
    ({}, "auth.token.missing"),
    ({"Authorization": "Bearer sbt_not-a-real-token"}, "auth.token.invalid"),
    ({"Authorization": "Basic Zm9vOmJhcg=="}, "auth.token.missing"),
])
def test_alerts_need_a_valid_token(live_app, headers, key):
    r = httpx.get(f"{live_app.url}/api/v1/alerts", headers=headers)
    assert r.status_code == 401 and r.json()["error"]["key"] == key


def test_login_logout_and_roles(live_app):
    make_user(live_app, "asc.mougna", "chw", "ML-MOP-DJENNE-MOUGNA-S1")
    r = httpx.post(f"{live_app.url}/api/v1/auth/token", json={"username": "asc.mougna", "password": "wrong-password"})
    assert r.status_code == 401 and r.json()["error"]["key"] == "auth.login.failed"
    r = httpx.post(f"{live_app.url}/api/v1/auth/token", data={"username": "nobody", "password": "x" * 12})
    assert r.status_code == 401
    chw = login(live_app, "asc.mougna")
    assert chw.get("/api/v1/auth/me").json()["level"] == "site"
    r = chw.get("/api/v1/alerts")
    assert r.status_code == 403 and r.json()["error"]["key"] == "auth.role.forbidden"
    assert chw.post("/api/v1/auth/logout").status_code == 200
    assert chw.get("/api/v1/auth/me").json()["error"]["key"] == "auth.token.invalid"


def test_admin_creates_users_keys_and_subscriptions(live_app):
    admin = user_client(live_app, "admin", "admin", "ML")
    r = admin.post("/api/v1/users", json={"username": "epi.fana", "password": "long-enough-pass", "role": "district",
                                          "orgunit_id": "ML-KOU-FANA", "phone": "+223 70 11 22 33"})
    assert r.status_code == 201 and r.json()["phone"] == "+22370112233"
    r = admin.post("/api/v1/users", json={"username": "bad", "password": "long-enough-pass", "role": "district",
                                          "orgunit_id": "ML-KOU"})
    assert r.status_code == 422 and r.json()["error"]["key"] == "user.orgunit.levelMismatch"
    key = admin.post("/api/v1/api-keys", json={"name": "tablet 7", "kind": "device"}).json()
    assert key["api_key"].startswith("sbk_")
    fana = login(live_app, "epi.fana", "long-enough-pass")
    assert fana.get("/api/v1/users").status_code == 403
    r = fana.post("/api/v1/subscriptions", json={"orgunit_id": "ML-KOU-FANA", "channel": "email",
                                                "address": "epi@fana.ml"})
    assert r.status_code == 201 and r.json()["user_id"] is not None
    r = fana.post("/api/v1/subscriptions", json={"orgunit_id": "ML-KOU-KATI", "channel": "email",
                                                "address": "epi@fana.ml"})
    assert r.status_code == 403
    assert admin.delete(f"/api/v1/api-keys/{key['key_id']}").status_code == 200
