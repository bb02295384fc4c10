"""The console in a real browser: log in as the demo's Djenné epidemiologist, work an alert from open
to closed with JavaScript on (htmx) and off (plain forms), jurisdiction, languages, budgets, axe."""
from __future__ import annotations

import gzip
import re

import httpx
import pytest

from tests.console.conftest import login, shot

pytestmark = [pytest.mark.integration, pytest.mark.browser]


def _work_alert(page, url: str, alert_id: int) -> None:
    page.goto(f"{url}/alerts/{alert_id}")
    assert page.locator("svg.chart rect.bar").count() >= 1
    for button, status in (("Acquitter", "acquittée"), ("Vérifier (confirmée)", "vérifiée"),
                           ("Lancer la riposte", "en riposte")):
        page.get_by_role("button", name=button).click()
        page.wait_for_function("s => document.querySelector('.facts .status').textContent.trim() === s", arg=status)
    page.fill("#response-text", "chloration des puits")
    page.get_by_role("button", name="Enregistrer l'action").click()
    page.wait_for_selector("text=chloration des puits")
    page.fill("#reason-close", "épidémie contenue")
    page.get_by_role("button", name="Clôturer").click()
    page.wait_for_function("() => document.querySelector('.facts .status').textContent.trim() === 'clôturée'")
    assert page.locator(".timeline li").filter(has_text="clôturée").count() == 1


@pytest.mark.parametrize("javascript", [True, False], ids=["htmx", "no-js"])
def test_district_epidemiologist_works_an_alert_from_open_to_closed(browser, console, javascript):
    url, users, ids = console
    context = browser.new_context(java_script_enabled=javascript, locale="fr-FR", viewport={"width": 1000, "height": 900})
    page = context.new_page()
    outside = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(url) else None)
    login(page, url, users["district"])
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.locator(f"a[href='/alerts/{ids['djenne']}']").count() >= 1
    assert page.locator(f"a[href='/alerts/{ids['kayes']}']").count() == 0  # Kayes is not Djenné's
    shot(page, f"inbox-{'js' if javascript else 'nojs'}.png")
    _work_alert(page, url, ids["djenne"])
    shot(page, f"alert-{'js' if javascript else 'nojs'}.png")
    assert outside == []  # no CDN, no font, no other host
    r = httpx.get(f"{url}/api/v1/alerts/{ids['djenne']}", headers={"Authorization": "Bearer x"})
    assert r.status_code == 401
    context.close()


def test_a_djenne_user_gets_a_403_page_for_a_kayes_alert(browser, console):
    url, users, ids = console
    page = browser.new_page(locale="fr-FR")
    login(page, url, users["district"])
    answer = page.goto(f"{url}/alerts/{ids['kayes']}")
    assert answer.status == 403
    assert "n'est pas dans votre zone" in page.locator(".error").inner_text()
    page.close()


def test_not_logged_in_goes_to_the_login_and_back(browser, console):
    url, users, ids = console
    page = browser.new_page()
    page.goto(f"{url}/alerts/{ids['djenne']}")
    assert page.url.startswith(f"{url}/login")
    page.fill("input[name=username]", users["district"].username)
    page.fill("input[name=password]", "wrong")
    page.click("form.login button[type=submit]")
    assert page.locator(".error").count() == 1
    page.fill("input[name=password]", users["district"].password)
    page.click("form.login button[type=submit]")
    page.wait_for_url(f"{url}/alerts/{ids['djenne']}")
    page.close()


def test_english_from_the_browser_and_the_profile_wins(browser, console):
    url, users, ids = console
    page = browser.new_page(locale="en-GB")
    page.goto(f"{url}/login")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("button", name="Log in").count() == 1
    login(page, url, users["district"])  # the demo's users have French in their profile
    assert page.locator("html").get_attribute("lang") == "fr" and page.get_by_role("heading").first.inner_text().startswith("Alertes")
    page.close()


def test_page_weight_and_accessibility(browser, console):
    from axe_playwright_python.sync_playwright import Axe

    url, users, ids = console
    page = browser.new_page(locale="fr-FR", viewport={"width": 360, "height": 740})
    login(page, url, users["district"])
    cookies = {c["name"]: c["value"] for c in page.context.cookies() if c["name"] == "sebac_session"}
    weights = {}
    for path in ("/", f"/alerts/{ids['djenne']}"):
        html = httpx.get(f"{url}{path}", cookies=cookies, headers={"Accept-Encoding": "gzip"})
        assert html.headers.get("content-encoding") == "gzip"
        assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', html.text)
        total = len(gzip.compress(html.content))
        for a in assets:
            total += len(gzip.compress(httpx.get(f"{url}{a}").content))
        weights[path] = total
    assert weights["/"] <= 50_000, weights
    assert all(w <= 100_000 for w in weights.values()), weights
    for path in ("/", f"/alerts/{ids['djenne']}", "/login"):
        page.goto(f"{url}{path}")
        results = Axe().run(page)
        serious = [v["id"] for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
        assert serious == [], (path, serious)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360 + 1  # no sideways scroll on a phone
    page.close()


def test_a_form_without_its_csrf_token_changes_nothing(console):
    url, users, ids = console
    with httpx.Client(base_url=url) as c:
        c.get("/login")
        r = c.post("/login", data={"username": users["district"].username, "password": users["district"].password,
                                   "csrf": c.cookies.get("sebac_login_csrf"), "next": "/"})
        assert r.status_code == 303
        r = c.post(f"/alerts/{ids['djenne']}/acknowledge", data={"csrf": "forged"})
        assert r.status_code == 403
        assert "acquittée" not in c.get(f"/alerts/{ids['djenne']}").text.split("Historique")[0]
        cookie = r.headers.get("set-cookie", "")
        assert "sebac_session" not in cookie


@pytest.mark.parametrize("path", ["/alerts/99999999999999999999", "/alerts/0", "/alerts/-5", "/?period=-1&status=%00",
                                  "/login?next=//evil.example"])
def test_odd_urls_answer_a_page_not_a_5xx(console, path):
    url, users, ids = console
    with httpx.Client(base_url=url) as c:
        c.get("/login")
        c.post("/login", data={"username": users["district"].username, "password": users["district"].password,
                               "csrf": c.cookies.get("sebac_login_csrf"), "next": "/"})
        r = c.get(path)
        assert r.status_code < 500 and r.headers["content-type"].startswith("text/html"), (path, r.status_code)
        assert "evil.example" not in r.text
