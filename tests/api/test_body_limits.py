"""Request bodies are bounded before any route parses them: a deep or huge body is a 4xx with a key.

Before :class:`api.body_limits.BodyLimits`, JSON nested 100,000 levels deep was a 500
(``RecursionError``) on every route that parses JSON itself (reports, login, SMS, DHIS2, NDJSON
uploads), and a login body had no size limit at all.
"""
from __future__ import annotations

import json

import httpx
import pytest

from api.body_limits import MAX_JSON_DEPTH, body_limit, json_depth
from tests.api.alerts_helpers import cheap_hashing, user_client  # noqa: F401 (fixture)

GENERIC = "gen-secret-0123456789"
DEEP_LIST = b"[" * 100_000 + b"]" * 100_000
DEEP_OBJECT = b'{"a":' * 100_000 + b"1" + b"}" * 100_000


@pytest.mark.parametrize("body, depth", [
    (b"", 0),
    (b'{"client_id": "x", "cases": 3}', 1),
    (b'{"events": [{"dataValues": [{"value": "1"}]}]}', 5),
    (b'{"text": "[[[[{{{{"}', 1),                       # brackets in strings are text
    (b'["a\\"[[[", "\\\\", [1]]', 2),                    # escaped quote and backslash stay in the string
    (b'{"a": 1}\n{"b": [2]}\n', 2),                     # NDJSON: the deepest line
    (b']]]]]]\n[[[1]]]', 3),                            # surplus closers do not hide the next line
    (b'"unclosed [[[[\n[[1]]', 2),                      # an unclosed string ends at its line
    (b'[\n[\n[\n1]]]', 3),                              # pretty-printed: depth carries over lines
    (b"cases,orgunit\n3,ML [x]\n", 1),                  # CSV with a bracket
    (b"[" * 65 + b"]" * 65, 65),
    (DEEP_LIST, 100_000),
    (DEEP_OBJECT, 100_000),
])
def test_json_depth(body, depth):
    assert json_depth(body) == depth


def test_json_depth_is_at_least_what_json_reaches():
    """Never below the nesting json.loads actually builds, whatever the line layout."""
    doc = {"a": [[{"b": [1, "]]]]", {"c": [[[]]]}]}]]}
    for text in (json.dumps(doc), json.dumps(doc, indent=2), json.dumps(doc) + "\n" + json.dumps([doc])):
        assert json_depth(text.encode()) >= 7


def test_limits_by_path():
    assert body_limit("/api/v1/uploads/reports", 1000) == 20_000
    assert body_limit("/api/v1/reports", 1000) == body_limit("/api/v1/sms/generic", 1000) == 2000
    assert body_limit("/api/v1/auth/token", 1000) == body_limit("/api/v1/users", 1000) == 1000


# -- over real HTTP ---------------------------------------------------------------------------------
@pytest.fixture
def generic_sms(monkeypatch):
    monkeypatch.setenv("SEBAC_SMS_GENERIC_SECRET", GENERIC)  # before live_app reads the settings


@pytest.fixture
def admin(generic_sms, live_app, cheap_hashing):
    with user_client(live_app, "admin", "admin", "ML") as client:
        yield client


DEEP_ROUTES = [  # every route that takes a body: each parsed JSON itself (a 500) or through FastAPI
    ("/api/v1/reports", {"content-type": "application/json"}),
    ("/api/v1/auth/token", {"content-type": "application/json"}),
    ("/api/v1/dhis2/tracker", {"content-type": "application/json"}),
    ("/api/v1/sms/generic", {"content-type": "application/json", "X-Sebac-Secret": GENERIC}),
    ("/api/v1/uploads/reports?format=ndjson", {"content-type": "application/x-ndjson"}),
    ("/api/v1/users", {"content-type": "application/json"}),
    ("/api/v1/alerts/1/acknowledge", {"content-type": "application/json"}),
]


@pytest.mark.integration
@pytest.mark.parametrize("path, headers", DEEP_ROUTES, ids=[p for p, _ in DEEP_ROUTES])
@pytest.mark.parametrize("body", [DEEP_LIST, DEEP_OBJECT, b'{"ok": 1}\n' + DEEP_LIST], ids=["list", "object", "ndjson"])
def test_deep_json_is_400_with_a_key(admin, path, headers, body):
    r = admin.post(path, content=body, headers=headers)
    assert r.status_code == 400, r.text[:300]
    error = r.json()["error"]
    assert error["key"] == "request.json.too_deep"
    assert error["errors"][0]["params"]["max"] == MAX_JSON_DEPTH


@pytest.mark.integration
def test_depth_at_the_limit_passes_and_one_more_is_refused(admin):
    at_limit = b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH  # a batch of one item, itself a list: rejected
    r = admin.post("/api/v1/reports", content=at_limit, headers={"content-type": "application/json"})
    assert r.status_code == 200 and r.json()["summary"] == {"accepted": 0, "duplicate": 0, "rejected": 1,
                                                            "total": 1}
    over = b"[" + at_limit + b"]"
    r = admin.post("/api/v1/reports", content=over, headers={"accept-language": "fr"})
    assert r.status_code == 400 and r.json()["error"]["key"] == "request.json.too_deep"
    assert r.json()["error"]["message"] == f"Le JSON est imbriqué sur plus de {MAX_JSON_DEPTH} niveaux."


@pytest.mark.integration
def test_refused_before_authentication_and_nothing_stored(live_app, caplog):
    r = httpx.post(f"{live_app.url}/api/v1/dhis2/tracker", content=DEEP_LIST)  # no credentials at all
    assert r.status_code == 400 and r.json()["error"]["key"] == "request.json.too_deep"
    pipeline = live_app.server.config.app.state.pipeline
    with pipeline.db.connect() as conn:
        assert pipeline.rejected.list(conn) == []
    assert any("refused POST /api/v1/dhis2/tracker before parsing: request.json.too_deep" in m
               for m in caplog.messages)


@pytest.mark.integration
def test_login_body_is_bounded(live_app):
    limit = live_app.server.config.app.state.settings.max_body_bytes
    huge = json.dumps({"username": "admin", "password": "x" * limit})
    r = httpx.post(f"{live_app.url}/api/v1/auth/token", content=huge, headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["key"] == "request.body.too_large"

    def chunks():  # no content-length: counted while reading
        for _ in range(limit // 65536 + 2):
            yield b" " * 65536

    r = httpx.post(f"{live_app.url}/api/v1/auth/token", content=chunks())
    assert r.status_code == 413 and r.json()["error"]["key"] == "request.body.too_large"


@pytest.mark.integration
def test_a_report_far_over_the_limit_is_413_with_the_report_key(live_app):
    limit = live_app.server.config.app.state.settings.max_body_bytes
    r = httpx.post(f"{live_app.url}/api/v1/reports", content=b" " * (2 * limit + 1))
    assert r.status_code == 413 and r.json()["error"]["key"] == "report.body.too_large"
