"""Shared by the SMS webhook tests: gateway secrets, an administrator's client on the live app, the
forms and bodies the gateways post, and a look into the live app's database."""
from __future__ import annotations

import pytest

from tests.api.alerts_helpers import cheap_hashing, user_client  # noqa: F401 (fixture)

TELERIVET, RAPIDPRO, GENERIC = "tr-secret-0123456789", "rp-secret-0123456789", "gen-secret-0123456789"
PHONE = "+22370000001"  # demo CHW ASC-0001 (first site of the demo pyramid, sorted by id)


@pytest.fixture
def secrets_env(monkeypatch):
    monkeypatch.setenv("SEBAC_SMS_TELERIVET_SECRET", TELERIVET)
    monkeypatch.setenv("SEBAC_SMS_RAPIDPRO_SECRET", RAPIDPRO)
    monkeypatch.setenv("SEBAC_SMS_GENERIC_SECRET", GENERIC)


@pytest.fixture
def http(secrets_env, live_app, cheap_hashing):  # noqa: F811
    """Gateways authenticate with their secret; the listings need an administrator's token."""
    with user_client(live_app, "admin", "admin", "ML") as client:
        yield client


def telerivet_form(content, msg_id="SMab01", secret=TELERIVET, **extra):
    return {"secret": secret, "event": "incoming_message", "id": msg_id, "message_type": "sms",
            "content": content, "from_number": "70000001", "from_number_e164": PHONE, "to_number": "+22320000000",
            "time_created": "1795165200", "phone_id": "PN1", "contact_id": "CT1", "project_id": "PJ1"} | extra


def pipeline_of(live_app):
    return live_app.server.config.app.state.pipeline


def stored(live_app):
    """(reports, rejected items, zero reports) in the live app's database."""
    import sqlalchemy as sa

    from ingest.tables import zero_reports

    pipeline = pipeline_of(live_app)
    with pipeline.db.connect() as conn:
        zeros = conn.execute(sa.select(sa.func.count()).select_from(zero_reports)).scalar_one()
        return pipeline.reports.list(conn), pipeline.rejected.list(conn, limit=1000), zeros
