"""Translations of stable error keys (French and English shipped; more languages by config).

``translate(key, lang, **params)`` falls back to English, then to the key itself, so an untranslated
key is still shown (never an empty reply). Extra catalogues (e.g. Bambara ``bm``) are merged with
:func:`register`.
"""
from __future__ import annotations

from typing import Any, Mapping

CATALOGUE: dict[str, dict[str, str]] = {
    "en": {
        "report.accepted": "Report received: {cases} {disease}. Thank you.",
        "report.duplicate": "This report was already received.",
        "report.format.invalid": "The report is not in the expected format.",
        "report.json.malformed": "The report is not valid JSON.",
        "report.encoding.invalid": "The report is not valid UTF-8 text.",
        "report.body.too_large": "The report is too large.",
        "report.field.missing": "A required field is missing: {field}.",
        "report.field.unknown": "Unknown field: {field}.",
        "report.field.type": "Wrong value for {field}.",
        "report.field.empty": "{field} must not be empty.",
        "report.field.too_long": "{field} is too long.",
        "report.field.choice": "{field} has a value that is not allowed.",
        "report.count.negative": "{field} must not be negative.",
        "report.cases.absurd": "{cases} cases is more than the allowed {max}; please check.",
        "report.deaths.exceed_cases": "Deaths cannot exceed cases.",
        "report.date.invalid": "The date in {field} is not valid.",
        "report.date.future": "The date {date} is in the future.",
        "report.date.too_old": "The date {date} is before {min}.",
        "report.date.onset_after_report": "The onset date is after the report date.",
        "report.orgunit.unknown": "Unknown place: {orgunit_id}.",
        "report.orgunit.level": "{orgunit_id} is a {level}; report for a site or a health area.",
        "report.disease.unknown": "Unknown disease code: {disease}.",
    },
    "fr": {
        "report.accepted": "Rapport reçu : {cases} {disease}. Merci.",
        "report.duplicate": "Ce rapport a déjà été reçu.",
        "report.format.invalid": "Le rapport n'est pas au format attendu.",
        "report.json.malformed": "Le rapport n'est pas un JSON valide.",
        "report.encoding.invalid": "Le rapport n'est pas un texte UTF-8 valide.",
        "report.body.too_large": "Le rapport est trop volumineux.",
        "report.field.missing": "Champ obligatoire manquant : {field}.",
        "report.field.unknown": "Champ inconnu : {field}.",
        "report.field.type": "Valeur incorrecte pour {field}.",
        "report.field.empty": "{field} ne doit pas être vide.",
        "report.field.too_long": "{field} est trop long.",
        "report.field.choice": "{field} a une valeur non autorisée.",
        "report.count.negative": "{field} ne doit pas être négatif.",
        "report.cases.absurd": "{cases} cas dépasse le maximum autorisé de {max} ; veuillez vérifier.",
        "report.deaths.exceed_cases": "Le nombre de décès ne peut pas dépasser le nombre de cas.",
        "report.date.invalid": "La date dans {field} n'est pas valide.",
        "report.date.future": "La date {date} est dans le futur.",
        "report.date.too_old": "La date {date} est antérieure au {min}.",
        "report.date.onset_after_report": "La date de début est postérieure à la date du rapport.",
        "report.orgunit.unknown": "Lieu inconnu : {orgunit_id}.",
        "report.orgunit.level": "{orgunit_id} est un(e) {level} ; signalez pour un site ou une aire de santé.",
        "report.disease.unknown": "Code maladie inconnu : {disease}.",
    },
}


class _Default(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def register(lang: str, messages: Mapping[str, str]) -> None:
    CATALOGUE.setdefault(lang, {}).update(messages)


def translate(key: str, lang: str = "en", **params: Any) -> str:
    template = CATALOGUE.get(lang, {}).get(key) or CATALOGUE["en"].get(key) or key
    return template.format_map(_Default({k: v for k, v in params.items() if v is not None}))
