"""End to end over real HTTP: uvicorn on a free port, SQLite file, the embedded pipeline."""
from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.api.alerts_helpers import user_client

pytestmark = pytest.mark.integration


def sample(http: httpx.Client, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(http.get("/metrics").text):
        for s in family.samples:
            if s.name == name and s.labels == labels:
                return s.value
    return 0.0

REPORT = {"client_id": "e2e-1", "orgunit_id": "ML-SIK-KADIOLO-ZEGOUA-S1", "disease": "cholera", "cases": 1,
          "onset_date": "2026-11-19", "sex": "M", "age_group": "5+"}


def test_cholera_report_raises_alert_readable_over_http(live_app):
    with httpx.Client(base_url=live_app.url, timeout=10) as http:
        assert http.get("/healthz").json()["status"] == "ok"
        received0 = sample(http, "sebac_reports_received_total", channel="http", region="ML-SIK",
                           district="ML-SIK-KADIOLO")
        raised0 = sample(http, "sebac_alerts_raised_total", disease="cholera", level="health_area")
        r = http.post("/api/v1/reports", json=REPORT)
        assert r.status_code == 201, r.text
        assert r.json()["status"] == "accepted" and len(r.json()["alert_ids"]) == 1
        assert http.get("/api/v1/alerts").status_code == 401  # alerts need a login
        epi = user_client(live_app, "epi.kadiolo", "district", "ML-SIK-KADIOLO")
        alerts = epi.get("/api/v1/alerts", params={"district": "ML-SIK-KADIOLO"}).json()["items"]
        assert len(alerts) == 1
        assert (alerts[0]["disease"], alerts[0]["orgunit_id"]) == ("cholera", "ML-SIK-KADIOLO-ZEGOUA")
        detail = epi.get(f"/api/v1/alerts/{alerts[0]['alert_id']}").json()
        assert detail["events"][0]["type"] == "created" and len(detail["signals"]) == 1
        again = http.post("/api/v1/reports", json=REPORT)
        assert again.status_code == 200 and again.json()["status"] == "duplicate"
        assert sample(http, "sebac_reports_received_total", channel="http", region="ML-SIK",
                      district="ML-SIK-KADIOLO") == received0 + 1
        assert sample(http, "sebac_alerts_raised_total", disease="cholera", level="health_area") == raised0 + 1


@pytest.mark.parametrize("body, headers, status, key", [
    (b'{"client_id": "x", ', {"content-type": "application/json"}, 400, "report.json.malformed"),
    (b'\xff\xfe{"a": 1}', {"content-type": "application/json"}, 400, "report.encoding.invalid"),
    (None, None, 422, "report.orgunit.unknown"),
    (None, None, 422, "report.date.future"),
    (None, None, 422, "report.count.negative"),
])
def test_bad_input_gets_4xx_with_key_and_is_kept(live_app, body, headers, status, key):
    if body is None:
        change = {"report.orgunit.unknown": {"orgunit_id": "ML-NOWHERE"},
                  "report.date.future": {"onset_date": "2027-01-01"},
                  "report.count.negative": {"cases": -3}}[key]
        r = httpx.post(f"{live_app.url}/api/v1/reports", json=REPORT | change)
    else:
        r = httpx.post(f"{live_app.url}/api/v1/reports", content=body, headers=headers)
    assert r.status_code == status, r.text
    assert r.json()["error"]["key"] == key
    from sqlalchemy import select, func
    from ingest.tables import rejected_items
    pipeline = live_app.server.config.app.state.pipeline
    with pipeline.db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(rejected_items)).scalar_one() == 1
        errors = conn.execute(select(rejected_items.c.errors)).scalar_one()
    assert errors[0]["key"] == key


def test_oversized_body_is_413(live_app):
    r = httpx.post(f"{live_app.url}/api/v1/reports", content=b"[" + b" " * 1_100_000 + b"]")
    assert r.status_code == 413 and r.json()["error"]["key"] == "report.body.too_large"


def test_openapi_and_orgunits(live_app):
    spec = httpx.get(f"{live_app.url}/openapi.json").json()
    assert "/api/v1/reports" in spec["paths"] and "/api/v1/alerts" in spec["paths"]
    ous = httpx.get(f"{live_app.url}/api/v1/orgunits", params={"level": "district"}).json()
    assert ous["total"] >= 12 and {"Mopti", "Kadiolo"} <= {u["name"] for u in ous["items"]}


def test_production_requires_a_device_key_to_submit(db_url, clock):
    """In production an anonymous CHW app gets 401 (and nothing is stored); a device API key works."""
    from api.auth import ApiKeyRepository
    from sebac.engine import build_app
    from sebac.settings import Settings
    from tests.conftest import LiveServer

    app = build_app(Settings(database_url=db_url, environment="production"), clock)
    pipeline = app.state.pipeline
    with pipeline.db.begin() as conn:
        _, raw = ApiKeyRepository().create(conn, "tablet 7", "device", "ML-SIK-KADIOLO", clock.now())
    with LiveServer(app) as server:
        r = httpx.post(f"{server.url}/api/v1/reports", json=REPORT)
        assert r.status_code == 401
        with pipeline.db.connect() as conn:
            assert pipeline.reports.count(conn) == 0
        r = httpx.post(f"{server.url}/api/v1/reports", json=REPORT, headers={"X-API-Key": raw})
        assert r.status_code == 201 and r.json()["status"] == "accepted"
