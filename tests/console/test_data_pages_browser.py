"""The data pages in a real browser: the Djenné epidemiologist reaches them from the menu, decides a
possible duplicate with JavaScript off, prints the sitrep; weight, axe, a 360-px phone."""
from __future__ import annotations

import gzip
import re

import httpx
import pytest

from tests.console.conftest import MOUGNA, login, shot

pytestmark = [pytest.mark.integration, pytest.mark.browser]


def test_menu_to_quality_sitrep_and_rejected_without_javascript(browser, console):
    url, users, _ = console
    twin = httpx.post(f"{url}/api/v1/reports", json=MOUGNA | {"client_id": "chw-twin"})
    assert twin.json().get("possible_duplicate_of")
    bad = httpx.post(f"{url}/api/v1/reports", json=MOUGNA | {"client_id": "chw-bad", "cases": -3})
    assert bad.status_code == 422
    context = browser.new_context(java_script_enabled=False, locale="fr-FR", viewport={"width": 1000, "height": 900})
    page = context.new_page()
    login(page, url, users["district"])
    page.get_by_role("link", name="Qualité des données").click()
    page.wait_for_url(re.compile(r".*/quality$"))
    assert page.locator("h1").inner_text().startswith("Qualité des données · Djenné")
    shot(page, "quality.png")
    page.get_by_role("button", name="Deux rapports réels").click()
    page.wait_for_selector("text=Aucun doublon possible n'attend de décision.")
    page.get_by_role("link", name="Bilan hebdomadaire").click()
    page.wait_for_url(re.compile(r".*/sitrep/ML-MOP-DJENNE/\d{4}-W\d{2}$"))
    page.goto(page.url.rsplit("/", 1)[0] + "/2026-W47")
    assert page.locator("table.cases caption").first.inner_text() == "Choléra"
    shot(page, "sitrep.png")
    page.get_by_role("link", name="Rejets").click()
    page.wait_for_url(f"{url}/rejected")
    assert page.locator(f"input[value='{bad.json()['rejected_id']}']").count() == 1
    shot(page, "rejected.png")
    context.close()


def test_data_pages_weight_and_accessibility(browser, console):
    from axe_playwright_python.sync_playwright import Axe

    url, users, _ = console
    page = browser.new_page(locale="fr-FR", viewport={"width": 360, "height": 740})
    login(page, url, users["district"])
    cookies = {c["name"]: c["value"] for c in page.context.cookies() if c["name"] == "sebac_session"}
    paths = ("/quality?week=2026-W47", "/rejected?status=all", "/sitrep/ML-MOP-DJENNE/2026-W47")
    for path in paths:
        html = httpx.get(f"{url}{path}", cookies=cookies, headers={"Accept-Encoding": "gzip"})
        assert html.status_code == 200, path
        total = len(gzip.compress(html.content)) + sum(
            len(gzip.compress(httpx.get(f"{url}{a}").content))
            for a in re.findall(r'(?:src|href)="(/static/[^"]+)"', html.text))
        assert total <= 100_000, (path, total)
        page.goto(f"{url}{path}")
        serious = [v["id"] for v in Axe().run(page).response["violations"] if v["impact"] in ("serious", "critical")]
        assert serious == [], (path, serious)
        wide = page.evaluate("[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > 361 && !e.closest('.scroll'))"
                             ".map(e => e.tagName + '.' + e.className).slice(0, 5)")
        assert page.evaluate("document.documentElement.scrollWidth") <= 360 + 1, (path, wide)  # no sideways scroll
    page.close()


def test_a_cscom_nurse_sees_quality_but_not_rejected_or_sitrep(browser, console):
    url, users, _ = console
    page = browser.new_page(locale="fr-FR")
    login(page, url, users["cscom"])
    assert page.get_by_role("link", name="Qualité des données").count() == 1
    assert page.get_by_role("link", name="Rejets").count() == 0
    assert page.goto(f"{url}/rejected").status == 403
    assert "n'a pas accès à cette page" in page.locator(".error").inner_text()
    assert page.goto(f"{url}/sitrep/ML-MOP-DJENNE/2026-W47").status == 403
    page.close()
