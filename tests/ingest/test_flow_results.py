"""RapidPro flow results → reports (pure): result names, value readings, errors with sms.* keys."""
from __future__ import annotations

import datetime as dt

import pytest

from ingest.contracts import AgeGroup, Sex
from ingest.errors import DomainError
from ingest.sms.flow_results import load_flow_fields, parse_flow_results, result_key, results_text
from ingest.sms.grammar import ParsedReport, SmsParseError, ZeroReport

TODAY = dt.date(2026, 11, 20)
FIELDS = load_flow_fields()


def read(results, diseases, window=60):
    return parse_flow_results(results, FIELDS, diseases, TODAY, date_window_days=window)


@pytest.mark.parametrize("results, expected", [
    # French result names, values as typed, categories as a split names them
    ([("maladie", "Choléra", "Cholera"), ("nb_cas", "3", "Has Number"), ("sexe", "f", "Femme"),
      ("tranche_age", "5+", "Other"), ("date_debut", "2026-11-18T00:00:00.000000+00:00", "Has Date")],
     ParsedReport("cholera", 3, dt.date(2026, 11, 18), Sex.female, AgeGroup.five_plus, format="flow")),
    # English names, a keyword, an age in years, a DDMM onset, deaths
    ([("disease", "PALU", None), ("cases", "4", None), ("sex", "Male", None), ("age_group", "3", None),
      ("onset", "1611", None), ("deaths", "1", None)],
     ParsedReport("malaria", 4, dt.date(2026, 11, 16), Sex.male, AgeGroup.under5, 1, format="flow")),
    # names as a flow author writes them ("Date début", "Nb cas"), phrases, a numeric result "2.0"
    ([("Maladie", "rougeole", None), ("Nb cas", "2.0", None), ("Sexe", "Féminin", None),
      ("Tranche âge", "moins de 5 ans", None), ("Date début", "15/11", None)],
     ParsedReport("measles", 2, dt.date(2026, 11, 15), Sex.female, AgeGroup.under5, format="flow")),
    # only disease and cases: onset is the day the flow ran, sex and age unknown; other results ignored
    ([("confirmation", "oui", "Yes"), ("maladie", "cholera", None), ("nb_cas", "٣", None)],
     ParsedReport("cholera", 3, TODAY, format="flow")),
    # a value the category names better ("2" typed, category "5 ans et plus")
    ([("maladie", "CHOL", None), ("nb_cas", "1", None), ("tranche_age", "deux", "5 ans et plus")],
     ParsedReport("cholera", 1, TODAY, age_group=AgeGroup.five_plus, format="flow")),
    ([("maladie", "CHOL", None), ("nb_cas", "0", None)], ZeroReport(TODAY, "cholera")),
])
def test_results_read_as_a_report(results, expected, diseases):
    assert read(results, diseases) == expected


@pytest.mark.parametrize("results, key, params", [
    ([("nb_cas", "3", None)], "sms.flow.field.missing", {"field": "disease"}),
    ([("maladie", "", ""), ("nb_cas", "3", None)], "sms.flow.field.missing", {"field": "disease"}),
    ([("maladie", "CHOL", None)], "sms.cases.missing", {}),
    ([("maladie", "grippe aviaire", "Other"), ("nb_cas", "3", None)], "sms.disease.unknown",
     {"disease": "grippe aviaire"}),
    ([("maladie", "CHOL", None), ("nb_cas", "trois", None)], "sms.cases.invalid", {"value": "trois"}),
    ([("maladie", "CHOL", None), ("nb_cas", "³", None)], "sms.digit.lookalike", {"char": "³"}),
    ([("maladie", "CHOL", None), ("nb_cas", "2", None), ("sexe", "X", "Other")], "sms.flow.value.invalid",
     {"field": "sexe", "value": "X"}),
    ([("maladie", "CHOL", None), ("nb_cas", "2", None), ("age", "vieux", None)], "sms.flow.value.invalid",
     {"field": "age", "value": "vieux"}),
    ([("maladie", "CHOL", None), ("nb_cas", "2", None), ("onset", "2025-12-25", None)],
     "sms.date.out_of_window", {"date": "25/12/2025", "days": 60}),
    ([("maladie", "CHOL", None), ("nb_cas", "2", None), ("onset", "2026-02-30", None)], "sms.date.invalid", {}),
    ([("maladie", "CHOL", None), ("nb_cas", "2", None), ("onset", "demain", None)], "sms.date.invalid", {}),
])
def test_results_that_are_not_a_report_name_the_problem(results, key, params, diseases):
    with pytest.raises(SmsParseError) as err:
        read(results, diseases)
    assert err.value.key == key
    assert params.items() <= err.value.params.items()


def test_result_names_are_folded_and_configurable(tmp_path, diseases):
    assert result_key("Date Début Symptômes") == "date_debut_symptomes"
    path = tmp_path / "fields.yaml"
    path.write_text("disease: [Pathologie]\ncases: [Total]\n", encoding="utf-8")
    fields = load_flow_fields(path)
    assert fields.names_a_report(["pathologie"]) and not fields.names_a_report(["maladie"])
    assert parse_flow_results([("pathologie", "CHOL", None), ("total", "5", None)], fields, diseases,
                              TODAY).cases == 5
    assert FIELDS.names_a_report(["Maladie"])


@pytest.mark.parametrize("text", [
    "disease: [maladie]\n",                                   # cases missing
    "disease: [maladie]\ncases: [nb_cas]\ncolour: [x]\n",     # unknown field
    "disease: [maladie]\ncases: [maladie]\n",                 # one name for two fields
    "disease: ['---']\ncases: [nb_cas]\n",                    # a name without letters
    "disease: [maladie\n",                                    # not YAML
])
def test_bad_field_files_are_refused_with_a_key(tmp_path, text):
    path = tmp_path / "fields.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DomainError) as err:
        load_flow_fields(path)
    assert err.value.key == "sms.flow_fields.invalid"
    with pytest.raises(DomainError):
        load_flow_fields(tmp_path / "absent.yaml")


def test_results_text():
    assert results_text([("maladie", "Choléra", "Cholera"), ("nb_cas", "", "3")]) == "maladie=Choléra; nb_cas=3"
