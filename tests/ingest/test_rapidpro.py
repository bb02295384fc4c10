"""RapidPro / TextIt webhook bodies (pure): the flow editor's default body (results, no text), the full
body (input.text), which one wins, and the message id each gives (the dedup key)."""
from __future__ import annotations

import datetime as dt

import pytest

from ingest.sms.flow_results import load_flow_fields
from ingest.sms.gateways import GatewayPayloadError, InboundSms
from ingest.sms.rapidpro import parse_rapidpro

FIELDS = load_flow_fields()
CONTACT = {"uuid": "5d76d86b-3bb9-4d5a-b822-c9d86f5d8e4f", "name": "Awa Traoré", "urn": "tel:+22370000001"}
FLOW = {"uuid": "9de3663f-c5c5-4c92-9f45-ecbc09abcc85", "name": "Signalement ASC"}
RESULTS = {"maladie": {"value": "Choléra", "category": "Cholera"}, "nb_cas": {"value": "3", "category": "Has Number"}}


def default_body(results=RESULTS, contact=CONTACT):
    """The body the flow editor puts in a new Call webhook action (floweditor DEFAULT_BODY)."""
    return {"contact": contact, "flow": FLOW, "results": results}


def full_body(text="PALU 4", input_uuid="9b1c7f2e-0000-4000-8000-000000000001", results=None, path=None):
    body = {"contact": CONTACT, "flow": FLOW, "path": path or [], "results": results or {},
            "run": {"uuid": "b5b3ab21-0bbf-4bd5-9f4b-d3a9c7b0a8e5", "created_on": "2026-11-20T08:59:00Z"},
            "input": {"type": "msg", "text": text, "attachments": [], "urn": "tel:+22370000001",
                      "created_on": "2026-11-20T08:58:00Z"},
            "channel": {"uuid": "ch1", "name": "Orange Mali"}}
    if input_uuid:
        body["input"]["uuid"] = input_uuid
    return body


def test_default_body_carries_the_report_in_its_results():
    sms = parse_rapidpro(default_body(), FIELDS)
    assert (sms.gateway, sms.phone, sms.text) == ("rapidpro", "+22370000001", "maladie=Choléra; nb_cas=3")
    assert sms.results == (("maladie", "Choléra", "Cholera"), ("nb_cas", "3", "Has Number"))
    assert sms.idempotency_key.startswith("sms:rapidpro:h") and sms.sent_at is None
    assert parse_rapidpro(default_body(), FIELDS).idempotency_key == sms.idempotency_key  # a re-post
    other = default_body({**RESULTS, "nb_cas": {"value": "4", "category": "Has Number"}})
    assert parse_rapidpro(other, FIELDS).idempotency_key != sms.idempotency_key  # other answers
    other_contact = default_body(contact={**CONTACT, "uuid": "another"})
    assert parse_rapidpro(other_contact, FIELDS).idempotency_key != sms.idempotency_key
    assert InboundSms.from_envelope(sms.envelope()) == sms  # kept and re-processed with its results


def test_full_body_is_read_from_its_text_unless_its_results_name_a_report():
    sms = parse_rapidpro(full_body(), FIELDS)
    assert (sms.text, sms.results, sms.message_id) == ("PALU 4", None, "9b1c7f2e-0000-4000-8000-000000000001")
    assert sms.sent_at == dt.datetime(2026, 11, 20, 8, 58, tzinfo=dt.timezone.utc)
    # a flow that asked question by question: input.text is only its last answer
    asked = parse_rapidpro(full_body(text="1811", results={**RESULTS, "date_debut": {"value": "1811"}}), FIELDS)
    assert asked.results[-1] == ("date_debut", "1811", None) and asked.message_id.startswith("9b1c7f2e")
    # results that do not name a disease: the text is the report
    assert parse_rapidpro(full_body(results={"confirmation": {"value": "oui"}}), FIELDS).results is None


@pytest.mark.parametrize("path, expected", [
    ([{"uuid": "s1", "node_uuid": "n-ask", "arrived_on": "2026-11-20T08:57:00Z", "exit_uuid": "e1"},
      {"uuid": "s2", "node_uuid": "n-webhook", "arrived_on": "2026-11-20T08:59:00Z"}],
     "rb5b3ab21-0bbf-4bd5-9f4b-d3a9c7b0a8e5:n-webhook"),
    ([], "rb5b3ab21-0bbf-4bd5-9f4b-d3a9c7b0a8e5"),
])
def test_without_input_uuid_the_key_is_run_and_node(path, expected):
    sms = parse_rapidpro(full_body(input_uuid=None, path=path), FIELDS)
    assert sms.message_id == expected and sms.idempotency_key == f"sms:rapidpro:{expected}"


@pytest.mark.parametrize("body, detail", [
    ({"contact": CONTACT, "flow": FLOW, "results": {"confirmation": {"value": "oui"}}}, "no message text"),
    ({"contact": CONTACT, "results": {"maladie": "CHOL"}}, "result 'maladie' must be an object"),
    ({"contact": CONTACT, "results": {"maladie": {"value": {"x": 1}}}}, "must have a text value"),
    ({"contact": CONTACT, "results": ["maladie"]}, "results must be an object"),
    ({"flow": FLOW, "results": RESULTS}, "no contact URN"),
])
def test_bodies_that_hold_no_report(body, detail):
    with pytest.raises(GatewayPayloadError) as err:
        parse_rapidpro(body, FIELDS)
    assert detail in err.value.params["detail"]
