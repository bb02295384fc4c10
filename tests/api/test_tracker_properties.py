"""``POST /api/tracker`` under generated payloads and parameters: never a 5xx, DHIS2's answer shape
every time, only DHIS2 codes of the table (SEBAC's key in ``args[0]``), stats that add up."""
from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.dhis2_codes import MESSAGES
from tests.api.alerts_helpers import cheap_hashing, user_client  # noqa: F401 (fixture)
from tests.api.test_dhis2_properties import bodies

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("cheap_hashing")]
PARAMS = st.fixed_dictionaries({"async": st.just("false")}, optional={
    "importStrategy": st.sampled_from(["CREATE", "UPDATE", "CREATE_AND_UPDATE", "DELETE", "delete", "MERGE"]),
    "atomicMode": st.sampled_from(["ALL", "OBJECT", "object", "NONE"]),
    "importMode": st.sampled_from(["COMMIT", "VALIDATE"]),
    "reportMode": st.sampled_from(["FULL", "ERRORS", "WARNINGS"])})


@pytest.fixture
def http(live_app):
    with user_client(live_app, "admin", "admin", "ML") as client:
        yield client


def test_any_payload_and_parameters_get_dhis2_shaped_answers_and_no_5xx(http, pyramid):
    site_uid = pyramid.get("ML-MOP-DJENNE-MOUGNA-S1").dhis2_uid
    valid_params = {"CREATE", "UPDATE", "CREATE_AND_UPDATE", "DELETE", "ALL", "OBJECT", "COMMIT", "VALIDATE",
                    "FULL", "ERRORS", "WARNINGS"}

    @settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(body=bodies(site_uid), params=PARAMS)
    def check(body, params):
        r = http.post("/api/tracker", params=params, content=json.dumps(body).encode(),
                      headers={"content-type": "application/json"})
        assert r.status_code < 500, (body, params, r.text)
        doc = r.json()
        if any(str(v).upper() not in valid_params for k, v in params.items() if k != "async"):
            assert r.status_code == 400 and doc["error"]["key"] == "dhis2.param.invalid", r.text
            return
        if not isinstance(body, dict) or "error" in doc or "errorCode" in doc:
            assert r.status_code == 400, r.text
            return
        assert r.status_code == (409 if doc["status"] == "ERROR" else 200), r.text
        stats = doc["stats"]
        assert stats["total"] == sum(stats[k] for k in ("created", "updated", "deleted", "ignored"))
        objects = doc["bundleReport"]["typeReportMap"]["EVENT"]["objectReports"]
        assert len(objects) == stats["total"] and [o["index"] for o in objects] == list(range(stats["total"]))
        errors = doc["validationReport"]["errorReports"]
        assert (doc["status"] == "ERROR") == bool(errors)
        for e in errors:
            assert e["errorCode"] in MESSAGES and e["trackerType"] == "EVENT" and "." in e["args"][0], e
        if params.get("importMode") == "VALIDATE":
            assert stats["created"] == stats["updated"] == stats["deleted"] == 0

    check()
