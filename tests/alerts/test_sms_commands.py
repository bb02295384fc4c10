"""SMS acknowledgement: the pure parser (table-driven) and the handler on a timeline."""
from __future__ import annotations

import pytest

from alerts.contracts import AlertStatus
from alerts.sms_commands import SmsCommand, SmsCommandHandler, parse_command
from ingest.errors import DomainError
from tests.alerts.scenario import Scenario


@pytest.mark.parametrize("text, expected", [
    ("OK 1234", SmsCommand("acknowledge", 1234)),
    ("ok #12", SmsCommand("acknowledge", 12)),
    ("  Ack   7 ", SmsCommand("acknowledge", 7)),
    ("VRAI 1234", SmsCommand("verify", 1234)),
    ("vrai 3 cas confirmés", SmsCommand("verify", 3, "cas confirmés")),
    ("TRUE 9", SmsCommand("verify", 9)),
    ("FAUX 1234 rumeur non confirmée", SmsCommand("discard", 1234, "rumeur non confirmée")),
    ("FALSE 5 duplicate", SmsCommand("discard", 5, "duplicate")),
    ("faux 5", SmsCommand("discard", 5)),
    ("ESC 5 besoin d'appui", SmsCommand("escalate", 5, "besoin d'appui")),
    ("CHOL 3 0512", None),
    ("", None),
    ("1#2#3", None),
])
def test_parse_command(text, expected):
    assert parse_command(text) == expected


@pytest.mark.parametrize("text", ["OK", "OK abc", "VRAI 12a", "FAUX #"])
def test_parse_command_syntax_errors(text):
    with pytest.raises(DomainError) as e:
        parse_command(text)
    assert e.value.key == "alert.sms.syntax"


@pytest.fixture
def s(db, pyramid, diseases) -> Scenario:
    return Scenario(db, pyramid, diseases)


def test_district_acknowledges_by_sms_and_escalation_stops(s):
    s.user("epi.djenne", "district", "ML-MOP-DJENNE", phone="+223 70 00 00 02")
    handler = SmsCommandHandler(s.db, s.service)
    a = s.at(0).signal("cholera")
    s.at(31).tick()
    reply = handler(f"OK {a.alert_id}", "+22370000002", s.at(35).now)
    assert reply == f"Alerte #{a.alert_id} acquittée. Merci."
    s.at(300); assert s.tick() == 0
    final = s.alert(a.alert_id)
    assert final.status == AlertStatus.acknowledged and final.level == "district"
    assert final.acknowledged_by == "user:epi.djenne"
    again = handler(f"OK {a.alert_id}", "+22370000002", s.now)
    assert again == f"Alerte #{a.alert_id} : impossible, elle est acquittée."


def test_sms_verify_discard_and_refusals(s):
    s.user("epi.djenne", "district", "ML-MOP-DJENNE", phone="+22370000002")
    s.user("epi.kadiolo", "district", "ML-SIK-KADIOLO", phone="+22370000003")
    handler = SmsCommandHandler(s.db, s.service)
    a = s.at(0).signal("cholera")
    b = s.signal("cholera", area="ML-MOP-DJENNE-SOFARA")
    assert handler(f"OK {a.alert_id}", "+22370000003", s.now) == f"L'alerte #{a.alert_id} n'est pas dans votre zone."
    assert s.alert(a.alert_id).status == AlertStatus.open
    assert handler(f"OK {a.alert_id}", "+22379999999", s.now).startswith("Ce numéro n'est pas enregistré")
    assert handler(f"FAUX {b.alert_id}", "+22370000002", s.now) == f"Indiquez la raison : FAUX {b.alert_id} raison."
    assert handler(f"FAUX {b.alert_id} rumeur", "+22370000002", s.now).endswith("écartée (fausse) : rumeur.")
    assert s.alert(b.alert_id).status == AlertStatus.discarded and s.alert(b.alert_id).discard_reason == "rumeur"
    assert handler(f"VRAI {a.alert_id}", "+22370000002", s.now).startswith(f"Alerte #{a.alert_id} vérifiée")
    assert handler("VRAI 999", "+22370000002", s.now) == "Alerte #999 inconnue."
    assert handler("PALU 3", "+22370000002", s.now) is None


def test_handler_is_plugged_into_the_sms_webhook_hook(s):
    from alerts.sms_commands import install
    from ingest.sms.commands import dispatch_command, unregister_command_handler

    s.user("epi.djenne", "district", "ML-MOP-DJENNE", phone="+22370000002")
    a = s.at(0).signal("cholera")
    handler = install(s.db, s.service)
    try:
        assert dispatch_command(f"ok {a.alert_id}", "+22370000002", s.now).startswith(f"Alerte #{a.alert_id} acquittée")
    finally:
        unregister_command_handler(handler)
