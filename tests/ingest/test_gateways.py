"""Gateway payload parsing (pure), secrets, and settings refusing placeholder secrets."""
from __future__ import annotations

import datetime as dt

import pytest

from ingest.messages import CATALOGUE, load_translations, translate
from ingest.sms.flow_results import load_flow_fields
from ingest.sms.gateways import (GatewayPayloadError, InboundSms, is_placeholder_secret, parse_generic,
                                 parse_telerivet, secret_matches, telerivet_event, telerivet_reply)
from ingest.sms.rapidpro import parse_rapidpro

FIELDS = load_flow_fields()

UTC = dt.timezone.utc


def test_telerivet_fields():
    sms = parse_telerivet({"secret": "s", "event": "incoming_message", "id": "SM1", "content": "PALU 2",
                           "from_number": "76 00 00 01", "from_number_e164": "+22376000001",
                           "time_created": "1795165200"})
    assert sms == InboundSms("telerivet", "+22376000001", "PALU 2", "SM1",
                             dt.datetime.fromtimestamp(1795165200, UTC))
    assert sms.idempotency_key == "sms:telerivet:SM1"
    assert parse_telerivet({"from_number": "76000001", "content": "x"}).phone == "76000001"
    assert telerivet_event({"event": "send_status"}) == "send_status" and telerivet_event({}) == "incoming_message"
    assert telerivet_reply("ok") == {"messages": [{"content": "ok"}]} and telerivet_reply(None) == {"messages": []}
    with pytest.raises(GatewayPayloadError):
        parse_telerivet({"content": "PALU 2"})


@pytest.mark.parametrize("body, phone, text, mid", [
    ({"contact": {"urn": "tel:+22376000001"}, "input": {"uuid": "u1", "text": "PALU 2"}}, "+22376000001", "PALU 2", "u1"),
    ({"contact": {"urns": ["tel:+22376000002"]}, "input": {"text": "RAS", "uuid": "u2"}}, "+22376000002", "RAS", "u2"),
    ({"input": {"urn": {"identity": "tel:+22376000003"}, "text": "x", "uuid": "u3"}}, "+22376000003", "x", "u3"),
    ({"contact": {"urn": "whatsapp:22376000004"}, "text": "y", "id": 7}, "22376000004", "y", "7"),
])
def test_rapidpro_payloads(body, phone, text, mid):
    sms = parse_rapidpro(body, FIELDS)
    assert (sms.gateway, sms.phone, sms.text, sms.message_id) == ("rapidpro", phone, text, mid)


@pytest.mark.parametrize("body", [
    [], {"input": {"text": "x"}}, {"contact": {"urn": "telegram:123"}, "input": {"text": "x"}},
    {"contact": {"urn": "tel:+2231"}, "input": {}},
])
def test_rapidpro_bad_payloads(body):
    with pytest.raises(GatewayPayloadError):
        parse_rapidpro(body, FIELDS)


def test_generic_payloads_and_keys_without_ids():
    a = parse_generic({"from": "+22376000001", "text": "PALU 2", "sent_at": "2026-11-20T08:00:00Z"})
    b = parse_generic({"phone": "+22376000001", "message": "PALU 2", "sent_at": 1795161600})
    assert a.sent_at == b.sent_at == dt.datetime(2026, 11, 20, 8, tzinfo=UTC)
    assert a.idempotency_key == b.idempotency_key  # same sender, text and time: a retry
    assert parse_generic({"from": "1", "text": "t"}).idempotency_key != parse_generic({"from": "1", "text": "t"}).idempotency_key
    for bad in ({"text": "x"}, {"from": "1"}, {"from": {"a": 1}, "text": "x"}, {"from": "1", "text": "x", "sent_at": "soon"}):
        with pytest.raises(GatewayPayloadError):
            parse_generic(bad)


def test_envelope_round_trip():
    sms = InboundSms("generic", "+22376000001", "PALU 2", None, dt.datetime(2026, 11, 20, 8, tzinfo=UTC))
    assert InboundSms.from_envelope(sms.envelope()) == sms


@pytest.mark.parametrize("value, placeholder", [
    ("change-me", True), ("secret", True), ("short", True), ("", True), ("CHANGEME", True),
    ("4f9c2e7a1b6d3e8f", False), (None, False),
])
def test_placeholder_secrets(value, placeholder):
    assert is_placeholder_secret(value) is placeholder


def test_secret_compare():
    assert secret_matches("abc", "abc") and not secret_matches("abd", "abc") and not secret_matches(None, "abc")


def test_settings_refuse_placeholder_secrets_outside_development():
    from sebac.settings import Settings

    with pytest.raises(ValueError, match="SMS_TELERIVET_SECRET"):
        Settings(environment="production", sms_telerivet_secret="change-me")
    with pytest.raises(ValueError, match="SMS_GENERIC_SECRET"):
        Settings(environment="test", sms_generic_secret="secret")
    assert Settings(environment="development", sms_rapidpro_secret="change-me").sms_rapidpro_secret == "change-me"
    assert Settings(environment="production", sms_rapidpro_secret="4f9c2e7a1b6d3e8f").sms_rapidpro_secret


def test_translations_file(tmp_path):
    p = tmp_path / "t.yaml"
    p.write_text("ff:\n  report.duplicate: '[ff] already received'\n")
    try:
        assert load_translations(str(p)) == ["ff"]
        assert translate("report.duplicate", "ff") == "[ff] already received"
        assert translate("report.accepted", "ff", cases=1, disease="x").startswith("Rapport reçu")  # → French
    finally:
        CATALOGUE.pop("ff", None)
    p.write_text("bm:\n  report.duplicate: [1, 2]\n")
    with pytest.raises(ValueError):
        load_translations(str(p))


@pytest.mark.parametrize("doc", [
    {"from": "+22376000001", "text": "PALU 2", "date": "2026-11-20T08:00:00Z"},           # courier EX, form
    {"sender": "+22376000001", "text": "PALU 2", "time": "2026-11-20T09:00:00+01:00"},    # sender / time
    {"from": "+22376000001", "text": "PALU 2", "date": "2026-11-20T08:00:00.000000000Z"},  # RFC 3339 nanoseconds
])
def test_generic_reads_courier_external_api_form(doc):
    sms = parse_generic(doc)
    assert (sms.phone, sms.text, sms.message_id) == ("+22376000001", "PALU 2", None)
    assert sms.sent_at == dt.datetime(2026, 11, 20, 8, tzinfo=UTC)
    assert sms.idempotency_key == parse_generic(dict(doc)).idempotency_key  # the same date: a retry


def test_generic_key_without_id_is_phone_text_and_date():
    base = {"from": "+22376000001", "text": "PALU 2", "date": "2026-11-20T08:00:00Z"}
    keys = {parse_generic(base | change).idempotency_key for change in (
        {}, {"date": "2026-11-20T08:00:01Z"}, {"text": "PALU 3"}, {"from": "+22376000002"})}
    assert len(keys) == 4
    assert parse_generic(base | {"id": "gw-1"}).idempotency_key == "sms:generic:gw-1"
    assert parse_generic({"from": "1", "text": ""}).text == ""  # courier: attachment only
    with pytest.raises(GatewayPayloadError):
        parse_generic({"from": "1", "text": "x", "date": "20/11/2026"})
