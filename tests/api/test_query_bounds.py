"""Numeric query and path parameters are bounded: an overflowing number is a 422, never a 500.

``GET /api/v1/alerts?offset=227843540317326596345067208704`` was a 500 (SQLite: "Python int too large
to convert to SQLite INTEGER"); an alert id beyond 2^31 was one on PostgreSQL.
"""
from __future__ import annotations

import pytest

from api.app import create_app
from api.params import DB_INT_MAX
from tests.api.alerts_helpers import cheap_hashing, user_client  # noqa: F401 (fixture)

HUGE = "227843540317326596345067208704"

# Every offset is ``api.params.Offset`` now (the last three were found by schemathesis): nothing is excepted.
OUTSIDE_THIS_CHANGE: set[tuple[str, str, str]] = set()


def numeric_parameters(spec: dict) -> list[tuple[str, str, str, dict]]:
    found = []
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            for p in op.get("parameters", []):
                schema = p["schema"]
                kinds = {schema.get("type")} | {s.get("type") for s in schema.get("anyOf", [])}
                if kinds & {"integer", "number"}:
                    found.append((method.upper(), path, p["name"], schema))
    return found


def test_every_numeric_parameter_of_the_api_has_an_upper_bound():
    params = numeric_parameters(create_app(None, None).openapi())
    assert len(params) >= 10  # the walk sees the routers' parameters
    unbounded = {(m, path, name) for m, path, name, s in params
                 if s.get("maximum") is None and s.get("exclusiveMaximum") is None}
    assert unbounded <= OUTSIDE_THIS_CHANGE, f"unbounded numeric parameters: {unbounded - OUTSIDE_THIS_CHANGE}"
    too_big = {(m, path, name) for m, path, name, s in params if (s.get("maximum") or 0) > DB_INT_MAX}
    assert not too_big


@pytest.fixture
def national(live_app, cheap_hashing):
    with user_client(live_app, "epi.national", "national", "ML") as client:
        yield client


@pytest.mark.integration
@pytest.mark.parametrize("path, params", [
    ("/api/v1/alerts", {"offset": HUGE}),
    ("/api/v1/alerts", {"offset": str(DB_INT_MAX + 1)}),
    ("/api/v1/alerts", {"offset": "-1"}),
    ("/api/v1/alerts", {"limit": HUGE}),
    ("/api/v1/reports/possible-duplicates", {"offset": HUGE}),
    (f"/api/v1/alerts/{HUGE}", {}),
    (f"/api/v1/alerts/{DB_INT_MAX + 1}", {}),
])
def test_overflowing_numbers_are_422(national, path, params):
    r = national.get(path, params=params)
    assert r.status_code == 422, r.text[:300]
    assert r.json()["error"]["key"] == "request.invalid"


@pytest.mark.integration
def test_numbers_at_the_bound_still_work(national):
    r = national.get("/api/v1/alerts", params={"offset": DB_INT_MAX})
    assert r.status_code == 200 and r.json()["items"] == [] and r.json()["offset"] == DB_INT_MAX
    r = national.get("/api/v1/reports/possible-duplicates", params={"offset": DB_INT_MAX})
    assert r.status_code == 200 and r.json()["items"] == []
    r = national.get(f"/api/v1/alerts/{DB_INT_MAX}")
    assert r.status_code == 404 and r.json()["error"]["key"] == "alert.notFound"
    r = national.post(f"/api/v1/alerts/{HUGE}/acknowledge")
    assert r.status_code == 422 and r.json()["error"]["key"] == "request.invalid"
