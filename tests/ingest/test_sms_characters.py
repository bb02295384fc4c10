"""Characters of an SMS before the grammar: digits normalised or refused, other scripts named."""
from __future__ import annotations

import doctest

import pytest

import ingest.sms.characters as characters
import ingest.sms.grammar as grammar
from ingest.sms.characters import CharacterProblem, is_blank, normalise_sms_text
from ingest.sms.gateways import parse_form


def test_doctests():
    for module in (characters, grammar):
        assert doctest.testmod(module).failed == 0


@pytest.mark.parametrize("text, want", [
    ("CHOL 3", "CHOL 3"),
    ("Choléra ٣", "Choléra 3"),
    ("PALU ۱۲ ۰۵/۱۱", "PALU 12 05/11"),
    ("RAS 👍", "RAS 👍"),  # symbols pass; the folding drops them
])
def test_normalised(text, want):
    assert normalise_sms_text(text) == want


@pytest.mark.parametrize("text, key", [("CHOL ²", "sms.digit.lookalike"), ("CHOL ߃", "sms.digit.lookalike"),
                                       ("ΧΟΛ 3", "sms.format.unknown"), ("コレラ 3", "sms.format.unknown")])
def test_refused(text, key):
    with pytest.raises(CharacterProblem) as exc:
        normalise_sms_text(text)
    assert exc.value.key == key


@pytest.mark.parametrize("text, blank", [("", True), (" \t\n", True), ("\u200b\ufeff", True), ("👍", False),
                                         ("a", False)])
def test_is_blank(text, blank):
    assert is_blank(text) is blank


@pytest.mark.parametrize("body, fields, bad", [
    ("secret=s&content=%FF%FE&id=SM1", {"secret": "s", "content": "\ufffd\ufffd", "id": "SM1"}, "content"),
    ("content=CHOL+3+%C3%A9&a=b=c&&x", {"content": "CHOL 3 é", "a": "b=c", "x": ""}, None),
    ("id=1&id=2", {"id": "2"}, None),
])
def test_parse_form_names_the_field_that_is_not_utf8(body, fields, bad):
    assert parse_form(body) == (fields, bad)
