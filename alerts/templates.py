"""Notification texts in French and English (SMS ≤ 160 characters where possible, email, webhook).

SMS texts are sent in the GSM-7 alphabet (:mod:`ingest.sms.gsm7`) and end with the reply commands (``OK 12``, ``VRAI 12``, ``FAUX 12 raison``) so a district
focal point on 2G can act without data. Templates are plain ``str.format`` strings keyed by
``(kind, reason, lang)``; an unknown language falls back to French (Mali), then English.
"""
from __future__ import annotations

from typing import Any

from ingest.sms.gsm7 import to_gsm7

LEVEL_NAMES = {
    "fr": {"site": "site", "health_area": "CSCom", "district": "district", "region": "région",
           "national": "national"},
    "en": {"site": "site", "health_area": "CSCom", "district": "district", "region": "region",
           "national": "national"},
}

SMS = {
    ("new", "fr"): "ALERTE #{id} {disease} {place}: {cases:g} cas. Répondez OK {id} (reçu), VRAI {id} ou FAUX {id} raison",
    ("escalated", "fr"): "ALERTE #{id} remontée au niveau {level_name}: {disease} {place}, {cases:g} cas, non acquittée. OK {id} pour acquitter",
    ("repeat", "fr"): "RAPPEL ALERTE #{id} {disease} {place}: {cases:g} cas, toujours non acquittée. OK {id} pour acquitter",
    ("new", "en"): "ALERT #{id} {disease} {place}: {cases:g} case(s). Reply OK {id} (received), TRUE {id} or FALSE {id} reason",
    ("escalated", "en"): "ALERT #{id} escalated to {level_name}: {disease} {place}, {cases:g} case(s), not acknowledged. OK {id} to acknowledge",
    ("repeat", "en"): "REMINDER ALERT #{id} {disease} {place}: {cases:g} case(s), still not acknowledged. OK {id} to acknowledge",
}

SUBJECT = {
    ("new", "fr"): "[SEBAC] Alerte #{id} : {disease} à {place}",
    ("escalated", "fr"): "[SEBAC] Alerte #{id} remontée au niveau {level_name} : {disease} à {place}",
    ("repeat", "fr"): "[SEBAC] Rappel alerte #{id} : {disease} à {place}",
    ("new", "en"): "[SEBAC] Alert #{id}: {disease} in {place}",
    ("escalated", "en"): "[SEBAC] Alert #{id} escalated to {level_name}: {disease} in {place}",
    ("repeat", "en"): "[SEBAC] Reminder, alert #{id}: {disease} in {place}",
}

BODY = {
    "fr": ("Alerte #{id} ({reason_text})\n\nMaladie : {disease}\nLieu : {place} (district {district})\n"
           "Cas : {cases:g}\nDébut le plus précoce : {emergence}\nNiveau actuel : {level_name}\n"
           "Risque : {risk}/4\nStatut : {status}\n\n"
           "Acquitter : répondez OK {id} par SMS, ou POST /api/v1/alerts/{id}/acknowledge.\n"),
    "en": ("Alert #{id} ({reason_text})\n\nDisease: {disease}\nPlace: {place} (district {district})\n"
           "Cases: {cases:g}\nEarliest onset: {emergence}\nCurrent level: {level_name}\n"
           "Risk: {risk}/4\nStatus: {status}\n\n"
           "Acknowledge: reply OK {id} by SMS, or POST /api/v1/alerts/{id}/acknowledge.\n"),
}

REASON_TEXT = {
    "fr": {"new": "nouvelle alerte", "escalated": "escalade, non acquittée au niveau inférieur",
           "repeat": "rappel, toujours non acquittée"},
    "en": {"new": "new alert", "escalated": "escalated, not acknowledged below",
           "repeat": "reminder, still not acknowledged"},
}

REASONS = ("new", "escalated", "repeat")


def _lang(lang: str) -> str:
    return lang if lang in LEVEL_NAMES else "fr"


def render(channel: str, reason: str, lang: str, ctx: dict[str, Any]) -> tuple[str, str]:
    """(subject, body) for one channel; SMS and webhook have an empty subject."""
    lang = _lang(lang)
    values = dict(ctx, level_name=LEVEL_NAMES[lang].get(ctx["level"], ctx["level"]),
                  reason_text=REASON_TEXT[lang][reason])
    if channel == "sms":  # in the GSM-7 alphabet: é è à ù kept, ç → c, ê → e (ingest.sms.gsm7)
        return "", to_gsm7(SMS[(reason, lang)].format(**values))
    subject = SUBJECT[(reason, lang)].format(**values)
    return subject, BODY[lang].format(**values)
