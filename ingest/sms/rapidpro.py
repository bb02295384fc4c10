"""RapidPro / TextIt *Call webhook* bodies → :class:`InboundSms`. Pure; no I/O.

Two bodies are read (nyaruka/floweditor ``DEFAULT_BODY``, and the older one most flows still use):

* the **default** body of the action: ``{"contact": {"uuid", "name", "urn"}, "flow": {"uuid", "name"},
  "results": {key: {"value", "category"}}}`` — no message text: the report is in the flow's
  results, named by :class:`ingest.sms.flow_results.FlowFields`;
* the **full** body: ``{contact, flow, path, results, run, input, channel}`` — the SMS is
  ``input.text``, its id ``input.uuid``. When its results name a report too (a disease result), the
  results win: ``input.text`` is then only the last answer of the flow.

The sender is ``input.urn`` or ``contact.urn`` (``tel:+223…``; ``whatsapp:`` too). The message id
(dedup key ``sms:rapidpro:<id>``) is ``input.uuid``; else ``r<run uuid>:<node uuid>`` (the node the
run is at, the last step of ``path``); else, for the default body that carries neither, a hash of
contact, flow and results (``h…``): a re-post of the same body is a retry, a new run with other
answers is a new report.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any, Mapping

from ingest.sms.flow_results import FlowFields, results_text
from ingest.sms.gateways import GatewayPayloadError, InboundSms, parse_time


def _object(doc: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = doc.get(name)
    return value if isinstance(value, Mapping) else {}


def _urn(inp: Mapping[str, Any], contact: Mapping[str, Any]) -> str:
    urn = inp.get("urn") or contact.get("urn")
    if isinstance(urn, Mapping):
        urn = urn.get("identity") or urn.get("path")
    if not urn and isinstance(contact.get("urns"), list) and contact["urns"]:
        urn = contact["urns"][0]
    if not isinstance(urn, str) or not urn:
        raise GatewayPayloadError("no contact URN (input.urn / contact.urn)")
    scheme, _, path = urn.partition(":")
    if path and scheme not in ("tel", "whatsapp"):
        raise GatewayPayloadError(f"URN scheme {scheme!r} is not a phone number")
    return path or urn


def _results(body: Mapping[str, Any]) -> tuple[tuple[str, str | None, str | None], ...]:
    raw = body.get("results")
    if raw in (None, {}, []):
        return ()
    if not isinstance(raw, Mapping):
        raise GatewayPayloadError("results must be an object")
    out = []
    for key, res in raw.items():
        if not isinstance(res, Mapping):
            raise GatewayPayloadError(f"result {str(key)[:40]!r} must be an object")
        value, category = res.get("value"), res.get("category")
        if not all(v is None or isinstance(v, (str, int, float)) and not isinstance(v, bool)
                   for v in (value, category)):
            raise GatewayPayloadError(f"result {str(key)[:40]!r} must have a text value")
        out.append((str(key)[:64], None if value is None else str(value)[:200],
                    None if category is None else str(category)[:200]))
    return tuple(out)


def _message_id(body: Mapping[str, Any], inp: Mapping[str, Any], contact: Mapping[str, Any]) -> str:
    if inp.get("uuid"):
        return str(inp["uuid"])
    if body.get("id") not in (None, ""):
        return str(body["id"])
    run = _object(body, "run")
    if run.get("uuid"):
        steps = body.get("path")
        path = steps if isinstance(steps, list) else []
        node = next((s.get("node_uuid") for s in reversed(path) if isinstance(s, Mapping) and s.get("node_uuid")),
                    None)
        return f"r{run['uuid']}:{node}" if node else f"r{run['uuid']}"
    who = contact.get("uuid") or contact.get("urn")
    flow = _object(body, "flow").get("uuid")
    canon = json.dumps([who, flow, body.get("results")], sort_keys=True, default=str, ensure_ascii=False)
    return "h" + hashlib.sha256(canon.encode("utf-8")).hexdigest()[:40]


def parse_rapidpro(body: Any, fields: FlowFields) -> InboundSms:
    if not isinstance(body, Mapping):
        raise GatewayPayloadError("expected a JSON object")
    inp, contact = _object(body, "input"), _object(body, "contact")
    phone = _urn(inp, contact)
    results = _results(body)
    sent_at = parse_time(inp.get("created_on"))
    msg_id = _message_id(body, inp, contact)[:150]
    if results and fields.names_a_report(k for k, _, _ in results):
        return InboundSms("rapidpro", phone, results_text(results), msg_id, sent_at, results=results)
    text = inp.get("text") if isinstance(inp.get("text"), str) else body.get("text")
    if not isinstance(text, str):
        names = ", ".join(fields.disease)
        raise GatewayPayloadError(f"no message text (input.text) and no disease result ({names})")
    return InboundSms("rapidpro", phone, text, msg_id, sent_at)
