"""Device and gateway API keys: stored hashed, verified in constant time, revocable; the ``Reporter``
dependency accepts a device key or a logged-in person; tokens expire."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from alerts.tables import api_keys, auth_tokens
from alerts.users import UserIn, UserRepository
from api.auth import ApiKeyRepository, Gateway, Reporter, ReportSubmitter, TokenRepository
from api.errors import install_error_handlers
from tests.api.alerts_helpers import cheap_hashing  # noqa: F401

pytestmark = pytest.mark.usefixtures("cheap_hashing")


@pytest.fixture
def app(pipeline):
    app = FastAPI()
    app.state.pipeline = pipeline
    app.state.settings = type("S", (), {"environment": "production"})()
    install_error_handlers(app)

    @app.post("/reports")
    def reports(who: ReportSubmitter) -> dict:
        return {"by": who.name if who else None}

    @app.post("/submit")
    def submit(who: Reporter) -> dict:
        return {"by": who.name}

    @app.post("/gateway")
    def gateway(key: Gateway) -> dict:
        return {"key": key.key_id}

    return app


def test_keys_are_stored_hashed_and_can_be_revoked(pipeline, app):
    repo = ApiKeyRepository()
    with pipeline.db.begin() as conn:
        key, raw = repo.create(conn, "tablet 3", "device", "ML-MOP-DJENNE-MOUGNA", pipeline.clock.now())
        gw, gw_raw = repo.create(conn, "telerivet", "gateway", None, pipeline.clock.now())
    with pipeline.db.connect() as conn:
        stored = [tuple(r) for r in conn.execute(sa.select(api_keys.c.key_id, api_keys.c.key_hash))]
    assert all(raw not in row and raw.split("_")[-1] not in row for row in stored)
    http = TestClient(app)
    assert http.post("/submit", headers={"X-API-Key": raw}).json() == {"by": f"key:{key.key_id}"}
    assert http.post("/submit", headers={"Authorization": f"Bearer {raw}"}).status_code == 200
    forged = raw[:-4] + "AAAA"
    r = http.post("/submit", headers={"X-API-Key": forged})
    assert r.status_code == 401 and r.json()["error"]["key"] == "auth.apikey.invalid"
    assert http.post("/gateway", headers={"X-API-Key": raw}).status_code == 403  # a device is not a gateway
    assert http.post("/gateway", headers={"X-API-Key": gw_raw}).json() == {"key": gw.key_id}
    with pipeline.db.begin() as conn:
        assert repo.revoke(conn, key.key_id, pipeline.clock.now())
    assert http.post("/submit", headers={"X-API-Key": raw}).status_code == 401
    assert http.post("/submit").json()["error"]["key"] == "auth.token.missing"


def test_tokens_expire_and_a_person_may_submit(pipeline, app, clock):
    with pipeline.db.begin() as conn:
        user = UserRepository().create(conn, UserIn(username="asc.mougna", password="correct-horse-battery",
                                                    role="chw", orgunit_id="ML-MOP-DJENNE-MOUGNA-S1"),
                                       pipeline.pyramid, clock.now())
        raw, expires = TokenRepository().issue(conn, user.user_id, clock.now(), dt.timedelta(hours=12))
    with pipeline.db.connect() as conn:
        assert conn.execute(sa.select(auth_tokens.c.token_hash)).scalar_one() != raw
    http = TestClient(app)
    assert http.post("/submit", headers={"Authorization": f"Bearer {raw}"}).json() == {"by": "user:asc.mougna"}
    clock.advance(hours=12)
    r = http.post("/submit", headers={"Authorization": f"Bearer {raw}"})
    assert r.status_code == 401 and r.json()["error"]["key"] == "auth.token.invalid"


def test_passwords_are_argon2_hashes(pipeline, clock):
    repo = UserRepository()
    with pipeline.db.begin() as conn:
        repo.create(conn, UserIn(username="epi.djenne", password="correct-horse-battery", role="district",
                                 orgunit_id="ML-MOP-DJENNE"), pipeline.pyramid, clock.now())
        stored = conn.execute(sa.text("select password_hash from users")).scalar_one()
        assert stored.startswith("$argon2id$")
        assert repo.authenticate(conn, "epi.djenne", "correct-horse-battery").username == "epi.djenne"
        assert repo.authenticate(conn, "epi.djenne", "wrong") is None
        assert repo.authenticate(conn, "nobody", "correct-horse-battery") is None


@pytest.mark.parametrize("environment, anonymous", [("production", 401), ("test", 200), ("development", 200)])
def test_report_submission_is_open_outside_production_only(pipeline, app, environment, anonymous):
    app.state.settings.environment = environment
    http = TestClient(app)
    assert http.post("/reports").status_code == anonymous
    with pipeline.db.begin() as conn:
        key, raw = ApiKeyRepository().create(conn, "tablet", "device", None, pipeline.clock.now())
    assert http.post("/reports", headers={"X-API-Key": raw}).json() == {"by": f"key:{key.key_id}"}
    assert http.post("/reports", headers={"X-API-Key": raw + "x"}).status_code == 401  # bad keys never pass
