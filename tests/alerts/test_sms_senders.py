"""Outgoing SMS adapters against a stand-in of the gateways' send APIs on loopback: what is posted,
and how success, 4xx, 5xx and timeouts are classified; failures retried by the outbox."""
from __future__ import annotations

import base64

import pytest

from alerts.channels import Channels, DeliveryError, HttpSmsGateway, LogSmsGateway
from alerts.sms_senders import (
    AfricasTalkingSender,
    RapidProSender,
    TelerivetSender,
    sms_sender_from_settings,
)
from sebac.settings import Settings
from tests.alerts.scenario import Scenario
from tests.sms_gateway_standins import (
    AT_KEY,
    AT_USERNAME,
    RAPIDPRO_TOKEN,
    TELERIVET_KEY,
    TELERIVET_PROJECT,
    GatewayStandIn,
)

TO, TEXT = "+22370000001", "ALERTE #12 Choléra CSCom Mougna: 3 cas. Répondez OK 12"


def telerivet(base, key=TELERIVET_KEY, timeout=5.0):
    return TelerivetSender(key, TELERIVET_PROJECT, route_id="PN4f2a", api_url=f"{base}/v1", timeout=timeout)


def rapidpro(base, key=RAPIDPRO_TOKEN, timeout=5.0):
    return RapidProSender(base, key, timeout=timeout)


def africastalking(base, key=AT_KEY, timeout=5.0):
    return AfricasTalkingSender(AT_USERNAME, key, url=f"{base}/version1/messaging", sender_id="SEBAC", timeout=timeout)


SENDERS = [telerivet, rapidpro, africastalking]


@pytest.fixture
def gateway():
    with GatewayStandIn(slow_seconds=1.0) as g:
        yield g


def test_telerivet_posts_to_the_project_with_the_api_key_as_basic_user(gateway):
    telerivet(gateway.base).send(TO, "", TEXT, {})
    (req,) = gateway.requests
    assert req["path"] == f"/v1/projects/{TELERIVET_PROJECT}/messages/send"
    assert req["headers"]["Authorization"] == "Basic " + base64.b64encode(f"{TELERIVET_KEY}:".encode()).decode()
    assert req["body"] == {"to_number": TO, "content": TEXT, "route_id": "PN4f2a"}


def test_rapidpro_broadcasts_to_a_tel_urn_with_a_token(gateway):
    rapidpro(gateway.base).send(TO, "", TEXT, {})
    rapidpro(gateway.base).send("whatsapp:22370000001", "", "hi", {})
    first, second = gateway.requests
    assert first["path"] == "/api/v2/broadcasts.json" and first["headers"]["Authorization"] == f"Token {RAPIDPRO_TOKEN}"
    assert first["body"] == {"urns": [f"tel:{TO}"], "text": TEXT}
    assert second["body"]["urns"] == ["whatsapp:22370000001"]  # an address that is already a URN is kept


def test_africastalking_posts_a_form_with_the_api_key_header(gateway):
    africastalking(gateway.base).send(TO, "", TEXT, {})
    (req,) = gateway.requests
    assert req["headers"]["apiKey"] == AT_KEY and req["headers"]["Accept"] == "application/json"
    assert req["body"] == {"username": AT_USERNAME, "to": TO, "message": TEXT, "from": "SEBAC"}


@pytest.mark.parametrize("make", SENDERS)
@pytest.mark.parametrize("fault, permanent", [
    ("bad-key", True),   # 401: a retry cannot fix it → dead letter
    (500, False), (503, False), (429, False),
    ("slow", False),     # timeout → retried
])
def test_failures_are_classified(gateway, make, fault, permanent):
    if fault == "bad-key":
        sender = make(gateway.base, key="wrong-key-0123456789")
    else:
        sender = make(gateway.base, timeout=0.3)
        gateway.faults.append(fault)
    with pytest.raises(DeliveryError) as exc:
        sender.send(TO, "", TEXT, {})
    assert exc.value.permanent is permanent, str(exc.value)
    assert "wrong-key" not in str(exc.value)


@pytest.mark.parametrize("make", SENDERS)
def test_a_missing_parameter_is_permanent(gateway, make):
    with pytest.raises(DeliveryError) as exc:
        make(gateway.base).send(TO, "", "", {})
    assert exc.value.permanent and "400" in str(exc.value)


@pytest.mark.parametrize("fault, permanent", [(None, True),  # number without + → 403 InvalidPhoneNumber
                                              (("recipient", 405, "InsufficientBalance"), False),
                                              (("recipient", 406, "UserInBlacklist"), True),
                                              (("recipient", 502, "RejectedByGateway"), False)])
def test_africastalking_recipient_status_inside_a_201(gateway, fault, permanent):
    if fault:
        gateway.faults.append(fault)
    with pytest.raises(DeliveryError) as exc:
        africastalking(gateway.base).send(TO if fault else "22370000001", "", TEXT, {})
    assert exc.value.permanent is permanent


@pytest.mark.parametrize("make", SENDERS)
def test_an_alert_sms_that_fails_is_retried_by_the_outbox_then_sent(db, pyramid, diseases, gateway, make):
    gateway.faults.extend([503, "slow"])
    s = Scenario(db, pyramid, diseases, channels=Channels(sms=make(gateway.base, timeout=0.3)))
    s.subscribe("ML-MOP-DJENNE-MOUGNA", "sms", TO)
    s.at(0).signal("cholera", observed=3)
    assert s.deliver() == {"sent": 0, "retry": 1, "dead": 0}
    s.at(10); assert s.deliver() == {"sent": 0, "retry": 1, "dead": 0}
    s.at(30); assert s.deliver() == {"sent": 1, "retry": 0, "dead": 0}
    assert len(gateway.requests) == 3
    last = gateway.requests[-1]["body"]
    assert TO in str(last) and "Choléra" in str(last)


KW = {"environment": "test", "_env_file": None}


@pytest.mark.parametrize("env, kind", [
    ({}, LogSmsGateway),
    ({"sms_gateway_url": "http://127.0.0.1:9/sms"}, HttpSmsGateway),
    ({"sms_outbound": "telerivet", "sms_telerivet_api_key": TELERIVET_KEY, "sms_telerivet_project_id": "PJ1"},
     TelerivetSender),
    ({"sms_outbound": "rapidpro", "sms_rapidpro_url": "https://textit.com", "sms_rapidpro_api_token": RAPIDPRO_TOKEN},
     RapidProSender),
    ({"sms_outbound": "africastalking", "sms_africastalking_username": "u", "sms_africastalking_api_key": AT_KEY},
     AfricasTalkingSender),
])
def test_the_adapter_is_selected_by_settings(env, kind):
    assert isinstance(sms_sender_from_settings(Settings(**KW, **env)), kind)


@pytest.mark.parametrize("kind, missing", [("telerivet", "SEBAC_SMS_TELERIVET_API_KEY"),
                                           ("rapidpro", "SEBAC_SMS_RAPIDPRO_URL"),
                                           ("africastalking", "SEBAC_SMS_AFRICASTALKING_USERNAME"),
                                           ("generic", "SEBAC_SMS_GATEWAY_URL")])
def test_a_selected_adapter_without_its_settings_is_refused_at_load(kind, missing):
    with pytest.raises(ValueError, match=missing):
        Settings(**KW, sms_outbound=kind)
