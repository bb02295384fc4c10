"""Possible duplicates over HTTP: a cross-channel pair is listed as held, decided, and the report's
history shows the revision."""
from __future__ import annotations

import pytest

from ingest.contracts import Channel
from tests.api.alerts_helpers import cheap_hashing, user_client  # noqa: F401 (fixture)

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("cheap_hashing")]
REPORT = {"client_id": "x-1", "orgunit_id": "ML-MOP-DJENNE-MOUGNA-S1", "disease": "malaria", "cases": 4,
          "onset_date": "2026-11-16", "reporter": "chw-1"}


@pytest.fixture
def http(live_app):
    with user_client(live_app, "admin", "admin", "ML") as client:
        yield client


def test_held_pair_is_listed_decided_and_the_history_kept(live_app, http):
    pipeline = live_app.server.config.app.state.pipeline
    sms = pipeline.submit(REPORT, Channel.sms, idempotency_key="sms:t:1").report
    tablet = pipeline.submit(REPORT | {"client_id": "EvtTab0001"}, Channel.dhis2,
                             idempotency_key="dhis2:EvtTab0001").report
    [pair] = http.get("/api/v1/reports/possible-duplicates").json()["items"]
    assert (pair["report_id"], pair["duplicate_of"], pair["held"], pair["cross_channel"]) == (
        tablet.report_id, sms.report_id, True, True)
    url = f"/api/v1/reports/possible-duplicates/{tablet.report_id}/{sms.report_id}"
    assert http.post(url, params={"status": "open"}).status_code == 422
    r = http.post(url, params={"status": "distinct"})
    assert r.status_code == 200 and (r.json()["report_state"], r.json()["report_version"]) == ("active", 3)
    again = http.post(url, params={"status": "confirmed"})
    assert again.status_code == 409 and again.json()["error"]["key"] == "duplicate.decided"
    assert http.get("/api/v1/reports/possible-duplicates").json()["items"] == []
    decided = http.get("/api/v1/reports/possible-duplicates", params={"status": "distinct"}).json()["items"]
    assert decided[0]["decided_by"] == "user:admin"
    history = http.get(f"/api/v1/reports/{tablet.report_id}/history").json()
    assert [(v["version"], v["change"], v["before"]["state"]) for v in history["versions"]] == [
        (1, "held", "active"), (2, "released", "held")]
    assert http.get("/api/v1/reports/nope/history").status_code == 404
