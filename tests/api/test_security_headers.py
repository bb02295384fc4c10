"""Security headers on every response, a strict CSP on HTML (``/docs`` without inline script), and a
``/healthz`` that keeps the database's error text in the log."""
from __future__ import annotations

import re

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.responses import HTMLResponse, PlainTextResponse

from api.routers.docs import DOCS_POLICY
from api.security import API_POLICY, HTML_POLICY, SecurityHeaders
from tests.conftest import LiveServer

ALWAYS = {"x-content-type-options": "nosniff", "referrer-policy": "same-origin", "x-frame-options": "DENY"}


def directives(policy: str) -> dict[str, list[str]]:
    return {d.split()[0]: d.split()[1:] for d in policy.split("; ")}


def assert_secured(r: httpx.Response, policy: str) -> None:
    for name, value in ALWAYS.items():
        assert r.headers.get(name) == value, (r.request.url, name)
    assert r.headers.get("content-security-policy") == policy, r.request.url
    assert "frame-ancestors 'none'" in policy


@pytest.mark.integration
@pytest.mark.parametrize("method, path, kwargs, status", [
    ("GET", "/healthz", {}, 200),
    ("GET", "/openapi.json", {}, 200),
    ("GET", "/metrics", {}, 200),
    ("GET", "/docs/swagger-init.js", {}, 200),
    ("GET", "/api/v1/orgunits", {"params": {"limit": 0}}, 422),
    ("GET", "/api/v1/alerts", {}, 401),
    ("GET", "/nowhere", {}, 404),
    ("DELETE", "/healthz", {}, 405),
    ("POST", "/api/v1/reports", {"content": b'{"a": '}, 400),
    ("POST", "/api/v1/reports", {"content": b"[" * 1000}, 400),  # answered by BodyLimits
])
def test_every_response_has_the_headers(live_app, method, path, kwargs, status):
    r = httpx.request(method, live_app.url + path, **kwargs)
    assert r.status_code == status, r.text[:200]
    assert_secured(r, API_POLICY)


@pytest.mark.integration
def test_docs_page_has_no_inline_script_and_its_own_minimal_policy(live_app):
    r = httpx.get(f"{live_app.url}/docs")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert_secured(r, DOCS_POLICY)
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", r.text, flags=re.S)
    assert len(scripts) == 2 and all("src=" in attrs and not body.strip() for attrs, body in scripts)
    assert 'data-openapi-url="/openapi.json"' in r.text
    docs, strict = directives(DOCS_POLICY), directives(HTML_POLICY)  # relaxed for data: icons only
    assert {k: v for k, v in docs.items() if k not in ("script-src", "style-src", "img-src")} == strict
    assert docs["script-src"] == docs["style-src"] == ["'self'"] and docs["img-src"] == ["'self'", "data:"]
    assets = re.findall(r'(?:src|href)="([^"]+)"', r.text)
    assert assets and all(a.startswith("/") for a in assets)  # offline: every asset is ours
    for a in assets:
        assert httpx.get(f"{live_app.url}{a}").status_code == 200, a
    init = httpx.get(f"{live_app.url}/docs/swagger-init.js")
    assert init.headers["content-type"].startswith("text/javascript")
    assert "SwaggerUIBundle(options)" in init.text and '"dom_id": "#swagger-ui"' in init.text
    assert httpx.get(f"{live_app.url}/redoc").status_code == 404


@pytest.mark.integration
def test_html_gets_the_strict_policy_and_a_route_may_set_its_own():
    app = FastAPI()
    app.add_middleware(SecurityHeaders)

    @app.get("/page")
    def page() -> HTMLResponse:
        return HTMLResponse("<p>hi</p>")

    @app.get("/framed")
    def framed() -> PlainTextResponse:
        return PlainTextResponse("x", headers={"X-Frame-Options": "SAMEORIGIN",
                                               "Content-Security-Policy": "default-src 'none'"})

    with LiveServer(app) as server:
        r = httpx.get(f"{server.url}/page")
        assert_secured(r, HTML_POLICY)
        assert "default-src 'self'" in HTML_POLICY and "unsafe-inline" not in HTML_POLICY
        r = httpx.get(f"{server.url}/framed")
        assert r.headers["x-frame-options"] == "SAMEORIGIN"  # kept, not doubled
        assert r.headers.get_list("content-security-policy") == ["default-src 'none'"]
        assert r.headers["x-content-type-options"] == "nosniff"


@pytest.mark.integration
def test_healthz_answers_a_key_and_logs_the_database_error(live_app, tmp_path, caplog):
    pipeline = live_app.server.config.app.state.pipeline
    working, pipeline.db = pipeline.db, sa.create_engine(f"sqlite:///{tmp_path}")  # a directory: cannot open
    try:
        r = httpx.get(f"{live_app.url}/healthz")
    finally:
        pipeline.db.dispose()
        pipeline.db = working
    assert r.status_code == 503
    assert r.json() == {"status": "error", "error": {"key": "health.database.unavailable",
                                                     "message": "the database does not answer", "errors": []}}
    assert "unable to open" not in r.text and str(tmp_path) not in r.text
    logged = [rec for rec in caplog.records if rec.getMessage() == "health check: the database does not answer"]
    assert logged and "unable to open database file" in str(logged[0].exc_info[1])
    assert_secured(r, API_POLICY)
    assert httpx.get(f"{live_app.url}/healthz").json()["status"] == "ok"
