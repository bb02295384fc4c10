"""Outgoing SMS through a gateway's own send API (thin adapters behind :class:`alerts.channels.Sender`).

Each adapter sends one SMS and raises :class:`alerts.channels.DeliveryError`: ``permanent`` for
what a retry cannot fix (HTTP 400/401/403/404/422, a number the gateway refuses), transient for
the rest (network error, timeout, HTTP 408/429/5xx, an empty balance), which the outbox retries
with backoff (:class:`alerts.outbox.OutboxWorker`). Alert notifications and the replies to SMS
commands (``OK 12``) both go through the adapter :func:`sms_sender_from_settings` selects.

* :class:`TelerivetSender` — ``POST {api}/projects/{project_id}/messages/send`` with JSON
  ``{"to_number", "content"[, "route_id"]}``, HTTP basic auth with the API key as user name and an
  empty password; errors come as ``{"error": {"code", "message"}}`` (Telerivet REST API, "Send
  message").
* :class:`RapidProSender` — ``POST {base}/api/v2/broadcasts.json`` with JSON ``{"urns":
  ["tel:+223…"], "text"}`` and ``Authorization: Token <api token>``; answers ``201`` with the
  broadcast (RapidPro / TextIt API v2, "Broadcasts").
* :class:`AfricasTalkingSender` — ``POST`` form ``username``, ``to``, ``message`` [``from``] with the
  ``apiKey`` header and ``Accept: application/json``; answers ``201`` with
  ``SMSMessageData.Recipients[{statusCode, status, number, messageId}]``: status codes 100-102 are
  accepted, 405 (insufficient balance) and 500-502 (gateway errors) are retried, the others
  (401 risk hold, 402 sender id, 403 invalid number, 404, 406 blacklisted, 407 unroutable) are not.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from alerts.channels import DeliveryError, HttpSmsGateway, LogSmsGateway, Sender
from ingest.redaction import redact_log_text

AT_ACCEPTED = frozenset({100, 101, 102})      # Processed, Sent, Queued
AT_TRANSIENT = frozenset({405, 500, 501, 502})  # InsufficientBalance, InternalServerError, GatewayError, RejectedByGateway


def _post(what: str, url: str, timeout: float, **kwargs: Any) -> httpx.Response:
    """POST; a network error or timeout is transient, an HTTP error status is classified."""
    try:
        resp = httpx.post(url, timeout=timeout, **kwargs)
    except httpx.HTTPError as exc:
        raise DeliveryError(f"{what}: {exc.__class__.__name__}: {redact_log_text(str(exc))}") from exc
    if resp.status_code >= 300:
        permanent = 400 <= resp.status_code < 500 and resp.status_code not in (408, 425, 429)
        raise DeliveryError(f"{what}: HTTP {resp.status_code} {redact_log_text(resp.text[:200])}", permanent=permanent)
    return resp


def _json(resp: httpx.Response, what: str) -> Any:
    try:
        return resp.json()
    except ValueError:
        raise DeliveryError(f"{what}: HTTP {resp.status_code} answer is not JSON: {resp.text[:100]!r}") from None


@dataclass
class TelerivetSender:
    api_key: str
    project_id: str
    route_id: str | None = None
    api_url: str = "https://api.telerivet.com/v1"
    timeout: float = 10.0

    def send(self, address: str, subject: str, body: str, payload: dict[str, Any]) -> None:
        url = f"{self.api_url.rstrip('/')}/projects/{quote(self.project_id, safe='')}/messages/send"
        doc = {"to_number": address, "content": body} | ({"route_id": self.route_id} if self.route_id else {})
        _post("telerivet", url, self.timeout, json=doc, auth=(self.api_key, ""))


@dataclass
class RapidProSender:
    base_url: str
    api_token: str
    timeout: float = 10.0

    def send(self, address: str, subject: str, body: str, payload: dict[str, Any]) -> None:
        urn = address if ":" in address else f"tel:{address}"
        _post("rapidpro", f"{self.base_url.rstrip('/')}/api/v2/broadcasts.json", self.timeout,
              json={"urns": [urn], "text": body}, headers={"Authorization": f"Token {self.api_token}"})


@dataclass
class AfricasTalkingSender:
    username: str
    api_key: str
    url: str = "https://api.africastalking.com/version1/messaging"
    sender_id: str | None = None
    timeout: float = 10.0

    def send(self, address: str, subject: str, body: str, payload: dict[str, Any]) -> None:
        form = {"username": self.username, "to": address, "message": body} | (
            {"from": self.sender_id} if self.sender_id else {})
        resp = _post("africastalking", self.url, self.timeout, data=form,
                     headers={"apiKey": self.api_key, "Accept": "application/json"})
        data = _json(resp, "africastalking").get("SMSMessageData") or {}
        recipients = data.get("Recipients") or []
        if not recipients:  # e.g. {"Message": "InvalidPhoneNumber", "Recipients": []}
            raise DeliveryError(f"africastalking: not sent: {str(data.get('Message'))[:200]}", permanent=True)
        for r in recipients:
            code = int(r.get("statusCode", 0))
            if code not in AT_ACCEPTED:
                raise DeliveryError(f"africastalking: {r.get('number')} {code} {r.get('status')}",
                                    permanent=code not in AT_TRANSIENT)


def sms_sender_from_settings(settings: Any) -> Sender:
    """The adapter ``SEBAC_SMS_OUTBOUND`` names (unset: generic when a gateway URL is set, else the log)."""
    kind = getattr(settings, "sms_outbound", None) or ("generic" if settings.sms_gateway_url else "log")
    timeout = getattr(settings, "sms_outbound_timeout_seconds", 10.0)
    if kind == "generic":
        return HttpSmsGateway(settings.sms_gateway_url, settings.sms_gateway_token, timeout)
    if kind == "telerivet":
        return TelerivetSender(settings.sms_telerivet_api_key, settings.sms_telerivet_project_id,
                               settings.sms_telerivet_route_id, settings.sms_telerivet_api_url, timeout)
    if kind == "rapidpro":
        return RapidProSender(settings.sms_rapidpro_url, settings.sms_rapidpro_api_token, timeout)
    if kind == "africastalking":
        return AfricasTalkingSender(settings.sms_africastalking_username, settings.sms_africastalking_api_key,
                                    settings.sms_africastalking_url, settings.sms_africastalking_from, timeout)
    return LogSmsGateway()
