"""``sebac serve --demo`` set-up: the database it may wipe, its settings, its people and what it prints."""
from __future__ import annotations

import datetime as dt

import pytest

from ingest.chw import demo_chws
from sebac.demo import load_demo_history
from sebac.demo_people import DEMO_PEOPLE, create_demo_users
from sebac.demo_setup import DEMO_POLICY, NotADemoDatabase, banner, database_state, demo_overrides, reset_for_demo
from sebac.engine import build_embedded
from sebac.settings import Settings

NOW = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.timezone.utc)


def test_the_demo_wipes_only_an_empty_or_an_earlier_demo_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'sebac.db'}"
    assert reset_for_demo(url) == "empty"
    p = build_embedded(Settings(database_url=url))
    assert database_state(url) == "empty"      # migrated, nothing in it
    load_demo_history(p, NOW)
    create_demo_users(p, seed=1)
    p.db.dispose()
    assert reset_for_demo(url) == "demo" and database_state(url) == "empty"
    p = build_embedded(Settings(database_url=url))
    create_demo_users(p, seed=1)                # somebody's users, no demo history: not the demo's to wipe
    p.db.dispose()
    with pytest.raises(NotADemoDatabase) as e:
        reset_for_demo(url)
    assert "SEBAC_DATABASE_URL" in str(e.value) and database_state(url) == "data"


def test_demo_settings_shorten_deadlines_and_enable_every_gateway_unless_set():
    o = demo_overrides(Settings())
    assert o["escalation_policy_path"] == DEMO_POLICY
    assert {k for k in o if k.endswith("_secret")} == {"sms_telerivet_secret", "sms_rapidpro_secret",
                                                       "sms_generic_secret"}
    assert len({o[k] for k in o if k.endswith("_secret")}) == 3 and all(len(o[k]) >= 12 for k in o if "secret" in k)
    mine = demo_overrides(Settings(sms_telerivet_secret="operator-secret-1", escalation_policy_path=DEMO_POLICY))
    assert "sms_telerivet_secret" not in mine and "escalation_policy_path" not in mine


def test_demo_policy_deadlines_are_minutes_not_milliseconds():
    from alerts.policy import load_policy

    policy = load_policy(DEMO_POLICY)
    for disease, severity, immediate in (("cholera", "alert", True), ("malaria", "alert", False),
                                         ("ebola", "alert", True), ("meningitis", "epidemic", False)):
        for within in policy.decide(disease, severity, immediate).ack_within.values():
            assert dt.timedelta(minutes=2) <= within <= dt.timedelta(minutes=10)


def test_demo_people_phones_are_not_chw_phones(pyramid):
    chw_phones = {c.phone for c in demo_chws(pyramid)}
    people = {p[3] for p in DEMO_PEOPLE if p[3]}
    assert people and not (people & chw_phones)


def test_banner_names_the_console_the_people_and_the_gateway_secrets():
    class U:
        role, username, password, orgunit_id, phone = "district", "epi.djenne", "demo-123", "ML-MOP-DJENNE", None

    lines = banner("http://127.0.0.1:8000", [U()], {"sms_telerivet_secret": "s3cret-abcdef"})
    text = "\n".join(lines)
    assert "console http://127.0.0.1:8000/" in text and "epi.djenne" in text and "demo-123" in text
    assert "POST http://127.0.0.1:8000/api/v1/sms/telerivet  secret s3cret-abcdef" in text
