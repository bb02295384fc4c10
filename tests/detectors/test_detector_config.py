"""Statistical detector configuration: strict loading with stable keys; wired from settings at start-up."""
from __future__ import annotations

import pytest

from detectors.rules.catalogue import RuleError
from detectors.statistical import DetectorConfigError, detectors_from_mapping, load_detectors
from ingest.pyramid import DEFAULT_LEVELS

OK = {"id": "ili_c2_area", "disease": "ili", "level": "health_area", "algorithm": "earsC_C2"}


def test_default_config_loads(diseases):
    cfgs = load_detectors(None, diseases, DEFAULT_LEVELS)
    by_id = {c.id: c for c in cfgs}
    assert by_id["malaria_noufaily_district"].algorithm == "ff_noufaily"
    assert by_id["malaria_noufaily_district"].needed_history() == 5 * 52 + 3
    assert by_id["ili_ears_c2_area"].level == "health_area"


@pytest.mark.parametrize("item, key", [
    (OK | {"colour": "red"}, "detectors.config.invalid"),
    (OK | {"disease": "flu"}, "detectors.disease.unknown"),
    (OK | {"level": "region"}, "detectors.level.unknown"),
    (OK | {"level": "village"}, "detectors.level.unknown"),
    (OK | {"algorithm": "magic"}, "detectors.algorithm.unknown"),
    (OK | {"params": {"baseline": 1}}, "detectors.param.invalid"),        # EARS needs a baseline ≥ 3
    (OK | {"params": {"nonsense": 1}}, "detectors.param.invalid"),
    (OK | {"algorithm": "ff_noufaily", "params": {"alpha": 2}}, "detectors.config.invalid"),
    (OK | {"min_observed": 0}, "detectors.config.invalid"),
    (OK | {"reevaluate_weeks": 60}, "detectors.config.invalid"),
    ({k: v for k, v in OK.items() if k != "algorithm"}, "detectors.config.invalid"),
])
def test_bad_detector_is_rejected(diseases, item, key):
    with pytest.raises(DetectorConfigError) as exc:
        detectors_from_mapping({"version": 1, "detectors": [item]}, diseases, DEFAULT_LEVELS)
    assert exc.value.key == key and "detector #1" in str(exc.value)


def test_duplicate_id_and_bad_document(diseases):
    with pytest.raises(DetectorConfigError) as exc:
        detectors_from_mapping({"detectors": [OK, OK]}, diseases)
    assert exc.value.key == "detectors.id.duplicate"
    for doc in ([], {"detectors": {}}, {"version": 3, "detectors": []}, {"detectors": [], "x": 1}):
        with pytest.raises(DetectorConfigError) as exc:
            detectors_from_mapping(doc, diseases)
        assert exc.value.key == "detectors.format.invalid"


def test_missing_file(tmp_path, diseases):
    with pytest.raises(DetectorConfigError) as exc:
        load_detectors(tmp_path / "none.yaml", diseases)
    assert exc.value.key == "detectors.file.missing"


@pytest.mark.parametrize("field, content, error, key", [
    ("rules_path", "version: 1\nrules:\n  - {id: x_rule, kind: count, diseases: [nope], threshold: 1, "
                   "name_fr: a, name_en: b}\n", RuleError, "rules.disease.unknown"),
    ("detectors_path", "detectors:\n  - {id: d_one, disease: ili, level: district, algorithm: nope}\n",
     DetectorConfigError, "detectors.algorithm.unknown"),
])
def test_engine_refuses_to_start_with_a_bad_file(tmp_path, db_url, field, content, error, key):
    from sebac.engine import build_embedded
    from sebac.settings import Settings

    path = tmp_path / "conf.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(error) as exc:
        build_embedded(Settings(database_url=db_url, environment="test", **{field: path}))
    assert exc.value.key == key


def test_engine_uses_configured_files(tmp_path, db_url):
    from sebac.engine import build_embedded
    from sebac.settings import Settings

    rules = tmp_path / "rules.yaml"
    rules.write_text("version: 1\nrules:\n  - {id: measles_one, kind: count, diseases: [measles], threshold: 1, "
                     "levels: [health_area], name_fr: Rougeole, name_en: Measles}\n", encoding="utf-8")
    dets = tmp_path / "detectors.yaml"
    dets.write_text("version: 1\ndetectors: []\n", encoding="utf-8")
    pipeline = build_embedded(Settings(database_url=db_url, environment="test", rules_path=rules,
                                       detectors_path=dets))
    assert [r.id for r in pipeline.detection.rules] == ["measles_one"] and len(pipeline.detection.detectors) == 0
    res = pipeline.submit({"client_id": "x1", "orgunit_id": "ML-MOP-DJENNE-MOUGNA-S1", "disease": "measles",
                           "cases": 1, "onset_date": pipeline.clock.now().date().isoformat()})
    assert [a.detector for a in res.alerts] == ["count"]


def test_rules_command_lists_and_checks(tmp_path):
    from typer.testing import CliRunner

    from sebac.cli import app

    ok = CliRunner().invoke(app, ["rules", "--lang", "fr"])
    assert ok.exit_code == 0, ok.output
    assert "| meningitis_rate | rate | meningitis |" in ok.output and "Méningite" in ok.output
    assert "| malaria_noufaily_district | malaria | district | ff_noufaily |" in ok.output
    bad = tmp_path / "rules.yaml"
    bad.write_text("version: 1\nrules:\n  - {id: x_rule, kind: count, threshold: 0, diseases: [measles], "
                   "name_fr: a, name_en: b}\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["rules", "--rules", str(bad)])
    assert res.exit_code == 2 and "rules.rule.invalid" in res.output
