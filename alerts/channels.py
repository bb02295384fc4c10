"""Delivery adapters (thin): SMS through a gateway, email over SMTP, HTTP webhook.

Each adapter sends one message and raises :class:`DeliveryError` on failure; ``permanent=True``
(e.g. HTTP 400/401/404, SMTP 5xx recipient refused) sends the message straight to the dead letter,
anything else is retried by the outbox with backoff.

* :class:`HttpSmsGateway` posts ``{"to", "text"}`` as JSON to a generic gateway URL with a bearer
  token (RapidPro/Telerivet/SMSEagle/Africa's Talking relays accept this shape or sit behind a small
  bridge); :class:`LogSmsGateway` writes the SMS to the log (development and the demo).
* :class:`SmtpMailer` uses :mod:`smtplib` (optional STARTTLS and login).
* :class:`WebhookSender` posts the alert JSON (``{"reason", "alert", "text"}``).
"""
from __future__ import annotations

import email.message
import logging
import smtplib
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

log = logging.getLogger("sebac.alerts.channels")
CHANNELS = ("sms", "email", "webhook")


class DeliveryError(Exception):
    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


class Sender(Protocol):
    def send(self, address: str, subject: str, body: str, payload: dict[str, Any]) -> None: ...


def _http_error(resp: httpx.Response, what: str) -> DeliveryError:
    permanent = 400 <= resp.status_code < 500 and resp.status_code not in (408, 429)
    return DeliveryError(f"{what}: HTTP {resp.status_code} {resp.text[:200]}", permanent=permanent)


def _post_json(url: str, body: dict[str, Any], what: str, timeout: float,
               headers: dict[str, str] | None = None) -> None:
    """POST ``body``; a network error is transient, an HTTP error is classified by :func:`_http_error`."""
    try:
        resp = httpx.post(url, json=body, headers=headers or {}, timeout=timeout)
    except httpx.HTTPError as exc:
        raise DeliveryError(f"{what}: {exc.__class__.__name__}: {exc}") from exc
    if resp.status_code >= 300:
        raise _http_error(resp, what)


def _idempotency(payload: dict[str, Any]) -> dict[str, str]:
    """``Idempotency-Key``: the same on every attempt of one notification (see :mod:`alerts.outbox`)."""
    key = payload.get("notification_id")
    return {"Idempotency-Key": str(key)} if key else {}


@dataclass
class HttpSmsGateway:
    url: str
    token: str | None = None
    timeout: float = 10.0

    def send(self, address: str, subject: str, body: str, payload: dict[str, Any]) -> None:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        _post_json(self.url, {"to": address, "text": body}, "sms gateway", self.timeout,
                   headers | _idempotency(payload))


@dataclass
class LogSmsGateway:
    """Development sink: the SMS goes to the log (and to ``sent`` for inspection)."""

    sent: list[tuple[str, str]] = field(default_factory=list)

    def send(self, address: str, subject: str, body: str, payload: dict[str, Any]) -> None:
        self.sent.append((address, body))
        log.warning("SMS → %s: %s", address, body)


@dataclass
class SmtpMailer:
    host: str
    port: int = 25
    sender: str = "sebac@localhost"
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout: float = 10.0

    def send(self, address: str, subject: str, body: str, payload: dict[str, Any]) -> None:
        msg = email.message.EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = self.sender, address, subject
        msg.set_content(body)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"smtp: recipient refused: {exc.recipients}", permanent=True) from exc
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(f"smtp: {exc.smtp_code} {exc.smtp_error!r}", permanent=500 <= exc.smtp_code < 600) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"smtp: {exc.__class__.__name__}: {exc}") from exc


@dataclass
class WebhookSender:
    timeout: float = 10.0

    def send(self, address: str, subject: str, body: str, payload: dict[str, Any]) -> None:
        _post_json(address, payload | {"text": body}, "webhook", self.timeout, _idempotency(payload))


@dataclass
class Channels:
    """The adapters by channel name; a channel without an adapter fails permanently."""

    sms: Sender | None = None
    email: Sender | None = None
    webhook: Sender | None = None

    def send(self, channel: str, address: str, subject: str, body: str, payload: dict[str, Any]) -> None:
        sender = getattr(self, channel, None) if channel in CHANNELS else None
        if sender is None:
            raise DeliveryError(f"no adapter configured for channel {channel!r}", permanent=True)
        sender.send(address, subject, body, payload)
