"""RapidPro / TextIt over real HTTP: the flow editor's default Call webhook body (results, no text) and
the full body, replies, dedup keys, and the flow editor's simulator."""
from __future__ import annotations

import pytest

from tests.api.sms_helpers import (PHONE, RAPIDPRO, cheap_hashing, http, pipeline_of, secrets_env,  # noqa: F401
                                   stored)

pytestmark = pytest.mark.integration
AUTH = {"Authorization": f"Token {RAPIDPRO}"}
CONTACT = {"uuid": "5d76d86b-3bb9-4d5a-b822-c9d86f5d8e4f", "name": "Awa Traoré", "urn": f"tel:{PHONE}"}
FLOW = {"uuid": "9de3663f-c5c5-4c92-9f45-ecbc09abcc85", "name": "Signalement ASC"}


def default_body(**results):
    """What a new Call webhook action posts: contact, flow and results {key: {value, category}}."""
    return {"contact": CONTACT, "flow": FLOW,
            "results": {k: {"value": v, "category": c} for k, (v, c) in results.items()}}


def test_default_body_with_french_result_names_is_a_report(http, live_app):
    body = default_body(maladie=("Choléra", "Cholera"), nb_cas=("3", "Has Number"), sexe=("f", "Femme"),
                        tranche_age=("5 ans et plus", "Other"),
                        date_debut=("2026-11-18T00:00:00.000000+00:00", "Has Date"))
    r = http.post("/api/v1/sms/rapidpro", json=body, headers=AUTH)
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["reply"]) == ("accepted", "Rapport reçu : 3 Choléra. Merci.")
    assert len(r.json()["alert_ids"]) == 1  # cholera: one case is an alert
    (report,), _, _ = stored(live_app)
    assert (report.disease, report.cases, report.sex.value, report.age_group.value, str(report.onset_date),
            report.reporter) == ("cholera", 3, "F", "5+", "2026-11-18", "ASC-0001")
    assert report.idempotency_key.startswith("sms:rapidpro:h")
    assert report.text == "maladie=Choléra; nb_cas=3; sexe=f; tranche_age=5 ans et plus; " \
                          "date_debut=2026-11-18T00:00:00.000000+00:00"
    again = http.post("/api/v1/sms/rapidpro", json=body, headers=AUTH)  # mailroom retries the call
    assert again.json()["status"] == "duplicate" and again.json()["report_id"] == report.report_id
    assert len(stored(live_app)[0]) == 1


def test_default_body_with_english_names_and_a_bad_value_is_kept_and_answered(http, live_app):
    r = http.post("/api/v1/sms/rapidpro", headers=AUTH,
                  json=default_body(disease=("PALU", "Malaria"), cases=("four", "Other")))
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    assert r.json()["reply"] == "Nombre de cas non compris : four."
    _, (kept,), _ = stored(live_app)
    assert kept.errors[0]["key"] == "sms.cases.invalid"
    # fixed in the flow and re-processed: the kept envelope still holds the results
    ok = http.post("/api/v1/sms/rapidpro", headers=AUTH, json=default_body(disease=("PALU", "Malaria"),
                                                                           cases=("4", "Has Number")))
    assert ok.json()["status"] == "accepted" and ok.json()["reply"] == "Rapport reçu : 4 Paludisme. Merci."


def test_default_body_zero_cases_is_a_zero_report(http, live_app):
    r = http.post("/api/v1/sms/rapidpro", headers=AUTH, json=default_body(maladie=("CHOL", None), nb_cas=("0", None)))
    assert r.json()["status"] == "zero"
    reports, rejected, zeros = stored(live_app)
    assert (len(reports), len(rejected), zeros) == (0, 0, 1)


def test_full_body_key_is_input_uuid_else_run_and_node(http, live_app):
    body = {"contact": CONTACT, "flow": FLOW, "results": {},
            "path": [{"uuid": "s1", "node_uuid": "n-webhook", "arrived_on": "2026-11-20T08:59:00Z"}],
            "run": {"uuid": "b5b3ab21-0bbf-4bd5-9f4b-d3a9c7b0a8e5", "created_on": "2026-11-20T08:59:00Z"},
            "input": {"type": "msg", "text": "PALU 2", "urn": f"tel:{PHONE}", "created_on": "2026-11-20T08:58:00Z"}}
    assert http.post("/api/v1/sms/rapidpro", json=body, headers=AUTH).json()["status"] == "accepted"
    assert http.post("/api/v1/sms/rapidpro", json=body, headers=AUTH).json()["status"] == "duplicate"
    (report,), _, _ = stored(live_app)
    assert report.idempotency_key == "sms:rapidpro:rb5b3ab21-0bbf-4bd5-9f4b-d3a9c7b0a8e5:n-webhook"


SIMULATOR = AUTH | {"X-Mailroom-Mode": "simulation"}


def _counts(live_app):
    pipeline = pipeline_of(live_app)
    reports, rejected, zeros = stored(live_app)
    with pipeline.db.connect() as conn:
        return len(reports), len(rejected), zeros, pipeline.alerts.count(conn)


@pytest.mark.parametrize("body, reply", [
    (default_body(maladie=("Choléra", "Cholera"), nb_cas=("3", "Has Number")), "Rapport reçu : 3 Choléra. Merci."),
    ({"contact": CONTACT, "input": {"uuid": "sim-1", "text": "CHOL 3 F 5+ 1811", "urn": f"tel:{PHONE}"}},
     "Rapport reçu : 3 Choléra. Merci."),
    ({"contact": CONTACT, "input": {"uuid": "sim-2", "text": "CHOL 2 F 5+ 0211", "urn": f"tel:{PHONE}"}},
     "Rapport reçu : 2 Choléra (début 02/11, en retard). Merci."),
    ({"contact": CONTACT, "input": {"uuid": "sim-3", "text": "bonjour", "urn": f"tel:{PHONE}"}},
     "Maladie inconnue BONJOUR. Envoyez par ex. CHOL 3 F 5+ 0511."),
    ({"contact": CONTACT, "input": {"uuid": "sim-4", "text": "RAS", "urn": f"tel:{PHONE}"}},
     "Rapport zéro reçu pour la semaine 2026-W47. Merci."),
    ({"contact": {**CONTACT, "urn": "tel:+22399000000"}, "input": {"uuid": "sim-5", "text": "CHOL 1"}},
     "Votre numéro n'est pas enregistré. Message conservé ; contactez votre CSCom."),
])
def test_simulator_gets_the_would_be_reply_and_nothing_is_stored(http, live_app, body, reply):
    r = http.post("/api/v1/sms/rapidpro", json=body, headers=SIMULATOR)
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["reply"]) == ("simulated", reply)
    assert "report_id" not in r.json() and "alert_ids" not in r.json()
    assert _counts(live_app) == (0, 0, 0, 0)  # no report, no rejected item, no zero report, no alert
    # the same message for real afterwards is new (the simulation left no key behind)
    real = http.post("/api/v1/sms/rapidpro", json=body, headers=AUTH).json()["status"]
    assert real in ("accepted", "rejected", "zero", "unregistered")


def test_simulated_command_is_not_carried_out_and_bad_bodies_are_not_kept(http, live_app):
    from tests.api.alerts_helpers import make_user

    pipeline = pipeline_of(live_app)
    alert_id = pipeline.submit({"client_id": "c1", "orgunit_id": "ML-MOP-DJENNE-MOUGNA-S1", "disease": "cholera",
                                "cases": 1, "onset_date": "2026-11-19", "report_date": "2026-11-20"}).alerts[0].alert_id
    make_user(live_app, "epi.djenne", "district", "ML-MOP-DJENNE", phone="+22370009999")
    with pipeline.db.connect() as conn:
        before = (pipeline.alerts.get(conn, alert_id), len(pipeline.alerts.events(conn, alert_id)))
    body = {"contact": {"urn": "tel:+22370009999"}, "input": {"uuid": "sim-ok", "text": f"OK {alert_id}"}}
    r = http.post("/api/v1/sms/rapidpro", json=body, headers=SIMULATOR).json()
    assert (r["status"], r["reply"]) == ("simulated", "Simulation : la commande OK n'est pas exécutée.")
    with pipeline.db.connect() as conn:
        assert (pipeline.alerts.get(conn, alert_id), len(pipeline.alerts.events(conn, alert_id))) == before
    for bad in ({"contact": {"urn": "telegram:1"}, "input": {"text": "CHOL 1"}}, {"contact": CONTACT}):
        r = http.post("/api/v1/sms/rapidpro", json=bad, headers=SIMULATOR)
        assert r.status_code == 400 and r.json()["error"]["key"] == "sms.payload.invalid"
    assert _counts(live_app) == (1, 0, 0, 1)  # only the report and alert made above
