"""Errors are answered in the reader's language: Accept-Language, else the user's profile, else English."""
from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

import alerts.sms_commands  # noqa: F401 - its replies are in the catalogue too
from alerts.lifecycle import ACTIONS
from api.lang import accepted
from ingest.messages import CATALOGUE
from tests.api.alerts_helpers import cheap_hashing, login, make_user  # noqa: F401

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("cheap_hashing")]
ROOT = Path(__file__).resolve().parents[2]
CASE = {"client_id": "k-1", "orgunit_id": "ML-SIK-KADIOLO-ZEGOUA-S1", "disease": "cholera", "cases": 1,
        "onset_date": "2026-11-19"}


@pytest.mark.parametrize("header,want", [("fr", "fr"), ("fr-ML,fr;q=0.9,en;q=0.8", "fr"), ("en-US", "en"),
                                         ("de, en;q=0.5", "en"), ("de", None), ("fr;q=0, en", "en"), ("", None),
                                         ("bm", "bm"), ("fr;q=abc", None)])
def test_accept_language(header, want):
    assert accepted(header) == want


def test_alert_refusals_follow_accept_language_then_the_profile(live_app):
    pipeline = live_app.server.config.app.state.pipeline
    alert_id = pipeline.submit(CASE).alerts[0].alert_id
    make_user(live_app, "epi.djenne", "district", "ML-MOP-DJENNE")   # profile: fr (the default)
    http = login(live_app, "epi.djenne")
    url = f"/api/v1/alerts/{alert_id}/acknowledge"
    fr = http.post(url, headers={"Accept-Language": "fr-ML, en;q=0.5"}).json()["error"]
    en = http.post(url, headers={"Accept-Language": "en"}).json()["error"]
    profile = http.post(url).json()["error"]
    assert fr["key"] == en["key"] == "auth.jurisdiction.denied"
    assert fr["message"] == f"L'alerte #{alert_id} n'est pas dans votre zone."
    assert en["message"] == f"Alert #{alert_id} is outside your area."
    assert profile["message"] == fr["message"]
    anonymous = httpx.get(f"{live_app.url}/api/v1/alerts", headers={"Accept-Language": "fr"}).json()["error"]
    assert anonymous["message"] == "Connectez-vous d'abord."
    assert httpx.get(f"{live_app.url}/api/v1/alerts").json()["error"]["message"] == "Log in first."


def test_wrong_status_names_the_status_in_french(live_app):
    pipeline = live_app.server.config.app.state.pipeline
    alert_id = pipeline.submit(CASE | {"orgunit_id": "ML-MOP-DJENNE-MOUGNA-S1"}).alerts[0].alert_id
    make_user(live_app, "epi.djenne", "district", "ML-MOP-DJENNE")
    http = login(live_app, "epi.djenne")
    assert http.post(f"/api/v1/alerts/{alert_id}/acknowledge").status_code == 200
    err = http.post(f"/api/v1/alerts/{alert_id}/respond", headers={"Accept-Language": "fr"}).json()["error"]
    assert err == {"key": "alert.respond.wrongStatus", "message": f"Alerte #{alert_id} : impossible, elle est "
                                                                  "acquittée.", "errors": []}


def _raised_keys() -> set[str]:
    keys = set()
    for path in [*ROOT.glob("alerts/*.py"), *ROOT.glob("api/**/*.py")]:
        for m in re.finditer(r"(?:DomainError|_deny|_denied)\(\s*f?\"([A-Za-z0-9_.{}]+)\"", path.read_text()):
            key = m.group(1)
            keys |= {key.replace("{action}", a) for a in ACTIONS} if "{action}" in key else {key}
    return keys


def test_every_key_people_can_meet_in_alerts_and_api_has_french_and_english():
    keys = _raised_keys()
    assert len(keys) > 30
    missing = {lang: sorted(k for k in keys if k not in CATALOGUE[lang]) for lang in ("fr", "en")}
    assert missing == {"fr": [], "en": []}
