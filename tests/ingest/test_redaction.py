"""Secrets masked in kept raw bodies and in log records (ingest.redaction)."""
from __future__ import annotations

import logging

import pytest

from ingest.redaction import MASK, install_log_redaction, redact_log_text, redact_text
from ingest.repository import printable_raw

S = "tr-secret-0123456789"


@pytest.mark.parametrize("raw, kept", [
    (f"secret={S}&id=SM1&content=CHOL+3", f"secret={MASK}&id=SM1&content=CHOL+3"),
    (f"id=SM1&secret={S}", f"id=SM1&secret={MASK}"),
    (f"content=%FF%FE&secret={S}", f"content=%FF%FE&secret={MASK}"),  # not UTF-8: redacted as received
    (f'{{"from": "+223", "secret": "{S}", "text": "CHOL 1"}}', f'{{"from": "+223", "secret": "{MASK}", "text": "CHOL 1"}}'),
    (f'{{"api_key": "{S}", "text": ', f'{{"api_key": "{MASK}", "text": '),  # malformed JSON too
    ('{"secret": "a\\"b", "x": 1}', f'{{"secret": "{MASK}", "x": 1}}'),   # an escaped quote inside the value
    ('{"Password":"p4ss"}', f'{{"Password":"{MASK}"}}'),
    ("CHOL 3 F 5+ 1811", "CHOL 3 F 5+ 1811"),                           # nothing secret: unchanged
    ('{"sms": {"text": "secret=1"}}', '{"sms": {"text": "secret=1"}}'),  # a CHW's words are not a field
])
def test_redact_text(raw, kept):
    assert redact_text(raw) == kept


def test_the_rejected_table_never_gets_the_secret():
    assert S not in printable_raw(f"secret={S}&content=x".encode())


@pytest.mark.parametrize("line", [
    f"Authorization: Token {S}", f"authorization=Basic {S}", f"X-Telerivet-Secret: {S}", f"apiKey: {S}",
    f"Authorization: ApiToken d2pat_{S}", f"retrying with Bearer {S}", f"headers={{'x-sebac-secret': '{S}'}}",
])
def test_redact_log_text_masks_headers_and_credentials(line):
    assert S not in redact_log_text(line)


def test_every_log_record_is_redacted_including_configured_values(caplog):
    install_log_redaction([S, "short"])
    caplog.set_level(logging.INFO)
    log = logging.getLogger("sebac.tests.redaction")
    log.info("webhook body %s", f"secret={S}&id=1")
    log.info("value seen alone: %s", S)
    log.info("a short word stays: short")
    assert S not in caplog.text and caplog.text.count(MASK) == 2 and "short word stays: short" in caplog.text
