"""A real server, the demo's people and a real Chromium (Debian's, driven by Playwright)."""
from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest

from sebac.demo_people import create_demo_users
from tests.api.alerts_helpers import cheap_hashing  # noqa: F401

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTEFACTS = Path(__file__).resolve().parents[2] / "data" / "test-artefacts"
MOUGNA = {"client_id": "chw-mougna-1", "orgunit_id": "ML-MOP-DJENNE-MOUGNA-S1", "disease": "cholera", "cases": 2,
          "onset_date": "2026-11-19", "sex": "F", "age_group": "5+", "text": "CHOL 2 F 5+ 1911"}
KAYES = MOUGNA | {"client_id": "chw-kayes-1", "orgunit_id": "ML-KAY-KAYES-KHASSO-S1"}


@pytest.fixture
def console(live_app, cheap_hashing):
    pipeline = live_app.server.config.app.state.pipeline
    users = {u.role: u for u in create_demo_users(pipeline, seed=1)}
    ids = {}
    for name, payload in (("djenne", MOUGNA), ("kayes", KAYES)):
        r = httpx.post(f"{live_app.url}/api/v1/reports", json=payload)
        assert r.status_code == 201, r.text
        ids[name] = r.json()["alert_ids"][0]
    return live_app.url, users, ids


@pytest.fixture(scope="module")  # closed with its module: Playwright's sync API holds an event loop
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Debian's chromium is needed for the console tests: apt-get install chromium ({CHROMIUM})")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


def login(page, url: str, user) -> None:
    page.goto(f"{url}/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", user.password)
    page.click("form.login button[type=submit]")
    page.wait_for_url(f"{url}/")


def shot(page, name: str) -> Path:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTEFACTS / name
    page.screenshot(path=str(path), full_page=True)
    return path
