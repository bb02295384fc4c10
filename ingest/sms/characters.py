"""Which characters a CHW SMS may hold, before the grammar reads it. Pure; no I/O.

Phones send digits in the script of their keyboard: ASCII ``0-9``, and in Mali's Arabic-script
keyboards Arabic-Indic ``٠-٩`` (U+0660–0669) or extended Arabic-Indic ``۰-۹`` (U+06F0–06F9).
Those are decimal digits (Unicode category ``Nd``) and read as their ASCII value
(:func:`unicodedata.decimal`). Every other digit-like character — superscripts ``³``, subscripts
``₃``, fullwidth ``３``, circled ``①``, mathematical ``𝟑``, digits of other scripts, fractions,
roman numerals — is refused with ``sms.digit.lookalike`` naming the character, because the
accent folding of the grammar (NFKD) would otherwise turn ``³`` silently into ``3`` and drop the
others silently.

Letters of a script other than Latin (Arabic, N'Ko, Cyrillic...) are dropped by the folding too, so
a message written in one could only be misread: it is refused as ``sms.format.unknown``. A text
that is empty once blanks and invisible characters are removed is ``sms.empty``.

Reference: The Unicode Standard, ch. 4.6 *Numeric Value*, and UAX #15 *Normalization Forms*.
"""
from __future__ import annotations

import unicodedata

ARABIC_INDIC = (range(0x0660, 0x066A), range(0x06F0, 0x06FA))


class CharacterProblem(ValueError):
    """``key`` is a stable ``sms.*`` error key; ``params`` fill its message."""

    def __init__(self, key: str, **params: str):
        super().__init__(key)
        self.key = key
        self.params = params


def _is_arabic_indic(c: str) -> bool:
    return any(ord(c) in r for r in ARABIC_INDIC)


def _describe(c: str) -> str:
    return f"U+{ord(c):04X} {unicodedata.name(c, 'UNNAMED')}"


def is_blank(text: str) -> bool:
    """Nothing visible: white space, controls and format characters (zero-width space, BOM...)."""
    return all(c.isspace() or unicodedata.category(c) in ("Cc", "Cf") for c in text)


def normalise_sms_text(text: str) -> str:
    """``text`` with Arabic-Indic digits written in ASCII; :class:`CharacterProblem` otherwise.

    >>> normalise_sms_text("CHOL ٣ F 5+ ٠٥١١")
    'CHOL 3 F 5+ 0511'
    >>> try:
    ...     normalise_sms_text("CHOL ³")
    ... except CharacterProblem as exc:
    ...     print(exc.key, exc.params["name"])
    sms.digit.lookalike U+00B3 SUPERSCRIPT THREE
    """
    out = []
    for c in text:
        if c.isascii():
            out.append(c)
        elif _is_arabic_indic(c):
            out.append(str(unicodedata.decimal(c)))
        elif unicodedata.category(c).startswith("N"):
            raise CharacterProblem("sms.digit.lookalike", char=c, name=_describe(c))
        elif unicodedata.category(c).startswith("L") and not unicodedata.name(c, "").startswith("LATIN"):
            raise CharacterProblem("sms.format.unknown", char=c, name=_describe(c))
        else:
            out.append(c)
    return "".join(out)
