"""Hook for SMS *commands* from district users (``OK 1234``, ``VRAI 1234``...), owned by alerts.

The SMS webhook receives both CHW reports and replies of district users to alert notifications.
Ingest cannot import the alerts package (data flows one way), so alerts plugs in here:

    from ingest.sms.commands import register_command_handler

    @register_command_handler
    def on_command(text: str, phone: str, now: datetime) -> str | None:
        ...  # return the reply SMS text, or None when the text is not for you

A text whose first word (folded: upper case, no accents) is one of :data:`COMMAND_WORDS` is offered
to each handler in registration order; the first non-None reply is sent back and the text is *not*
parsed as a CHW report. ``phone`` is normalised (``+22370000001``); ``now`` is the engine clock.
When no handler answers, the sender gets ``sms.command.unavailable``.
"""
from __future__ import annotations

import datetime as dt
import logging
from typing import Callable

from ingest.sms.grammar import COMMAND_WORDS, first_word

log = logging.getLogger("sebac.sms.commands")

CommandHandler = Callable[[str, str, dt.datetime], "str | None"]
_HANDLERS: list[CommandHandler] = []


def register_command_handler(fn: CommandHandler) -> CommandHandler:
    """Add ``fn`` (idempotent: registering the same function twice keeps one). Usable as a decorator."""
    if fn not in _HANDLERS:
        _HANDLERS.append(fn)
    return fn


def unregister_command_handler(fn: CommandHandler) -> None:
    if fn in _HANDLERS:
        _HANDLERS.remove(fn)


def is_command(text: str) -> bool:
    return first_word(text) in COMMAND_WORDS


def dispatch_command(text: str, phone: str, now: dt.datetime) -> str | None:
    """The first non-None reply of the registered handlers, or None."""
    for fn in list(_HANDLERS):
        try:
            reply = fn(text, phone, now)
        except Exception:  # a broken handler must not take the CHW channel down
            log.exception("SMS command handler %r failed", fn)
            continue
        if reply is not None:
            return reply
    return None
