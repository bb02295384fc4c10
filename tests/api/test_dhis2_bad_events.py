"""DHIS2 tracker events that cannot become reports: a 4xx import report, never a 5xx; kept once.

Regression tests for events without ``occurredAt`` (and no onset data element) or without the
disease data element, whose error message used to crash the import (``field`` given twice), and
for the rejected list / bulk re-process that translated the same kept error.
"""
from __future__ import annotations

import pytest

from tests.api.alerts_helpers import cheap_hashing, user_client  # noqa: F401 (fixture)
from tests.api.test_dhis2_tracker import event

pytestmark = pytest.mark.integration


@pytest.fixture
def http(live_app, cheap_hashing):
    with user_client(live_app, "admin", "admin", "ML") as client:
        yield client


@pytest.fixture
def site_uid(pyramid):
    return pyramid.get("ML-MOP-DJENNE-MOUGNA-S1").dhis2_uid


def _no_occurred_at(site_uid):
    e = event("EvtNoDate001", site_uid, disease="CHOLERA", cases="2")
    del e["occurredAt"]
    return e, "occurredAt"


def _no_disease(site_uid):
    return event("EvtNoDise001", site_uid, cases="2"), "disease"


@pytest.mark.parametrize("make", [_no_occurred_at, _no_disease], ids=["no_occurredAt", "no_disease_element"])
def test_event_missing_a_required_value_is_an_error_report_not_500(http, site_uid, make):
    bad, field = make(site_uid)
    r = http.post("/api/v1/dhis2/tracker", json={"events": [bad]})
    assert r.status_code == 409, r.text
    report = r.json()["validationReport"]["errorReports"]
    assert [e["errorCode"] for e in report] == ["dhis2.dataelement.missing"]
    assert "is missing" in report[0]["message"] and "{" not in report[0]["message"]


@pytest.mark.parametrize("make", [_no_occurred_at, _no_disease], ids=["no_occurredAt", "no_disease_element"])
def test_resending_the_same_bad_event_keeps_one_rejected_item(http, site_uid, make):
    bad, _ = make(site_uid)
    for _ in range(3):
        assert http.post("/api/v1/dhis2/tracker", json={"events": [bad]}).status_code == 409
    items = http.get("/api/v1/rejected", params={"channel": "dhis2"}).json()["items"]
    assert len(items) == 1 and items[0]["raw"] == bad


def test_rejected_list_without_filters_and_bulk_reprocess_translate_kept_dhis2_errors(http, site_uid):
    bad, _ = _no_occurred_at(site_uid)
    assert http.post("/api/v1/dhis2/tracker", json={"events": [bad]}).status_code == 409
    listed = http.get("/api/v1/rejected", headers={"Accept-Language": "fr"})
    assert listed.status_code == 200, listed.text
    [item] = listed.json()["items"]
    assert item["errors"][0]["message"] == "L'élément de donnée DeDebut0001 (onset_date) manque."
    bulk = http.post("/api/v1/rejected/reprocess")
    assert bulk.status_code == 200, bulk.text
    assert bulk.json()["summary"] == {"rejected": 1}
    assert bulk.json()["results"][0]["errors"][0]["key"] == "dhis2.dataelement.missing"
