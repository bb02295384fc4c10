"""SMS texts in the GSM-7 alphabet: accents it has are kept, the others transliterated the same way."""
from __future__ import annotations

import doctest

import pytest

import ingest.sms.gsm7 as gsm7
from alerts.templates import SMS, render
from ingest.sms.gsm7 import is_gsm7, to_gsm7


@pytest.mark.parametrize("text,want", [
    ("é è à ù ì ò É Ç", "é è à ù ì ò É Ç"),
    ("ê ë â î ï ô û ç È À Ê", "e e a i i o u c E A E"),
    ("« OK 12 » – “oui” ’", '"OK 12" - "oui" \''),
    ("cœur", "coeur"), ("Ségou…", "Ségou..."), ("€ [x]", "€ [x]"), ("ߒ 中", "? ?"),
])
def test_transliteration_table(text, want):
    assert to_gsm7(text) == want and is_gsm7(want)


def test_every_sms_template_renders_in_gsm7_with_its_accents():
    ctx = {"id": 12, "disease": "Choléra", "place": "CSCom Mougna", "cases": 3, "level": "region"}
    for reason, lang in SMS:
        _, text = render("sms", reason, lang, ctx)
        assert is_gsm7(text), text
    assert "remontée au niveau région" in render("sms", "escalated", "fr", ctx)[1]
    assert "Répondez OK 12 (recu)" in render("sms", "new", "fr", ctx)[1]


def test_doctest():
    assert doctest.testmod(gsm7).failed == 0
