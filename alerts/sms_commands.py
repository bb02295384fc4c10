"""Acting on an alert by SMS reply, for district focal points on 2G.

Grammar (case- and accent-insensitive; ``#`` before the number optional)::

    OK 1234            | ACK 1234          acknowledge alert 1234
    VRAI 1234          | TRUE 1234         verify (real)
    FAUX 1234 raison   | FALSE 1234 reason discard (false), the reason is required
    ESC 1234 [raison]                      escalate to the next level

The sender is identified by the phone number of a registered user (``users.phone``); the same
guards as the API apply (jurisdiction, level, status), and the reply names the outcome or the error
(translated key) in the user's language. The handler plugs into the SMS webhook through
``ingest.sms.commands.register_command_handler``; :func:`parse_command` is pure.
"""
from __future__ import annotations

import datetime as dt
import logging
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from alerts.users import UserRepository
from ingest.errors import DomainError
from alerts.messages import localized
from ingest.messages import register, translate

log = logging.getLogger("sebac.alerts.sms")

WORDS = {"OK": "acknowledge", "ACK": "acknowledge", "VRAI": "verify", "TRUE": "verify",
         "FAUX": "discard", "FALSE": "discard", "ESC": "escalate"}
_NUMBER = re.compile(r"^#?(\d{1,12})$")


@dataclass(frozen=True)
class SmsCommand:
    action: str
    alert_id: int
    reason: str | None = None


def _fold(word: str) -> str:
    return unicodedata.normalize("NFKD", word).encode("ascii", "ignore").decode().upper()


def parse_command(text: str) -> SmsCommand | None:
    """The command in ``text``; None when the first word is not a command word.

    Raises DomainError ``alert.sms.syntax`` when it is a command word without a valid alert number.
    """
    parts = text.strip().split(None, 2)
    if not parts or _fold(parts[0]) not in WORDS:
        return None
    action = WORDS[_fold(parts[0])]
    m = _NUMBER.match(parts[1]) if len(parts) > 1 else None
    if m is None:
        raise DomainError("alert.sms.syntax", "expected e.g. OK 1234", status=422, word=_fold(parts[0]))
    reason = parts[2].strip() if len(parts) > 2 and parts[2].strip() else None
    return SmsCommand(action, int(m.group(1)), reason)


MESSAGES = {
    "fr": {
        "alert.sms.done.acknowledge": "Alerte #{id} acquittée. Merci.",
        "alert.sms.done.verify": "Alerte #{id} vérifiée (vraie). Lancez l'investigation.",
        "alert.sms.done.discard": "Alerte #{id} écartée (fausse) : {reason}.",
        "alert.sms.done.escalate": "Alerte #{id} remontée au niveau {level}.",
        "alert.sms.syntax": "Commande non comprise. Exemples : OK 12, VRAI 12, FAUX 12 raison.",
        "alert.sms.unknownPhone": "Ce numéro n'est pas enregistré pour répondre aux alertes.",
        "alert.sms.discard.reasonRequired": "Indiquez la raison : FAUX {id} raison.",
    },
    "en": {
        "alert.sms.done.acknowledge": "Alert #{id} acknowledged. Thank you.",
        "alert.sms.done.verify": "Alert #{id} verified (real). Start the investigation.",
        "alert.sms.done.discard": "Alert #{id} discarded (false): {reason}.",
        "alert.sms.done.escalate": "Alert #{id} escalated to {level}.",
        "alert.sms.syntax": "Command not understood. Examples: OK 12, TRUE 12, FALSE 12 reason.",
        "alert.sms.unknownPhone": "This number is not registered to answer alerts.",
        "alert.sms.discard.reasonRequired": "Give the reason: FALSE {id} reason.",
    },
}
for _lang, _messages in MESSAGES.items():
    register(_lang, _messages)


class SmsCommandHandler:
    """``handler(text, phone, now) -> reply | None`` for ``register_command_handler``."""

    def __init__(self, db: Any, service: Any, users: UserRepository | None = None, default_lang: str = "fr",
                 clock: Any = None):
        self.db = db
        self.clock = clock  # the alerts' clock; else the time the SMS intake passes
        self.service = service
        self.users = users or UserRepository()
        self.default_lang = default_lang

    def __call__(self, text: str, phone: str, now: dt.datetime) -> str | None:
        now = self.clock.now() if self.clock is not None else now
        with self.db.connect() as conn:
            user = self.users.by_phone(conn, phone)
        lang = user.lang if user else self.default_lang
        try:
            cmd = parse_command(text)
        except DomainError as exc:
            return translate(exc.key, lang)
        if cmd is None:
            return None
        if user is None:
            log.info("SMS command from an unregistered phone refused")
            return translate("alert.sms.unknownPhone", lang)
        try:
            with self.db.begin() as conn:
                alert = self.service.act(conn, cmd.alert_id, cmd.action, user, now, reason=cmd.reason)
        except DomainError as exc:
            log.info("SMS %s #%d by %s refused: %s", cmd.action, cmd.alert_id, user.username, exc.key)
            params = localized({k: v for k, v in exc.params.items() if k != "id"}, lang)
            key = "alert.sms.discard.reasonRequired" if exc.key == "alert.discard.reasonRequired" else exc.key
            return translate(key, lang, id=cmd.alert_id, **params)
        return translate(f"alert.sms.done.{cmd.action}", lang, id=alert.alert_id, reason=cmd.reason,
                         level=alert.level)


_installed: SmsCommandHandler | None = None


def install(db: Any, service: Any, default_lang: str = "fr", clock: Any = None) -> SmsCommandHandler:
    """Register the handler with the SMS webhook (replacing one installed before in this process)."""
    global _installed
    from ingest.sms.commands import register_command_handler, unregister_command_handler

    if _installed is not None:
        unregister_command_handler(_installed)
    _installed = SmsCommandHandler(db, service, default_lang=default_lang, clock=clock)
    register_command_handler(_installed)
    return _installed
