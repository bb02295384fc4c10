"""Validation of one report: every bad-input class gets its stable key."""
from __future__ import annotations

import datetime as dt

import pytest

from ingest.contracts import Channel
from ingest.errors import ValidationFailed
from ingest.validation import Limits, validate_report
from tests.conftest import NOW

GOOD = {"client_id": "c-1", "orgunit_id": "ML-MOP-DJENNE-MOUGNA-S1", "disease": "cholera", "cases": 3,
        "onset_date": "2026-11-18", "report_date": "2026-11-19"}


def check(payload, **kw):
    return validate_report(payload, channel=Channel.http, pyramid=kw.pop("pyramid"), diseases=kw.pop("diseases"),
                           now=NOW, **kw)


def test_good_report_keeps_three_times_apart(pyramid, diseases):
    r = check(GOOD, pyramid=pyramid, diseases=diseases)
    assert (r.onset_date, r.report_date, r.received_at) == (dt.date(2026, 11, 18), dt.date(2026, 11, 19), NOW)
    assert r.health_area_id == "ML-MOP-DJENNE-MOUGNA" and r.district_id == "ML-MOP-DJENNE"
    assert r.idempotency_key == "http:c-1"


def test_dhis2_uid_is_accepted_as_orgunit(pyramid, diseases):
    uid = pyramid.get("ML-MOP-DJENNE-MOUGNA").dhis2_uid
    assert check(GOOD | {"orgunit_id": uid}, pyramid=pyramid, diseases=diseases).orgunit_id == "ML-MOP-DJENNE-MOUGNA"


@pytest.mark.parametrize("change, key", [
    ({"orgunit_id": "ML-NOWHERE"}, "report.orgunit.unknown"),
    ({"orgunit_id": "ML-MOP-DJENNE"}, "report.orgunit.level"),
    ({"disease": "zombie"}, "report.disease.unknown"),
    ({"onset_date": "2026-11-21", "report_date": None}, "report.date.future"),
    ({"onset_date": "1999-12-31"}, "report.date.too_old"),
    ({"onset_date": "2026-13-01"}, "report.date.invalid"),
    ({"onset_date": "2026-11-19", "report_date": "2026-11-18"}, "report.date.onset_after_report"),
    ({"cases": -1}, "report.count.negative"),
    ({"cases": 100000}, "report.cases.absurd"),
    ({"cases": "three"}, "report.field.type"),
    ({"cases": 1, "deaths": 2}, "report.deaths.exceed_cases"),
    ({"colour": "red"}, "report.field.unknown"),
    ({"client_id": ""}, "report.field.empty"),
    ({"sex": "X"}, "report.field.choice"),
])
def test_bad_input_has_a_stable_key(pyramid, diseases, change, key):
    payload = {k: v for k, v in (GOOD | change).items() if v is not None}
    with pytest.raises(ValidationFailed) as exc:
        check(payload, pyramid=pyramid, diseases=diseases)
    assert key in [e.key for e in exc.value.errors]


def test_missing_field_and_non_object(pyramid, diseases):
    with pytest.raises(ValidationFailed) as exc:
        check({k: v for k, v in GOOD.items() if k != "cases"}, pyramid=pyramid, diseases=diseases)
    assert exc.value.errors[0].key == "report.field.missing" and exc.value.errors[0].field == "cases"
    with pytest.raises(ValidationFailed) as exc:
        check([1, 2], pyramid=pyramid, diseases=diseases)
    assert exc.value.errors[0].key == "report.format.invalid"


def test_ceiling_is_configurable(pyramid, diseases):
    with pytest.raises(ValidationFailed):
        check(GOOD | {"cases": 11}, pyramid=pyramid, diseases=diseases, limits=Limits(max_cases=10))
