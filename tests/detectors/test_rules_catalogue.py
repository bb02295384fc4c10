"""Loading the rule catalogue strictly: the shipped IDSR set loads; every mistake is a stable key."""
from __future__ import annotations

import pytest

from detectors.rules.catalogue import KINDS, RuleError, default_rules_path, load_rules, rules_from_mapping
from ingest.pyramid import DEFAULT_LEVELS

NAMES = {"name_fr": "règle", "name_en": "rule"}
COUNT = {"id": "measles_x", "kind": "count", "diseases": ["measles"], "levels": ["district"], "threshold": 5,
         **NAMES}


def load(*rules, **doc):
    return rules_from_mapping({"version": 1, "rules": list(rules), **doc}, DISEASES, DEFAULT_LEVELS)


@pytest.fixture(autouse=True)
def _diseases(diseases):
    global DISEASES
    DISEASES = diseases


def test_idsr_catalogue_loads_with_every_kind(diseases):
    cat = load_rules(None, diseases, DEFAULT_LEVELS)
    assert {r.kind for r in cat} == set(KINDS)
    assert all(r.name_fr and r.name_en for r in cat)
    immediate = cat.by_id["immediate"]
    assert set(immediate.diseases) == {d.code for d in diseases if d.immediate}
    assert [r.id for r in cat.for_disease("meningitis")] == ["meningitis_rate"]
    levels = {lv for r in cat for lv in r.levels}
    assert {"health_area", "district"} <= levels


@pytest.mark.parametrize("rule, key, fragment", [
    (COUNT | {"colour": "red"}, "rules.rule.invalid", "colour"),                       # unknown key
    (COUNT | {"kind": "magic"}, "rules.rule.invalid", "magic"),                        # unknown kind
    ({k: v for k, v in COUNT.items() if k != "threshold"}, "rules.rule.invalid", "threshold"),
    (COUNT | {"threshold": 0}, "rules.rule.invalid", "threshold"),
    (COUNT | {"period": "fortnight"}, "rules.rule.invalid", "period"),
    (COUNT | {"diseases": ["measels"]}, "rules.disease.unknown", "measels"),
    (COUNT | {"levels": ["village"]}, "rules.level.unknown", "village"),
    (COUNT | {"id": "Bad Id"}, "rules.rule.invalid", "id"),
    ({"id": "cluster_x", "kind": "cluster", "diseases": ["unexplained_death"], "min_reports": 3, "days": 0, "km": 10,
      **NAMES}, "rules.rule.invalid", "days"),                                          # bad window
    ({"id": "cluster_x", "kind": "cluster", "diseases": ["unexplained_death"], "min_reports": 3, "days": 7, "km": 10,
      "levels": ["district", "health_area"], **NAMES}, "rules.rule.invalid", "levels"),
    ({"id": "rate_x", "kind": "rate", "diseases": ["meningitis"], "alert_per_100k": 10, "epidemic_per_100k": 3,
      **NAMES}, "rules.rule.invalid", "epidemic_per_100k"),
    ({"id": "trend_x", "kind": "trend", "diseases": ["ili"], "consecutive": 0, **NAMES}, "rules.rule.invalid",
     "consecutive"),
    ({"id": "ratio_x", "kind": "ratio", "diseases": ["malaria"], "factor": 1.0, **NAMES}, "rules.rule.invalid",
     "factor"),
])
def test_bad_rule_is_rejected_with_stable_key(rule, key, fragment):
    with pytest.raises(RuleError) as exc:
        load(rule)
    assert exc.value.key == key and fragment in str(exc.value)
    assert "rule #1" in str(exc.value)


def test_duplicate_id():
    with pytest.raises(RuleError) as exc:
        load(COUNT, COUNT)
    assert exc.value.key == "rules.id.duplicate"


@pytest.mark.parametrize("doc", [[], {"rules": {}}, {"version": 2, "rules": []}, {"rules": [], "extra": 1}])
def test_bad_document(doc, diseases):
    with pytest.raises(RuleError) as exc:
        rules_from_mapping(doc, diseases)
    assert exc.value.key == "rules.format.invalid"


def test_missing_and_unparsable_files(tmp_path, diseases):
    with pytest.raises(RuleError) as exc:
        load_rules(tmp_path / "nope.yaml", diseases)
    assert exc.value.key == "rules.file.missing"
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules: [unclosed", encoding="utf-8")
    with pytest.raises(RuleError) as exc:
        load_rules(bad, diseases)
    assert exc.value.key == "rules.format.invalid"


def test_custom_file_round_trip(tmp_path, diseases):
    p = tmp_path / "rules.yaml"
    p.write_text(default_rules_path().read_text(encoding="utf-8").replace("threshold: 5", "threshold: 3"),
                 encoding="utf-8")
    assert load_rules(p, diseases).by_id["measles_district_month"].threshold == 3
