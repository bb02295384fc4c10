"""Gateway payloads → :class:`InboundSms`, and each gateway's reply format. Pure; no I/O.

* **Telerivet** (webhook API, ``POST`` form-encoded): ``secret``, ``event`` (``incoming_message``
  for an SMS; ``send_status`` etc. are acknowledged and ignored), ``id`` (message id),
  ``message_type`` (``sms``), ``content``, ``from_number`` (and ``from_number_e164``),
  ``to_number``, ``time_created`` (Unix seconds), ``contact_id``, ``phone_id``, ``project_id``.
  Message ids are unique within a project, so the dedup key is ``sms:telerivet:<project_id>:<id>``.
  Reply: ``{"messages": [{"content": "..."}]}`` sends an SMS back to the sender.
* **RapidPro / TextIt** flow "Call webhook" action (``POST`` JSON): read by
  :mod:`ingest.sms.rapidpro` (the default body's results, or ``input.text``). The secret travels in
  a header set on the action (``X-Sebac-Secret`` or ``Authorization: Token <secret>``). Reply:
  ``{"reply": "...", "status": "..."}``; in the flow, send ``@webhook.reply``.
* **Generic** (any gateway that can POST JSON or a form): ``from``/``phone``/``sender``,
  ``text``/``message``, optional ``id``/``message_id``, ``sent_at``/``date``/``time`` (ISO 8601 /
  RFC 3339, or Unix seconds), ``secret`` (or the ``X-Sebac-Secret`` header). This includes the form
  courier's *External API* (EX) channel receives — ``from`` or ``sender``, ``text``, ``date`` or
  ``time`` in RFC 3339 — so an Android or Kannel gateway set up for RapidPro can post here as is.
  Without an id the dedup key hashes sender, text and the gateway's time: a re-send with the same
  ``date`` is a retry. Reply: ``{"reply": "...", "status": "..."}``.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import uuid
from dataclasses import dataclass
from typing import Any, Mapping
from urllib.parse import unquote_plus, unquote_to_bytes

from ingest.errors import DomainError

PLACEHOLDER_SECRETS = frozenset({"", "change-me", "changeme", "secret", "placeholder", "xxx", "todo",
                                 "password", "test", "dev", "example"})


class GatewayPayloadError(DomainError):
    status = 400

    def __init__(self, detail: str):
        super().__init__("sms.payload.invalid", detail, detail=detail)


class GatewayEncodingError(DomainError):
    """A form field whose percent-escapes are not UTF-8 (Telerivet ``content=%FF%FE``)."""

    status = 400

    def __init__(self, field: str):
        super().__init__("sms.encoding.invalid", f"field {field!r} is not valid UTF-8", field=field)


def parse_form(text: str) -> tuple[dict[str, str], str | None]:
    """An ``application/x-www-form-urlencoded`` body: (fields, first field that is not UTF-8).

    Fields are decoded strictly; one whose bytes are not UTF-8 is kept with U+FFFD replacements
    (so the secret and the message id can still be read) and named as the second value — the
    caller refuses the message instead of reading ``\ufffd\ufffd`` as an SMS text.
    """
    fields: dict[str, str] = {}
    bad: str | None = None
    for pair in text.split("&"):
        if not pair:
            continue
        raw_name, _, raw_value = pair.partition("=")
        name = unquote_plus(raw_name, errors="replace")
        try:
            value = unquote_to_bytes(raw_value.replace("+", " ")).decode("utf-8")
        except UnicodeDecodeError:
            value = unquote_plus(raw_value, errors="replace")
            bad = bad or name
        fields[name] = value  # a repeated field: the last value, as dict(parse_qsl(...))
    return fields, bad


@dataclass(frozen=True)
class InboundSms:
    """One message from a gateway. ``results`` (RapidPro flow results, ``(key, value, category)``)
    replaces the text as what the CHW reported when a flow collected the answers one by one."""

    gateway: str
    phone: str
    text: str
    message_id: str | None = None
    sent_at: dt.datetime | None = None
    results: tuple[tuple[str, str | None, str | None], ...] | None = None
    scope: str | None = None  # what the message id is unique within (Telerivet's project_id)

    @property
    def idempotency_key(self) -> str:
        """``sms:<gateway>[:<scope>]:<message id>``; without an id, a hash of sender, text and send
        time (so a retry of the same message is still recognised), or a fresh uuid when even the
        time is missing (cannot be de-duplicated)."""
        if self.message_id:
            return message_key(self.gateway, self.message_id, self.scope)
        if self.sent_at is not None:
            digest = hashlib.sha256(f"{self.phone}|{self.sent_at.isoformat()}|{self.text}".encode()).hexdigest()
            return f"sms:{self.gateway}:h{digest[:40]}"
        return f"sms:{self.gateway}:u{uuid.uuid4()}"

    def envelope(self) -> dict[str, Any]:
        """What is kept in the rejected table, so the SMS can be re-processed later."""
        doc: dict[str, Any] = {"gateway": self.gateway, "phone": self.phone, "text": self.text, "message_id": self.message_id,
               "sent_at": self.sent_at.isoformat() if self.sent_at else None}
        if self.results is not None:
            doc["results"] = [list(r) for r in self.results]
        if self.scope is not None:
            doc["scope"] = self.scope
        return {"sms": doc}

    @classmethod
    def from_envelope(cls, doc: Mapping[str, Any]) -> "InboundSms":
        s = doc["sms"]
        results = tuple(tuple(r) for r in s["results"]) if s.get("results") is not None else None
        return cls(gateway=s["gateway"], phone=s["phone"], text=s["text"], message_id=s.get("message_id"),
                   sent_at=dt.datetime.fromisoformat(s["sent_at"]) if s.get("sent_at") else None,
                   results=results, scope=s.get("scope"))


def message_key(gateway: str, message_id: str, scope: str | None = None) -> str:
    """The dedup key of a message the gateway identified (bounded to the column's 200 characters)."""
    return (f"sms:{gateway}:{scope}:{message_id}" if scope else f"sms:{gateway}:{message_id}")[:200]


def payload_key(gateway: str, doc: Any) -> str | None:
    """The dedup key of a payload that could not be read as an SMS, when it names its message
    (Telerivet's ``project_id`` + ``id``, the generic ``id``): such a payload is kept once, however
    often the gateway retries it."""
    if not isinstance(doc, Mapping):
        return None
    ident = doc.get("id") if gateway == "telerivet" else doc.get("id") or doc.get("message_id")
    if not isinstance(ident, (str, int)) or isinstance(ident, bool) or ident == "":
        return None
    scope = doc.get("project_id") if gateway == "telerivet" else None
    return message_key(gateway, str(ident), scope if isinstance(scope, str) and scope else None)


def secret_matches(presented: str | None, expected: str) -> bool:
    """Constant-time comparison (``hmac.compare_digest``), so timing does not leak the secret."""
    return isinstance(presented, str) and hmac.compare_digest(presented.encode("utf-8", "surrogatepass"),
                                                              expected.encode("utf-8", "surrogatepass"))


def is_placeholder_secret(value: str | None) -> bool:
    return value is not None and (value.strip().lower() in PLACEHOLDER_SECRETS or len(value.strip()) < 12)


def parse_time(value: Any) -> dt.datetime | None:
    if value in (None, ""):
        return None
    try:
        if isinstance(value, (int, float)) or (isinstance(value, str) and value.replace(".", "", 1).isdigit()):
            return dt.datetime.fromtimestamp(float(value), dt.timezone.utc)
        t = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        raise GatewayPayloadError(f"unreadable time {str(value)[:40]!r}") from None
    return t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)


def field_str(doc: Mapping[str, Any], *names: str) -> str | None:
    for n in names:
        v = doc.get(n)
        if v not in (None, ""):
            if not isinstance(v, (str, int)):
                raise GatewayPayloadError(f"field {n!r} must be a string")
            return str(v)
    return None


def telerivet_event(form: Mapping[str, Any]) -> str:
    return str(form.get("event") or "incoming_message")


def parse_telerivet(form: Mapping[str, Any]) -> InboundSms:
    phone = field_str(form, "from_number_e164", "from_number")
    if phone is None:
        raise GatewayPayloadError("from_number is missing")
    text = field_str(form, "content")
    return InboundSms("telerivet", phone, text or "", field_str(form, "id"), parse_time(form.get("time_created")),
                      scope=field_str(form, "project_id"))


def telerivet_reply(text: str | None) -> dict[str, Any]:
    return {"messages": [{"content": text}]} if text else {"messages": []}


GENERIC_TEXT = ("text", "message", "content", "body")
GENERIC_TIME = ("sent_at", "date", "time")  # courier's External API: date or time, RFC 3339


def parse_generic(doc: Mapping[str, Any]) -> InboundSms:
    if not isinstance(doc, Mapping):
        raise GatewayPayloadError("expected a JSON object or a form")
    phone = field_str(doc, "from", "phone", "sender", "msisdn")
    if phone is None:
        raise GatewayPayloadError("'from' (the sender's phone) is missing")
    text = field_str(doc, *GENERIC_TEXT)
    if text is None:
        if not any(doc.get(n) == "" for n in GENERIC_TEXT):
            raise GatewayPayloadError("'text' is missing")
        text = ""  # courier sends text= with an attachment only: read (and answered) as an empty SMS
    sent = next((doc[n] for n in GENERIC_TIME if doc.get(n) not in (None, "")), None)
    return InboundSms("generic", phone, text, field_str(doc, "id", "message_id"), parse_time(sent))


def json_reply(text: str | None, status: str, **extra: Any) -> dict[str, Any]:
    return {"reply": text, "status": status} | {k: v for k, v in extra.items() if v is not None}
