"""What people read when an alert action or a login is refused, in their language (fr, en).

Registered into the shared catalogue (:mod:`ingest.messages`), so the API, the console and SMS
replies translate the same stable keys. Parameters that are codes (a status, a level) are shown
with their names in the reader's language (:func:`localized`).
"""
from __future__ import annotations

from typing import Any

from alerts.lifecycle import ACTIONS
from ingest.messages import register, translate

STATUS_NAMES = {
    "fr": {"open": "ouverte", "acknowledged": "acquittée", "verified": "vérifiée", "discarded": "écartée",
           "response": "en riposte", "closed": "clôturée"},
    "en": {"open": "open", "acknowledged": "acknowledged", "verified": "verified", "discarded": "discarded",
           "response": "in response", "closed": "closed"},
}
LEVEL_NAMES = {
    "fr": {"site": "site", "health_area": "aire de santé (CSCom)", "district": "district", "region": "région",
           "national": "national"},
    "en": {"site": "site", "health_area": "health area (CSCom)", "district": "district", "region": "region",
           "national": "national"},
}

MESSAGES: dict[str, dict[str, str]] = {
    "fr": {
        "alert.notFound": "Alerte #{id} inconnue.",
        "alert.action.unknown": "Action inconnue : {action}.",
        "alert.action.levelNotAllowed": "Le niveau ne se choisit que pour remonter une alerte.",
        "alert.assess.invalid": "Évaluation non valide : {detail}",
        "alert.escalate.atTop": "L'alerte #{id} est déjà au niveau national.",
        "alert.escalate.levelInvalid": "Impossible de remonter l'alerte au niveau {level}.",
        "alert.take_over.notAbove": "Alerte #{id} : seul un niveau au-dessus de « {level} » peut la reprendre.",
        "alert.policy.invalid": "La politique d'escalade n'est pas valide : {detail}",
        "auth.jurisdiction.denied": "L'alerte #{id} n'est pas dans votre zone.",
        "auth.role.forbidden": "Votre compte ne peut pas agir sur les alertes.",
        "auth.scope.forbidden": "Ce n'est pas dans votre zone.",
        "auth.token.missing": "Connectez-vous d'abord.",
        "auth.token.invalid": "Votre session a expiré ou a été fermée ; reconnectez-vous.",
        "auth.apikey.invalid": "Clé d'API inconnue ou révoquée.",
        "auth.login.failed": "Nom d'utilisateur ou mot de passe incorrect.",
        "auth.login.invalid": "Indiquez le nom d'utilisateur et le mot de passe.",
        "user.username.taken": "Ce nom d'utilisateur est déjà pris.",
        "user.notFound": "Utilisateur inconnu.",
        "user.phone.taken": "Ce numéro de téléphone appartient à un autre utilisateur.",
        "user.phone.invalid": "Ce numéro de téléphone n'est pas valide.",
        "user.role.unknown": "Rôle inconnu : {role}.",
        "user.orgunit.unknown": "Unité d'organisation inconnue.",
        "user.orgunit.levelMismatch": "Un utilisateur « {role} » appartient à un autre niveau que « {level} ».",
        "apikey.kind.unknown": "Type de clé inconnu (device ou gateway).",
        "apikey.notFound": "Clé d'API inconnue.",
        "apikey.orgunit.unknown": "Unité d'organisation inconnue pour cette clé.",
        "subscription.disease.unknown": "Maladie inconnue pour cet abonnement.",
        "subscription.orgunit.unknown": "Unité d'organisation inconnue pour cet abonnement.",
        "subscription.user.unknown": "Utilisateur inconnu pour cet abonnement.",
        "duplicate.not_found": "Cette paire de doublons possibles n'existe pas.",
        "quality.week.invalid": "Semaine non valide : indiquez par exemple 2026-W47.",
        "console.page.forbidden": "Votre compte n'a pas accès à cette page.",
        "console.form.expired": "Le formulaire a expiré ; réessayez.",
        "duplicate.decision.unknown": "Décision inconnue : confirmer ou écarter.",
        "sitrep.district.invalid": "Le bilan hebdomadaire se fait pour un district.",
    },
    "en": {
        "alert.notFound": "Unknown alert #{id}.",
        "alert.action.unknown": "Unknown action: {action}.",
        "alert.action.levelNotAllowed": "A level is only chosen to escalate an alert.",
        "alert.assess.invalid": "Assessment not valid: {detail}",
        "alert.escalate.atTop": "Alert #{id} is already at national level.",
        "alert.escalate.levelInvalid": "Cannot escalate the alert to {level}.",
        "alert.take_over.notAbove": "Alert #{id}: only a level above “{level}” can take it over.",
        "alert.policy.invalid": "The escalation policy is not valid: {detail}",
        "auth.jurisdiction.denied": "Alert #{id} is outside your area.",
        "auth.role.forbidden": "Your account cannot act on alerts.",
        "auth.scope.forbidden": "This is outside your area.",
        "auth.token.missing": "Log in first.",
        "auth.token.invalid": "Your session expired or was closed; log in again.",
        "auth.apikey.invalid": "Unknown or revoked API key.",
        "auth.login.failed": "Wrong username or password.",
        "auth.login.invalid": "Give the username and the password.",
        "user.username.taken": "This username is taken.",
        "user.notFound": "Unknown user.",
        "user.phone.taken": "This phone number belongs to another user.",
        "user.phone.invalid": "This phone number is not valid.",
        "user.role.unknown": "Unknown role: {role}.",
        "user.orgunit.unknown": "Unknown organisation unit.",
        "user.orgunit.levelMismatch": "A “{role}” user belongs to another level than “{level}”.",
        "apikey.kind.unknown": "Unknown key kind (device or gateway).",
        "apikey.notFound": "Unknown API key.",
        "apikey.orgunit.unknown": "Unknown organisation unit for this key.",
        "subscription.disease.unknown": "Unknown disease for this subscription.",
        "subscription.orgunit.unknown": "Unknown organisation unit for this subscription.",
        "subscription.user.unknown": "Unknown user for this subscription.",
        "duplicate.not_found": "This pair of possible duplicates does not exist.",
        "quality.week.invalid": "Week not valid: give e.g. 2026-W47.",
        "console.page.forbidden": "Your account has no access to this page.",
        "console.form.expired": "The form expired; please try again.",
        "duplicate.decision.unknown": "Unknown decision: confirm or dismiss.",
        "sitrep.district.invalid": "The weekly situation report is made for a district.",
    },
}
for _action in ACTIONS:
    MESSAGES["fr"][f"alert.{_action}.wrongStatus"] = "Alerte #{id} : impossible, elle est {status_now}."
    MESSAGES["en"][f"alert.{_action}.wrongStatus"] = "Alert #{id}: not possible, it is {status_now}."
    MESSAGES["fr"][f"alert.{_action}.levelTooLow"] = "Alerte #{id} : action réservée au niveau « {level} » ou au-dessus."
    MESSAGES["en"][f"alert.{_action}.levelTooLow"] = "Alert #{id}: only “{level}” level or above may do this."
    MESSAGES["fr"][f"alert.{_action}.reasonRequired"] = "Indiquez la raison."
    MESSAGES["en"][f"alert.{_action}.reasonRequired"] = "Give the reason."
for _lang, _messages in MESSAGES.items():
    register(_lang, _messages)


def localized(params: dict[str, Any], lang: str) -> dict[str, Any]:
    """Status and level codes among ``params`` as names in ``lang`` (French for Bambara)."""
    base = lang if lang in STATUS_NAMES else ("fr" if lang in ("bm", "ff") else "en")
    out = dict(params)
    if "status_now" in out:
        out["status_now"] = STATUS_NAMES[base].get(out["status_now"], out["status_now"])
    if out.get("level"):
        out["level"] = LEVEL_NAMES[base].get(out["level"], out["level"])
    return out


def message(key: str, lang: str, fallback: str, **params: Any) -> str:
    """The translated message of ``key``, or ``fallback`` when no catalogue knows the key."""
    text = translate(key, lang, **localized(params, lang))
    return fallback if text == key else text
