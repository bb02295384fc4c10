"""Secrets out of what is kept and logged: raw bodies of rejected items, and log records.

A gateway puts its shared secret in the body (Telerivet's ``secret`` form field, the generic
gateway's ``secret`` JSON key) or in a header (``Authorization: Token …``, ``X-Sebac-Secret``,
Africa's Talking's ``apiKey``). A rejected payload is kept for re-processing, and an operator reads
it in ``GET /api/v1/rejected``: the secret must not be in it, nor in the log.

* :func:`redact_text` rewrites the value of every form field and JSON key whose name looks secret
  (:data:`SECRET_NAME`) to ``[redacted]``, on the text as received, so malformed JSON and forms with
  bytes that are not UTF-8 are redacted too and everything else stays byte for byte;
* :func:`install_log_redaction` wraps the log record factory, so every record — of any logger,
  whatever handler (console, file, pytest's caplog) — has those values, secret headers
  (``Authorization: Basic …``, ``Bearer``/``Token``/``ApiToken`` credentials) and the configured
  secret values themselves replaced before any handler sees it.
"""
from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from typing import Any

MASK = "[redacted]"
SECRET_NAME = r"[\w.-]*?(?:secret|password|passwd|token|api[_-]?key|apikey|authorization|access[_-]?key)[\w.-]*"
_FORM = re.compile(rf"(?i)(^|&)({SECRET_NAME})=([^&]*)")
_JSON = re.compile(rf'(?i)("{SECRET_NAME}"\s*:\s*)"(?:[^"\\]|\\.)*"')
_HEADER = re.compile(rf"(?i)(\b(?:{SECRET_NAME}|x-[\w-]*-secret)['\"]?\s*[:=]\s*['\"]?)"
                     r"(?:(?:basic|bearer|token|apitoken)\s+)?[^\s'\",&}]+")
_CREDENTIAL = re.compile(r"(?i)\b(basic|bearer|token|apitoken)\s+[A-Za-z0-9._~+/=-]{8,}")


def redact_text(text: str) -> str:
    """``text`` (a form or a JSON document, well formed or not) with secret values masked.

    >>> redact_text("secret=s3cr3t&content=CHOL+3")
    'secret=[redacted]&content=CHOL+3'
    >>> redact_text('{"from": "+223", "secret": "s3\\\\"x", "text": ')
    '{"from": "+223", "secret": "[redacted]", "text": '
    """
    text = _FORM.sub(lambda m: f"{m.group(1)}{m.group(2)}={MASK}", text)
    return _JSON.sub(lambda m: f'{m.group(1)}"{MASK}"', text)


def redact_log_text(text: str, secrets: Iterable[str] = ()) -> str:
    """:func:`redact_text`, plus ``name: value`` / ``name=value`` pairs, credentials after an auth
    scheme, and the literal ``secrets`` anywhere."""
    for s in secrets:
        text = text.replace(s, MASK)
    text = redact_text(text)
    text = _HEADER.sub(lambda m: f"{m.group(1)}{MASK}", text)
    return _CREDENTIAL.sub(lambda m: f"{m.group(1)} {MASK}", text)


_lock = threading.Lock()
_secrets: set[str] = set()
_installed = False


def install_log_redaction(secrets: Iterable[str | None] = ()) -> None:
    """Redact every log record from now on (idempotent; each call adds ``secrets`` to the literal list).

    Values shorter than 6 characters are not added: masking them would garble ordinary words.
    """
    global _installed
    with _lock:
        _secrets.update(s for s in secrets if isinstance(s, str) and len(s) >= 6)
        if _installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            try:
                message = record.getMessage()
            except (TypeError, ValueError):  # a bad format string: left to the handler to report
                return record
            clean = redact_log_text(message, sorted(_secrets, key=len, reverse=True))
            if clean != message:
                record.msg, record.args = clean, None
            return record

        logging.setLogRecordFactory(factory)
        _installed = True
