"""Notifications over real SMTP, a real webhook and a real SMS gateway endpoint on loopback; retries
with exponential backoff to the dead letter; the log says why each message went out."""
from __future__ import annotations

import datetime as dt
import email
import email.policy

import pytest
import sqlalchemy as sa

from alerts.channels import Channels, HttpSmsGateway, SmtpMailer, WebhookSender
from alerts.outbox import OutboxRepository, RetryPolicy
from alerts.tables import notification_outbox
from alerts.templates import render
from tests.alerts.receivers import HttpReceiver, SmtpReceiver
from tests.alerts.scenario import Scenario
from tests.conftest import free_port

pytestmark = pytest.mark.integration  # real SMTP and HTTP receivers on loopback


def _outbox(s):
    with s.db.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(notification_outbox)
                                                       .order_by(notification_outbox.c.outbox_id))]


def test_new_and_escalated_alerts_reach_each_level_by_email_webhook_and_sms(db, pyramid, diseases):
    with SmtpReceiver() as smtp, HttpReceiver() as hook, HttpReceiver() as gateway:
        channels = Channels(sms=HttpSmsGateway(gateway.url, token="gw-token-123456"),
                            email=SmtpMailer("127.0.0.1", smtp.port, sender="sebac@sante.gov.ml"),
                            webhook=WebhookSender(timeout=5))
        s = Scenario(db, pyramid, diseases, channels=channels)
        s.subscribe("ML-MOP-DJENNE-MOUGNA", "sms", "+22370000001")
        s.subscribe("ML-MOP-DJENNE", "email", "epi@djenne.ml", lang="fr")
        s.subscribe("ML-MOP-DJENNE", "webhook", hook.url, disease="cholera", lang="en")
        s.subscribe("ML-MOP-DJENNE", "email", "malaria-only@djenne.ml", disease="malaria")
        s.subscribe("ML-SIK-KADIOLO", "email", "epi@kadiolo.ml")
        a = s.at(0).signal("cholera", observed=3)
        assert s.deliver() == {"sent": 1, "retry": 0, "dead": 0}
        n = a.alert_id
        assert gateway.received == [{"to": "+22370000001", "text": f"ALERTE #{n} Choléra CSCom Mougna: 3 cas. "
                                     f"Répondez OK {n} (recu), VRAI {n} ou FAUX {n} raison"}]
        assert gateway.headers[0]["Authorization"] == "Bearer gw-token-123456"
        s.at(30).tick()
        assert s.deliver() == {"sent": 2, "retry": 0, "dead": 0}
        (sender, rcpts, raw), = smtp.messages
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        assert (sender, rcpts) == ("sebac@sante.gov.ml", ["epi@djenne.ml"])
        assert msg["Subject"] == f"[SEBAC] Alerte #{a.alert_id} remontée au niveau district : Choléra à CSCom Mougna"
        body = msg.get_content()
        assert "Choléra" in body and "OK " + str(a.alert_id) in body
        (payload,) = hook.received
        assert payload["reason"] == "escalated" and payload["alert"]["level"] == "district"
        assert payload["text"].startswith(f"Alert #{a.alert_id} (escalated")
        assert s.deliver() == {"sent": 0, "retry": 0, "dead": 0}  # nothing sent twice
    with s.db.connect() as conn:
        log = OutboxRepository().log_for_alert(conn, a.alert_id)
    assert [(r["event"], r["reason"], r["channel"]) for r in log] == [
        ("queued", "new", "sms"), ("sent", "new", "sms"),
        ("queued", "escalated", "email"), ("queued", "escalated", "webhook"),
        ("sent", "escalated", "email"), ("sent", "escalated", "webhook")]


def test_retries_with_exponential_backoff_then_dead_letter(db, pyramid, diseases):
    with HttpReceiver(statuses=[503, 502, 500, 500]) as hook:
        retry = RetryPolicy(max_attempts=4, base=dt.timedelta(minutes=1), factor=2)
        s = Scenario(db, pyramid, diseases, channels=Channels(webhook=WebhookSender(timeout=5)), retry=retry)
        s.subscribe("ML-MOP-DJENNE-MOUGNA", "webhook", hook.url)
        s.at(0).signal("cholera")
        assert s.deliver() == {"sent": 0, "retry": 1, "dead": 0}
        (row,) = _outbox(s)
        assert row["attempts"] == 1 and row["status"] == "pending" and "HTTP 503" in row["last_error"]
        s.at(0.9); assert s.deliver() == {"sent": 0, "retry": 0, "dead": 0}  # not due before 1 min
        s.at(1); assert s.deliver()["retry"] == 1     # attempt 2, next in 2 min
        s.at(2.9); assert s.deliver()["retry"] == 0
        s.at(3); assert s.deliver()["retry"] == 1     # attempt 3, next in 4 min
        s.at(6.9); assert s.deliver()["dead"] == 0
        s.at(7); assert s.deliver() == {"sent": 0, "retry": 0, "dead": 1}  # attempt 4 = max: dead letter
        s.at(100); assert s.deliver() == {"sent": 0, "retry": 0, "dead": 0}
        assert len(hook.received) == 4
        (row,) = _outbox(s)
        assert (row["status"], row["attempts"]) == ("dead", 4)


@pytest.mark.parametrize("status, outcome", [(404, "dead"), (401, "dead"), (429, "retry"), (503, "retry")])
def test_permanent_errors_go_straight_to_the_dead_letter(db, pyramid, diseases, status, outcome):
    with HttpReceiver(statuses=[status]) as gateway:
        s = Scenario(db, pyramid, diseases, channels=Channels(sms=HttpSmsGateway(gateway.url)))
        s.subscribe("ML-MOP-DJENNE-MOUGNA", "sms", "+22370000001")
        s.at(0).signal("cholera")
        assert s.deliver()[outcome] == 1


def test_unreachable_smtp_server_is_retried(db, pyramid, diseases):
    s = Scenario(db, pyramid, diseases, channels=Channels(email=SmtpMailer("127.0.0.1", free_port(), timeout=2)))
    s.subscribe("ML-MOP-DJENNE-MOUGNA", "email", "dtc@mougna.ml")
    s.at(0).signal("cholera")
    assert s.deliver() == {"sent": 0, "retry": 1, "dead": 0}
    assert "smtp" in _outbox(s)[0]["last_error"]


def test_a_channel_without_adapter_is_dead_lettered(db, pyramid, diseases):
    s = Scenario(db, pyramid, diseases, channels=Channels())
    s.subscribe("ML-MOP-DJENNE-MOUGNA", "email", "dtc@mougna.ml")
    s.at(0).signal("cholera")
    assert s.deliver()["dead"] == 1


def test_two_workers_never_send_the_same_message(db, pyramid, diseases):
    with HttpReceiver() as hook:
        s = Scenario(db, pyramid, diseases, channels=Channels(webhook=WebhookSender()))
        s.subscribe("ML-MOP-DJENNE-MOUGNA", "webhook", hook.url)
        s.at(0).signal("cholera")
        repo = OutboxRepository()
        with db.begin() as conn:
            (oid,) = repo.due_ids(conn, s.now)
            first = repo.claim(conn, oid, s.now, dt.timedelta(minutes=2))
            second = repo.claim(conn, oid, s.now, dt.timedelta(minutes=2))
        assert first is not None and second is None


@pytest.mark.parametrize("reason", ["new", "escalated", "repeat"])
@pytest.mark.parametrize("lang", ["fr", "en"])
def test_templates_exist_for_every_reason_and_language(reason, lang):
    ctx = {"id": 12, "disease": "Cholera", "place": "Mougna", "district": "Djenné", "cases": 3.0,
           "emergence": "2026-11-15", "level": "district", "risk": 3, "status": "open"}
    _, sms = render("sms", reason, lang, ctx)
    subject, body = render("email", reason, lang, ctx)
    assert "12" in sms and len(sms) <= 160
    assert "#12" in subject and "Mougna" in body
