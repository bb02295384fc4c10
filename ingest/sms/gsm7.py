"""SMS text in the GSM 7-bit default alphabet (3GPP TS 23.038 §6.2.1), so a message is not sent as
UCS-2 (70 characters per part instead of 160) because of one accent.

The alphabet has é è ù ì ò à É Ç Ä Ö Ñ Ü ä ö ñ ü (kept as they are); every other character is
transliterated the same way everywhere: accents it lacks are dropped (ê → e, ç → c, È → E), typographic
quotes and dashes become their ASCII forms, ligatures are spelt out (œ → oe), and what has no Latin
form becomes ``?``.

>>> to_gsm7("Alerte remontée au niveau région : Choléra, 3 cas. Répondez « OK 12 » – reçu")
'Alerte remontée au niveau région : Choléra, 3 cas. Répondez "OK 12" - recu'
"""
from __future__ import annotations

import re
import unicodedata

BASIC = ("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿"
         "abcdefghijklmnopqrstuvwxyzäöñüà")
EXTENSION = "^{}\\[~]|€\f"
ALPHABET = frozenset(BASIC + EXTENSION)
SPELT = {"«": '"', "»": '"', "“": '"', "”": '"', "„": '"', "‘": "'", "’": "'", "‚": "'", "–": "-", "—": "-",
         "…": "...", "œ": "oe", "Œ": "OE", "\u00a0": " ", "\u202f": " ", "\t": " ", "°": "o"}


_GUILLEMETS = re.compile(r"«[\s\u00a0\u202f]*|[\s\u00a0\u202f]*»")


def to_gsm7(text: str) -> str:
    text = _GUILLEMETS.sub('"', text)  # French « quotes » with their spaces → "quotes"
    out = []
    for ch in text:
        if ch in ALPHABET:
            out.append(ch)
        elif ch in SPELT:
            out.append(SPELT[ch])
        else:
            base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
            out.append(base if base and all(c in ALPHABET for c in base) else "?")
    return "".join(out)


def is_gsm7(text: str) -> bool:
    return all(ch in ALPHABET for ch in text)
