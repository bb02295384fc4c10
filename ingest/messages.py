"""Translations of stable error keys (French and English shipped; more languages by config).

``translate(key, lang, **params)`` falls back to :data:`FALLBACKS` (Bambara → French), then to
English, then to the key itself, so an untranslated
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
        "report.accepted.late": "Report received: {cases} {disease} (onset {onset}, late). Thank you.",
        "report.zero.accepted": "Zero report received for week {week}. Thank you.",
        "report.batch.too_large": "Too many items in one batch: {items} (maximum {max}).",
        "report.batch.empty": "The batch is empty.",
        "sms.empty": "Empty message. Send e.g. CHOL 3 F 5+ 0511.",
        "sms.too_long": "Message too long (maximum {max} characters).",
        "sms.disease.unknown": "Unknown disease {disease}. Send e.g. CHOL 3 F 5+ 0511.",
        "sms.cases.missing": "Number of cases missing. Send e.g. CHOL 3 F 5+ 0511.",
        "sms.cases.invalid": "Number of cases not understood: {value}.",
        "sms.deaths.invalid": "Number of deaths not understood: {value}.",
        "sms.date.invalid": "Date not understood: {date}. Use DDMM, e.g. 0511.",
        "sms.date.out_of_window": "The date {date} is not within the last {days} days. Please resend the "
                                  "report with the onset date as DDMM, e.g. 0511.",
        "sms.digit.lookalike": "{char} ({name}) is not a digit we can read. Type numbers with the digits 0-9.",
        "sms.format.unknown": "Message format not recognised. Send e.g. CHOL 3 F 5+ 0511.",
        "sms.encoding.invalid": "The gateway sent text that is not valid UTF-8 (field {field}).",
        "sms.token.unknown": "Not understood: {token}. Send e.g. CHOL 3 F 5+ 0511.",
        "sms.token.repeated": "Given twice: {token}.",
        "sms.nyss.invalid": "Code not understood. Send risk#sex#age, e.g. 1#2#2.",
        "sms.reporter.unknown": "Your number is not registered. Your message was kept; contact your CSCom.",
        "sms.command.unavailable": "This command is not available.",
        "sms.secret.invalid": "Invalid gateway secret.",
        "sms.gateway.disabled": "This SMS gateway is not configured.",
        "sms.payload.invalid": "The gateway payload is not valid: {detail}.",
        "sms.flow.field.missing": "The flow did not collect the {field} (a result named {names}).",
        "sms.flow.value.invalid": "{field}: {value} not understood.",
        "sms.flow_fields.invalid": "The RapidPro result names are not valid: {name}.",
        "sms.command.simulated": "Simulation: the command {command} is not carried out.",
        "dhis2.payload.invalid": "The DHIS2 payload is not valid: {detail}.",
        "dhis2.program.unmapped": "Program {program} (stage {programStage}) is not mapped.",
        "dhis2.dataelement.missing": "Data element {dataElement} ({field}) is missing.",
        "dhis2.event.uid_missing": "The event has no UID.",
        "dhis2.event.uid_invalid": "The event UID is not valid (letters, digits, - and _, at most 64).",
        "dhis2.orgunit.unknown": "Unknown organisation unit: {orgUnit}.",
        "dhis2.event.exists": "Event {uid} already exists (importStrategy CREATE).",
        "dhis2.event.not_found": "Event {uid} does not exist.",
        "dhis2.event.deleted": "Event {uid} was deleted and cannot be modified.",
        "dhis2.job.not_found": "No tracker import job {job_id}.",
        "dhis2.job.running": "Import report for job {job_id} is not available yet.",
        "dhis2.param.invalid": "Parameter {name} must be one of {allowed}.",
        "report.not_found": "Report {report_id} not found.",
        "report.revision.state": "A {state} report cannot be {change}.",
        "report.revision.conflict": "Report {report_id} was changed at the same time; try again.",
        "duplicate.decided": "This pair was already decided ({decision}).",
        "auth.basic.invalid": "Wrong username or password.",
        "csv.row.invalid": "Row {row} is not valid: {detail}.",
        "csv.header.invalid": "The CSV header is not valid: {detail}.",
        "rejected.not_found": "Rejected item {rejected_id} not found.",
        "rejected.already_reprocessed": "Rejected item {rejected_id} was already reprocessed.",
        "rejected.not_reprocessable": "This item is not readable (not JSON); it cannot be re-processed.",
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
        "report.accepted.late": "Rapport reçu : {cases} {disease} (début {onset}, en retard). Merci.",
        "report.zero.accepted": "Rapport zéro reçu pour la semaine {week}. Merci.",
        "report.batch.too_large": "Trop d'éléments dans un lot : {items} (maximum {max}).",
        "report.batch.empty": "Le lot est vide.",
        "sms.empty": "Message vide. Envoyez par ex. CHOL 3 F 5+ 0511.",
        "sms.too_long": "Message trop long (maximum {max} caractères).",
        "sms.disease.unknown": "Maladie inconnue {disease}. Envoyez par ex. CHOL 3 F 5+ 0511.",
        "sms.cases.missing": "Nombre de cas manquant. Envoyez par ex. CHOL 3 F 5+ 0511.",
        "sms.cases.invalid": "Nombre de cas non compris : {value}.",
        "sms.deaths.invalid": "Nombre de décès non compris : {value}.",
        "sms.date.invalid": "Date non comprise : {date}. Utilisez JJMM, par ex. 0511.",
        "sms.date.out_of_window": "La date {date} n'est pas dans les {days} derniers jours. Renvoyez le "
                                  "rapport avec la date de début en JJMM, par ex. 0511.",
        "sms.digit.lookalike": "{char} ({name}) n'est pas un chiffre lisible. Écrivez les nombres avec 0-9.",
        "sms.format.unknown": "Format du message non reconnu. Envoyez par ex. CHOL 3 F 5+ 0511.",
        "sms.encoding.invalid": "La passerelle a envoyé un texte qui n'est pas de l'UTF-8 valide (champ {field}).",
        "sms.token.unknown": "Non compris : {token}. Envoyez par ex. CHOL 3 F 5+ 0511.",
        "sms.token.repeated": "Donné deux fois : {token}.",
        "sms.nyss.invalid": "Code non compris. Envoyez risque#sexe#âge, par ex. 1#2#2.",
        "sms.reporter.unknown": "Votre numéro n'est pas enregistré. Message conservé ; contactez votre CSCom.",
        "sms.command.unavailable": "Cette commande n'est pas disponible.",
        "sms.secret.invalid": "Secret de passerelle invalide.",
        "sms.gateway.disabled": "Cette passerelle SMS n'est pas configurée.",
        "sms.payload.invalid": "Le contenu envoyé par la passerelle n'est pas valide : {detail}.",
        "sms.flow.field.missing": "Le flux n'a pas recueilli : {field} (un résultat nommé {names}).",
        "sms.flow.value.invalid": "{field} : {value} non compris.",
        "sms.flow_fields.invalid": "Les noms de résultats RapidPro ne sont pas valides : {name}.",
        "sms.command.simulated": "Simulation : la commande {command} n'est pas exécutée.",
        "dhis2.payload.invalid": "Le contenu DHIS2 n'est pas valide : {detail}.",
        "dhis2.program.unmapped": "Le programme {program} (étape {programStage}) n'est pas configuré.",
        "dhis2.dataelement.missing": "L'élément de donnée {dataElement} ({field}) manque.",
        "dhis2.event.uid_missing": "L'événement n'a pas d'UID.",
        "dhis2.event.uid_invalid": "L'UID de l'événement n'est pas valide (lettres, chiffres, - et _, 64 au plus).",
        "dhis2.orgunit.unknown": "Unité d'organisation inconnue : {orgUnit}.",
        "dhis2.event.exists": "L'événement {uid} existe déjà (importStrategy CREATE).",
        "dhis2.event.not_found": "L'événement {uid} n'existe pas.",
        "dhis2.event.deleted": "L'événement {uid} a été supprimé et ne peut plus être modifié.",
        "dhis2.job.not_found": "Aucune tâche d'import tracker {job_id}.",
        "dhis2.job.running": "Le rapport de la tâche d'import {job_id} n'est pas encore disponible.",
        "dhis2.param.invalid": "Le paramètre {name} doit valoir l'une de ces valeurs : {allowed}.",
        "report.not_found": "Signalement {report_id} introuvable.",
        "report.revision.state": "Un signalement à l'état {state} ne peut pas être modifié ainsi ({change}).",
        "report.revision.conflict": "Le signalement {report_id} a été modifié en même temps ; réessayez.",
        "duplicate.decided": "Cette paire a déjà été tranchée ({decision}).",
        "auth.basic.invalid": "Nom d'utilisateur ou mot de passe incorrect.",
        "csv.row.invalid": "La ligne {row} n'est pas valide : {detail}.",
        "csv.header.invalid": "L'en-tête CSV n'est pas valide : {detail}.",
        "rejected.not_found": "Élément rejeté {rejected_id} introuvable.",
        "rejected.already_reprocessed": "L'élément rejeté {rejected_id} a déjà été retraité.",
        "rejected.not_reprocessable": "Cet élément n'est pas lisible (pas du JSON) ; il ne peut pas être retraité.",
    },
}


class _Default(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def register(lang: str, messages: Mapping[str, str]) -> None:
    CATALOGUE.setdefault(lang, {}).update(messages)


# Languages whose speakers read the fallback better than English (Bambara, Fulfulde → French).
FALLBACKS: dict[str, str] = {"bm": "fr", "ff": "fr"}


def translate(key: str, lang: str = "en", **params: Any) -> str:
    template = (CATALOGUE.get(lang, {}).get(key) or CATALOGUE.get(FALLBACKS.get(lang, "en"), {}).get(key)
                or CATALOGUE["en"].get(key) or key)
    return template.format_map(_Default({k: v for k, v in params.items() if v is not None}))


def translate_detail(detail: Any, lang: str = "en") -> str:
    """The message of an :class:`~ingest.errors.ErrorDetail`: its ``field`` fills ``{field}`` unless
    the parameters name one themselves (``dhis2.dataelement.missing`` says which report field)."""
    return translate(detail.key, lang, **({"field": detail.field} | dict(detail.params)))


def load_translations(path: str) -> list[str]:
    """Merge a YAML file ``{lang: {key: template}}`` (e.g. Bambara ``bm``) into the catalogue.

    Returns the languages loaded. Unknown keys are accepted (a newer catalogue may be ahead of the
    code); a template must be a string.
    """
    import yaml

    with open(path, encoding="utf-8") as fh:
        doc = yaml.safe_load(fh) or {}
    if not isinstance(doc, dict) or not all(isinstance(v, dict) for v in doc.values()):
        raise ValueError(f"{path}: expected a mapping {{lang: {{key: template}}}}")
    for lang, messages in doc.items():
        bad = [k for k, v in messages.items() if not isinstance(v, str)]
        if bad:
            raise ValueError(f"{path}: {lang}: templates must be strings: {bad}")
        register(str(lang), messages)
    return [str(lang) for lang in doc]
