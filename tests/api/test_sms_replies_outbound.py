"""``SEBAC_SMS_REPLIES=outbound``: replies to reports and to commands (``OK 12``) leave through the
outgoing adapter via the outbox, once per inbound message, retried when the gateway fails."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from alerts.channels import Channels
from alerts.outbox import OutboxWorker, RetryPolicy
from alerts.sms_senders import TelerivetSender
from alerts.tables import notification_outbox
from tests.api.sms_helpers import (  # noqa: F401
    GENERIC,
    PHONE,
    cheap_hashing,
    secrets_env,
    user_client,
)
from tests.sms_gateway_standins import TELERIVET_KEY, TELERIVET_PROJECT, GatewayStandIn

pytestmark = pytest.mark.integration


@pytest.fixture
def http(monkeypatch, secrets_env, cheap_hashing, request):  # noqa: F811
    monkeypatch.setenv("SEBAC_SMS_REPLIES", "outbound")
    live_app = request.getfixturevalue("live_app")  # created after the environment is set
    with user_client(live_app, "admin", "admin", "ML") as client:
        yield client, live_app


def _rows(pipeline):
    with pipeline.db.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(notification_outbox)
                                                       .order_by(notification_outbox.c.outbox_id))]


def test_replies_are_queued_once_and_sent_by_the_adapter_with_retry(http, clock):
    client, live_app = http
    pipeline = live_app.server.config.app.state.pipeline
    report = {"from": PHONE, "text": "CHOL 3 F 5+ 1811", "id": "out-1", "secret": GENERIC}
    first = client.post("/api/v1/sms/generic", json=report).json()
    assert (first["status"], first["reply"], first["reply_queued"]) == ("accepted", None, True)
    client.post("/api/v1/sms/generic", json=report)  # the gateway's retry: no second SMS
    command = client.post("/api/v1/sms/generic", json={"from": PHONE, "text": "OK 12", "id": "out-2",
                                                       "secret": GENERIC}).json()
    assert command["status"] == "command" and command["reply"] is None
    rows = _rows(pipeline)
    assert [(r["address"], r["reason"], r["alert_id"], r["body"]) for r in rows] == [
        (PHONE, "reply", None, "Rapport reçu : 3 Choléra. Merci."),
        (PHONE, "reply", None, "Ce numéro n'est pas enregistré pour répondre aux alertes.")]
    with GatewayStandIn() as gateway:
        gateway.faults.append(503)
        sender = TelerivetSender(TELERIVET_KEY, TELERIVET_PROJECT, api_url=f"{gateway.base}/v1", timeout=5)
        worker = OutboxWorker(pipeline.db, Channels(sms=sender), RetryPolicy(max_attempts=3))
        now = pipeline.alert_clock.now()
        assert worker.run_once(now) == {"sent": 1, "retry": 1, "dead": 0}
        assert worker.run_once(now + RetryPolicy().delay(1)) == {"sent": 1, "retry": 0, "dead": 0}
        assert sorted(r["body"]["content"] for r in gateway.requests[1:]) == [
            "Ce numéro n'est pas enregistré pour répondre aux alertes.", "Rapport reçu : 3 Choléra. Merci."]
        assert {r["body"]["to_number"] for r in gateway.requests} == {PHONE}
    assert [r["status"] for r in _rows(pipeline)] == ["sent", "sent"]
