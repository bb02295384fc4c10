"""Escalation policy: strict loading with cross-reference checks, rule resolution."""
from __future__ import annotations

import copy
import datetime as dt

import pytest
import yaml

from alerts.policy import DEFAULT_POLICY_PATH, load_policy, parse_duration, policy_from_mapping
from ingest.errors import DomainError

LEVELS = ("national", "region", "district", "health_area", "site")
BASE = yaml.safe_load(DEFAULT_POLICY_PATH.read_text(encoding="utf-8"))


def _with(change) -> dict:
    doc = copy.deepcopy(BASE)
    change(doc)
    return doc


@pytest.mark.parametrize("text, expected", [
    ("30m", dt.timedelta(minutes=30)), ("24h", dt.timedelta(hours=24)), ("7d", dt.timedelta(days=7)),
    ("2w", dt.timedelta(weeks=2)), (90, dt.timedelta(seconds=90)), (" 5 m", dt.timedelta(minutes=5)),
])
def test_parse_duration(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["0m", "-5m", "30", "thirty minutes", "1y", True, None])
def test_parse_duration_rejects(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_shipped_policy_loads_against_the_mali_pyramid(pyramid, diseases):
    policy = load_policy(pyramid_levels=pyramid.levels, diseases=diseases.codes())
    assert policy.path == ("health_area", "district", "region", "national")
    assert policy.next_level("health_area") == "district" and policy.next_level("national") is None


@pytest.mark.parametrize("change, problem", [
    (lambda d: d.update(colour="red"), "colour"),
    (lambda d: d["rules"][0].update(escalate_fast=True), "escalate_fast"),
    (lambda d: d["rules"][0].update(diseases=["ebola", "zika"]), "undefined disease 'zika'"),
    (lambda d: d["rules"][1].update(start_level="village"), "undefined level 'village' used in rule "
                                                            "'immediately_notifiable'.start_level"),
    (lambda d: d.update(path=["health_area", "district", "province", "national"]), "undefined level 'province'"),
    (lambda d: d.update(path=["national", "region", "district", "health_area"]), "bottom → top"),
    (lambda d: d["rules"][1]["ack_within"].update(health_area="soon"), "not a duration"),
    (lambda d: d["rules"][1]["ack_within"].update(national="30m"), "top level"),
    (lambda d: d["rules"].append(dict(d["rules"][0])), "used twice"),
    (lambda d: d["rules"].append({"name": "all", "risk": 1}), "matches everything"),
    (lambda d: d["defaults"].pop("cooldown"), "cooldown"),
    (lambda d: d["rules"][0].update(risk=5), "risk"),
    (lambda d: d.update(version=2), "version"),
])
def test_invalid_policies_fail_loudly_with_the_problem_named(pyramid, diseases, change, problem):
    with pytest.raises(DomainError) as e:
        policy_from_mapping(_with(change), pyramid_levels=pyramid.levels, diseases=diseases.codes())
    assert e.value.key == "alert.policy.invalid"
    assert problem in str(e.value)


@pytest.mark.parametrize("disease, severity, immediate, rule, start, direct, ack_from", [
    ("ebola", "alert", True, "viral_haemorrhagic_fever", "district", "national", "district"),
    ("cholera", "alert", True, "immediately_notifiable", "health_area", None, "district"),
    ("cholera", "epidemic", True, "immediately_notifiable", "health_area", None, "district"),
    ("meningitis", "epidemic", False, "epidemic_threshold", "region", None, None),
    ("malaria", "alert", False, "defaults", "district", None, None),
])
def test_first_matching_rule_wins_and_inherits_defaults(disease, severity, immediate, rule, start, direct, ack_from):
    d = policy_from_mapping(BASE, pyramid_levels=LEVELS).decide(disease, severity, immediate)
    assert (d.rule, d.start_level, d.direct_to, d.acknowledge_from) == (rule, start, direct, ack_from)
    assert d.cooldown >= dt.timedelta(days=7)
    if rule == "epidemic_threshold":
        assert d.ack_within == {"region": dt.timedelta(hours=12)}
