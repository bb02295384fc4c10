"""The data pages over real HTTP: rejected items (scope, re-processing), data quality (possible
duplicates confirmed or dismissed), the weekly district sitrep (HTML and a PDF whose numbers are
checked against the database)."""
from __future__ import annotations

import contextlib
import datetime as dt
import io
import re
from collections.abc import Iterator

import httpx
import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from console.rejected_view import place_of
from ingest.chw import CHW, CHWRegistry
from ingest.epiweek import epiweek
from ingest.tables import possible_duplicates, reports
from tests.console.conftest import ARTEFACTS, MOUGNA

pytestmark = [pytest.mark.integration]
SITE2 = "ML-MOP-DJENNE-MOUGNA-S2"


@contextlib.contextmanager
def session(url: str, user) -> Iterator[httpx.Client]:
    """An HTTP client logged in through the console's own form (CSRF cookie, then the session cookie)."""
    with httpx.Client(base_url=url, headers={"Accept-Language": "fr"}, timeout=60) as c:
        page = c.get("/login")
        r = c.post("/login", data={"username": user.username, "password": user.password,
                                   "csrf": form_csrf(page.text), "next": "/"})
        assert r.status_code == 303, r.text
        yield c


def form_csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def post(url: str, payload: dict) -> httpx.Response:
    return httpx.post(f"{url}/api/v1/reports", json=payload)


def test_rejected_items_are_scoped_and_reprocessed_after_the_cause_is_fixed(console, live_app, clock):
    url, users, _ = console
    future = (clock.now() + dt.timedelta(days=2)).date().isoformat()
    late = post(url, MOUGNA | {"client_id": "chw-fut", "onset_date": future, "text": "future onset"})
    assert late.status_code == 422 and late.json()["rejected_id"]
    kayes = post(url, MOUGNA | {"client_id": "chw-k", "orgunit_id": "ML-KAY-KAYES-KHASSO-S1", "disease": "nope"})
    assert kayes.status_code == 422
    clock.advance(days=3)  # the onset is no longer in the future: the item can now become a report
    with session(url, users["district"]) as djenne:
        page = djenne.get("/rejected")
        assert page.status_code == 200 and "report.date.future" in page.text
        assert late.json()["rejected_id"] in page.text
        assert kayes.json()["rejected_id"] not in page.text  # a Kayes item is not Djenné's
        r = djenne.post("/rejected/reprocess", data={"csrf": form_csrf(page.text),
                                                     "id": [late.json()["rejected_id"], kayes.json()["rejected_id"]]})
        assert r.status_code == 303 and "accepted.1" in r.headers["location"] and "forbidden.1" in r.headers["location"]
        done = djenne.get(r.headers["location"])
        assert 'outcome-accepted">accepté 1' in done.text and 'outcome-forbidden">hors de votre zone 1' in done.text
    with session(url, users["admin"]) as admin:
        assert kayes.json()["rejected_id"] in admin.get("/rejected").text
    with session(url, users["cscom"]) as cscom:
        assert cscom.get("/rejected").status_code == 403
    pipeline = live_app.server.config.app.state.pipeline
    with pipeline.db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(reports)
                            .where(reports.c.idempotency_key.like("%chw-fut%"))).scalar() == 1


def test_an_sms_rejected_item_is_placed_by_its_sender_in_the_chw_registry(pyramid):
    registry = CHWRegistry([CHW(id="c1", phone="+22370000001", site_id="ML-MOP-DJENNE-MOUGNA-S1")], pyramid)
    sms = '{"sms": {"gateway": "generic", "phone": "+22370000001", "text": "CHOL x"}}'
    assert place_of(sms, pyramid, registry) == "ML-MOP-DJENNE-MOUGNA-S1"
    assert place_of('{"events": [{"orgUnit": "ML-KAY"}]}', pyramid, registry) == "ML-KAY"
    assert place_of("not json", pyramid, registry) is None
    assert place_of('{"sms": {"phone": "+22399999999"}}', pyramid, registry) is None


def test_possible_duplicates_are_dismissed_from_the_quality_page(console, live_app):
    url, users, _ = console
    twin = post(url, MOUGNA | {"client_id": "chw-twin", "orgunit_id": SITE2.replace("S2", "S1")})
    assert twin.status_code == 201 and twin.json().get("possible_duplicate_of")
    with session(url, users["district"]) as djenne:
        page = djenne.get("/quality", params={"week": "2026-W47"})
        assert page.status_code == 200
        assert "Complétude" in page.text and "Doublons possibles" in page.text
        action = re.search(r'action="(/quality/duplicates/[^"]+/dismiss)"', page.text).group(1)
        r = djenne.post(action, data={"csrf": form_csrf(page.text), "week": "2026-W47"})
        assert r.status_code == 303 and r.headers["location"] == "/quality?week=2026-W47"
        assert "/dismiss" not in djenne.get("/quality", params={"week": "2026-W47"}).text
        assert djenne.get("/quality", params={"week": "2026-W99"}).status_code == 404
        assert djenne.get("/quality", params={"unit": "ML-KAY"}).status_code == 403
    with live_app.server.config.app.state.pipeline.db.connect() as conn:
        assert conn.execute(sa.select(possible_duplicates.c.status)).scalars().all() == ["distinct"]


def _pdf_text(pdf: bytes) -> str:
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)


def test_sitrep_pdf_numbers_equal_the_database(console, live_app):
    url, users, _ = console
    onsets = {"2026-10-27": 4, "2026-11-03": 1, "2026-11-10": 3, "2026-11-18": 6}  # W44, W45, W46, W47
    for i, (onset, cases) in enumerate(onsets.items()):
        r = post(url, MOUGNA | {"client_id": f"chw-s{i}", "orgunit_id": SITE2, "disease": "measles",
                                "onset_date": onset, "cases": cases, "deaths": 1 if i == 3 else 0})
        assert r.status_code == 201, r.text
    pipeline = live_app.server.config.app.state.pipeline
    week = epiweek(dt.date(2026, 11, 18), pipeline.start_day)
    with pipeline.db.connect() as conn:  # the figures as the database holds them
        rows = conn.execute(sa.select(reports.c.disease, reports.c.onset_date, reports.c.cases, reports.c.deaths)
                            .where(reports.c.district_id == "ML-MOP-DJENNE")).all()
    now_cases = {d: sum(c for dd, o, c, _ in rows if dd == d and epiweek(o, pipeline.start_day) == week)
                 for d in ("cholera", "measles")}
    with session(url, users["district"]) as djenne:
        chooser = djenne.get("/sitrep", params={"week": str(week)})
        assert chooser.status_code == 303 and chooser.headers["location"] == f"/sitrep/ML-MOP-DJENNE/{week}"
        html = djenne.get(chooser.headers["location"])
        assert html.status_code == 200 and "Bilan hebdomadaire" in html.text
        pdf = djenne.get(f"/sitrep/ML-MOP-DJENNE/{week}", params={"format": "pdf"})
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
        assert djenne.get(f"/sitrep/ML-KAY-KAYES/{week}").status_code == 403
        assert djenne.get("/sitrep/ML-MOP-DJENNE-MOUGNA/2026-W47").status_code == 404
        assert djenne.get("/sitrep/ML-MOP-DJENNE/2026-W60").status_code == 404
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    (ARTEFACTS / "sitrep.pdf").write_bytes(pdf.content)
    text = _pdf_text(pdf.content)
    assert "Djenné" in text and str(week) in text and "Rougeole" in text
    measles = re.search(r"Total du district\s+0\s+4\s+1\s+3\s+([\d.]+)\s+(\d+)\s+(\d+)", text.split("Rougeole", 1)[1])
    assert measles, text
    assert float(measles.group(1)) == pytest.approx(2.0) and int(measles.group(2)) == now_cases["measles"] == 6
    assert int(measles.group(3)) == 1  # the death of W47
    cholera = text.split("Choléra", 1)[1]
    assert re.search(rf"Total du district\s+0\s+0\s+0\s+0\s+0\.0\s+{now_cases['cholera']}\s+0", cholera), cholera
    assert re.search(r"Détection.*?\n?.*?\d", text)
