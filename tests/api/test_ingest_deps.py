"""Strict JSON for everything a channel keeps: no NaN / Infinity, which could not be answered again."""
from __future__ import annotations

import json

import pytest

from api.routers._ingest_deps import SafeJSONResponse, loads_strict


@pytest.mark.parametrize("text", ["NaN", '{"a": Infinity}', "[-Infinity]", '{"cases": 1e999}'])
def test_non_json_numbers_are_malformed(text):
    with pytest.raises(json.JSONDecodeError):
        loads_strict(text)


def test_ordinary_json_is_read():
    assert loads_strict('{"a": [1, 2.5, "é", null]}') == {"a": [1, 2.5, "é", None]}


def test_safe_response_escapes_lone_surrogates():
    assert SafeJSONResponse({"raw": "\ud800é"}).body == b'{"raw":"\\ud800\\u00e9"}'
