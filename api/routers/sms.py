"""SMS gateway webhooks: Telerivet, RapidPro/TextIt and a generic JSON/form gateway.

``POST /api/v1/sms/telerivet`` · ``POST /api/v1/sms/rapidpro`` · ``POST /api/v1/sms/generic`` —
each checks its gateway's shared secret (constant time), parses the payload as that gateway
documents it (:mod:`ingest.sms.gateways`), hands the SMS to :class:`ingest.sms.intake.SmsIntake`
and answers in the format the gateway expects, so the reply SMS goes back to the CHW.
``GET /api/v1/sms/unregistered`` lists messages from unknown phones (kept, re-processable);
``POST /api/v1/sms/registry/reload`` re-reads the CHW registry file after CHWs were registered.

A gateway that is not configured (no secret) answers 404 ``sms.gateway.disabled`` (there is no such
endpoint to call until it has a secret); a wrong secret
403 ``sms.secret.invalid`` (not stored: it is not a CHW's message). A call with
``X-Mailroom-Mode: simulation`` (RapidPro's flow editor simulator) gets the would-be reply with
``"status": "simulated"`` and nothing is stored (:mod:`ingest.sms.simulation`).
With ``SEBAC_SMS_REPLIES=outbound`` the reply (to a report or to a command such as ``OK 12``) is
not in the answer (``"reply_queued": true``): it goes to the outbox, once per inbound message, and
the outgoing adapter (:mod:`alerts.sms_senders`) sends it, with retries — for gateways that do not
send the webhook's answer back (courier's External API channel, most Android gateways).
"""
from __future__ import annotations

import dataclasses
import json
from typing import Any, Callable

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from alerts.outbox import OutboxRepository
from api.auth import AdminUser
from api.deps import ServicesDep, get_settings
from api.params import Offset
from api.errors import error_body
from api.schemas import AUTH, ErrorOut, errors
from api.schemas_ingest import (GenericSmsIn, RapidProIn, RegistryOut, SmsReplyOut, TelerivetIn, TelerivetOut,
                                 UnregisteredOut, body)
from api.routers._ingest_deps import ChannelsDep, SafeJSONResponse, loads_strict, read_body_text
from ingest.channels import reload_registry
from ingest.chw import normalise_phone
from ingest.contracts import Channel
from ingest.errors import ErrorDetail
from ingest.messages import translate, translate_detail
from ingest.sms.gateways import (
    GatewayPayloadError,
    InboundSms,
    json_reply,
    parse_form,
    parse_generic,
    parse_telerivet,
    payload_key,
    secret_matches,
    telerivet_event,
    telerivet_reply,
)
from ingest.sms.metrics import SMS_WEBHOOK_REQUESTS
from ingest.sms.rapidpro import parse_rapidpro
from ingest.sms.simulation import simulate

router = APIRouter(prefix="/api/v1/sms", tags=["sms"])
MAX_WEBHOOK_BYTES = 64 * 1024
WEBHOOK_ERRORS = errors(400, 403, 413) | {404: {"model": ErrorOut, "description": "gateway not configured (no secret)"}}


def _read_doc(text: str, content_type: str) -> tuple[Any, ErrorDetail | None]:
    """The payload as JSON or as a form, and the problem that keeps it from being read, if any."""
    if "json" in content_type or text.lstrip().startswith(("{", "[")):
        try:
            return loads_strict(text), None
        except json.JSONDecodeError as exc:
            return None, ErrorDetail("report.json.malformed", None, {"line": exc.lineno, "column": exc.colno})
    form, bad_field = parse_form(text)
    if bad_field is not None:  # e.g. content=%FF%FE: refused, not read as "\ufffd\ufffd" (an "empty" SMS)
        return form, ErrorDetail("sms.encoding.invalid", bad_field, {"field": bad_field})
    return form, None


def _header_secret(request: Request, *, authorization: bool = True) -> str | None:
    value = request.headers.get("x-sebac-secret")
    if value or not authorization:
        return value
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    return token.strip() if scheme.lower() in ("token", "bearer") and token else None


async def _webhook(request: Request, pipeline: Any, channels: Any, gateway: str,
                   parse: Callable[[Any], InboundSms], secret_of: Callable[[Any], str | None],
                   reply: Callable[[Any], dict[str, Any]]) -> JSONResponse:
    lang = channels.sms.default_lang
    expected = getattr(get_settings(request), f"sms_{gateway}_secret", None)
    if not expected:
        SMS_WEBHOOK_REQUESTS.labels(gateway, "disabled").inc()
        return JSONResponse(error_body("sms.gateway.disabled", translate("sms.gateway.disabled", lang)), 404)
    text = await read_body_text(request, pipeline, Channel.sms, lang, MAX_WEBHOOK_BYTES)
    if isinstance(text, JSONResponse):
        SMS_WEBHOOK_REQUESTS.labels(gateway, "bad_request").inc()
        return text
    doc, parse_error = _read_doc(text, request.headers.get("content-type", ""))
    if not secret_matches(secret_of(doc) if isinstance(doc, dict) else _header_secret(request), expected):
        SMS_WEBHOOK_REQUESTS.labels(gateway, "forbidden").inc()
        return JSONResponse(error_body("sms.secret.invalid", translate("sms.secret.invalid", lang)), 403)
    if parse_error is None and not isinstance(doc, dict):
        parse_error = ErrorDetail("sms.payload.invalid", None, {"detail": "expected a JSON object or a form"})
    if parse_error is None:
        if gateway == "telerivet" and telerivet_event(doc) != "incoming_message":
            SMS_WEBHOOK_REQUESTS.labels(gateway, "ignored").inc()  # send_status etc.: nothing to do
            return JSONResponse(telerivet_reply(None))
        try:
            sms = parse(doc)
        except GatewayPayloadError as exc:
            parse_error = ErrorDetail(exc.key, None, exc.params)
    simulated = request.headers.get("x-mailroom-mode", "").strip().lower() == "simulation"
    if parse_error is not None:
        if not simulated:  # the flow editor's simulator: answered, never kept
            _keep_once(pipeline, text, parse_error, payload_key(gateway, doc))
        SMS_WEBHOOK_REQUESTS.labels(gateway, "bad_request").inc()
        return SafeJSONResponse(error_body(parse_error.key, translate_detail(parse_error, lang)), 400)
    outcome = simulate(channels.sms, sms) if simulated else channels.sms.handle(sms)
    SMS_WEBHOOK_REQUESTS.labels(gateway, outcome.status).inc()
    if not simulated and outcome.reply and getattr(get_settings(request), "sms_replies", "") == "outbound":
        _queue_reply(pipeline, sms, outcome)  # sent by the outgoing adapter, retried by the outbox
        return SafeJSONResponse(reply(dataclasses.replace(outcome, reply=None)) | {"reply_queued": True})
    return SafeJSONResponse(reply(outcome))


def _queue_reply(pipeline: Any, sms: InboundSms, outcome: Any) -> None:
    with pipeline.db.begin() as conn:
        OutboxRepository().enqueue_reply(conn, address=normalise_phone(sms.phone), body=outcome.reply,
                                         lang=outcome.lang, dedup_key=f"reply:{sms.idempotency_key}"[:200],
                                         now=getattr(pipeline, "alert_clock", pipeline.clock).now())


def _keep_once(pipeline: Any, text: str, error: ErrorDetail, key: str | None) -> None:
    """Keep a payload that could not be read (secrets masked by the repository), once per message
    id when it names one: a gateway retrying the same bad message adds no second item."""
    if key is not None:
        with pipeline.db.connect() as conn:
            if pipeline.rejected.by_idempotency_key(conn, key, status=None) is not None:
                return
    pipeline.reject(Channel.sms, text, [error], key)


def _outcome_json(o: Any) -> dict[str, Any]:
    return json_reply(o.reply, o.status, lang=o.lang, report_id=o.report_id, rejected_id=o.rejected_id,
                      late=o.late or None, alert_ids=o.alert_ids or None,
                      errors=[e.as_dict() for e in o.errors] or None)


@router.post("/telerivet", summary="Telerivet webhook (incoming_message); replies {messages: [{content}]}",
             response_model=TelerivetOut, responses=WEBHOOK_ERRORS,
             openapi_extra=body(("application/x-www-form-urlencoded", TelerivetIn), ("application/json", TelerivetIn)))
async def telerivet(request: Request, pipeline: ServicesDep, channels: ChannelsDep) -> JSONResponse:
    return await _webhook(request, pipeline, channels, "telerivet", parse_telerivet,
                          lambda doc: doc.get("secret"), lambda o: telerivet_reply(o.reply))


@router.post("/rapidpro", summary="RapidPro/TextIt flow webhook; replies {reply, status}",
             response_model=SmsReplyOut, responses=WEBHOOK_ERRORS, openapi_extra=body(("application/json", RapidProIn)))
async def rapidpro(request: Request, pipeline: ServicesDep, channels: ChannelsDep) -> JSONResponse:
    return await _webhook(request, pipeline, channels, "rapidpro",
                          lambda doc: parse_rapidpro(doc, channels.sms.flow_fields),
                          lambda _doc: _header_secret(request), _outcome_json)


@router.post("/generic", summary="Generic gateway (JSON or form: from, text, id, sent_at); replies {reply, status}",
             response_model=SmsReplyOut, responses=WEBHOOK_ERRORS,
             openapi_extra=body(("application/json", GenericSmsIn), ("application/x-www-form-urlencoded", GenericSmsIn)))
async def generic(request: Request, pipeline: ServicesDep, channels: ChannelsDep) -> JSONResponse:
    return await _webhook(request, pipeline, channels, "generic", parse_generic,
                          lambda doc: (_header_secret(request, authorization=False) or doc.get("secret")
                                       or _header_secret(request)), _outcome_json)


@router.get("/unregistered", summary="SMS from phones not in the CHW registry (kept, re-processable)",
            response_model=UnregisteredOut, responses=AUTH)
def unregistered(pipeline: ServicesDep, _admin: AdminUser, limit: int = Query(default=100, ge=1, le=1000),
                 offset: Offset = 0) -> dict[str, Any]:
    with pipeline.db.connect() as conn:
        items = pipeline.rejected.list(conn, channel=Channel.sms, reason="sms.reporter.unknown",
                                       limit=limit, offset=offset)
    out = []
    for it in items:
        try:
            sms = json.loads(it.raw)["sms"]
        except (ValueError, KeyError, TypeError):
            sms = {"raw": it.raw}
        out.append({"rejected_id": it.rejected_id, "received_at": it.received_at.isoformat(), **sms})
    return {"items": out, "limit": limit, "offset": offset}


@router.post("/registry/reload", summary="Re-read the CHW registry file (after registering CHWs)",
             response_model=RegistryOut, responses=AUTH)
def reload_chw_registry(request: Request, pipeline: ServicesDep, channels: ChannelsDep,
                        _admin: AdminUser) -> dict[str, Any]:
    registry = reload_registry(channels, pipeline, get_settings(request))
    return {"chws": len(registry)}
