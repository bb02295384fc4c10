"""Property: whatever a DHIS2 client posts to ``/api/v1/dhis2/tracker``, the answer is never a 5xx,
and every distinct bad payload (an event, or a whole body that is not ``{"events": [...]}``) is
kept as exactly one rejected item — re-sending it adds none."""
from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tests.api.alerts_helpers import cheap_hashing, user_client  # noqa: F401 (fixture)

pytestmark = pytest.mark.integration

SITE_UID = "placeholder"  # replaced by the fixture (the pyramid is loaded at run time)
DATA_ELEMENTS = ["DeMaladie01", "DeNbCas0001", "DeSexe00001", "DeAge000001", "DeDebut0001", "DeNbDeces01",
                 "DeComment01", "DeUnknown01"]
# JSON scalars, including a lone surrogate (valid JSON "\ud800", not encodable as UTF-8)
junk = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20), st.floats(allow_nan=False),
                 st.text(max_size=8), st.just("\ud800"), st.just("x" * 300))
values = st.one_of(st.sampled_from(["CHOLERA", "PALUDISME", "LEPRE", "cholera", "2", "0", "-1", "999999999",
                                    "FEMININ", "PLUS_5", "2026-11-18", "2027-01-01", "18/11/2026", ""]), junk)
data_value = st.one_of(st.fixed_dictionaries({"dataElement": st.one_of(st.sampled_from(DATA_ELEMENTS), junk),
                                              "value": values}),
                       junk, st.lists(junk, max_size=2))


def events(site_uid: str):
    optional = {
        "event": st.one_of(st.sampled_from(["EvtProp0001", "EvtProp0002", "EvtProp0003"]), junk),
        "program": st.one_of(st.sampled_from(["SbcSignal01", "SbcCholera1", "NoSuchProg1"]), junk),
        "programStage": st.one_of(st.sampled_from(["SbcStage001", "OtherStage1"]), junk),
        "orgUnit": st.one_of(st.sampled_from([site_uid, "NoSuchOrgU1"]), junk),
        "occurredAt": st.one_of(st.sampled_from(["2026-11-18T00:00:00.000", "2026-11-19", "2027-02-01",
                                                  "not a date", "1999-01-01"]), junk),
        "completedAt": st.one_of(st.sampled_from(["2026-11-19", "2026-11-10"]), junk),
        "storedBy": junk,
        "dataValues": st.one_of(st.lists(data_value, max_size=5), junk,
                                st.dictionaries(st.text(max_size=3), junk, max_size=2)),
    }
    event = st.fixed_dictionaries({}, optional=optional)
    return st.one_of(event, junk, st.lists(junk, max_size=2))


def bodies(site_uid: str):
    tracker = st.fixed_dictionaries({"events": st.lists(events(site_uid), max_size=4)})
    other = st.one_of(junk, st.fixed_dictionaries({"events": junk}), st.lists(junk, max_size=3),
                      st.fixed_dictionaries({"trackedEntities": st.lists(junk, max_size=2)}))
    return st.one_of(tracker, tracker, tracker, other)


def identity(obj) -> str:
    """The same JSON text twice is the same payload (key order included, as sent)."""
    return json.dumps(obj)


@pytest.fixture
def http(live_app, cheap_hashing):
    with user_client(live_app, "admin", "admin", "ML") as client:
        yield client


def test_any_tracker_payload_gets_no_5xx_and_each_bad_payload_is_kept_once(http, live_app, pyramid):
    site_uid = pyramid.get("ML-MOP-DJENNE-MOUGNA-S1").dhis2_uid
    pipeline = live_app.server.config.app.state.pipeline
    bad: dict[str, str] = {}  # identity of a bad payload -> its rejected item

    def rejected_ids() -> set[str]:
        with pipeline.db.connect() as conn:
            return {i.rejected_id for i in pipeline.rejected.list(conn, status=None, limit=100_000)}

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(body=bodies(site_uid), resend=st.booleans())
    def check(body, resend):
        sent = json.dumps(body)  # may hold Infinity: Python writes it, RFC 8259 JSON has no such number
        for _ in range(2 if resend else 1):
            r = http.post("/api/v1/dhis2/tracker", content=sent.encode(), headers={"content-type": "application/json"})
            assert r.status_code < 500, (body, r.text)
            doc = r.json()
            if "rejected_id" in doc:  # refused before it was read as JSON: the text is kept
                assert r.status_code == 400 and doc["error"]["key"] == "report.json.malformed", r.text
                assert bad.setdefault(sent, doc["rejected_id"]) == doc["rejected_id"], sent
            elif isinstance(body, dict) and isinstance(body.get("events"), list):
                assert r.status_code in (200, 409), r.text
                for e in doc["validationReport"]["errorReports"]:
                    event = body["events"][e["index"]]
                    assert bad.setdefault(identity(event), e["rejected_id"]) == e["rejected_id"], event
            else:
                assert r.status_code == 400, r.text
                [e] = doc["validationReport"]["errorReports"]
                assert bad.setdefault(identity(body), e["rejected_id"]) == e["rejected_id"], body
        assert rejected_ids() == set(bad.values())
        listed = http.get("/api/v1/rejected", params={"limit": 1000})  # no filter: every kept error translated
        assert listed.status_code == 200, listed.text
        assert {i["rejected_id"] for i in listed.json()["items"]} == set(bad.values())

    check()
    bulk = http.post("/api/v1/rejected/reprocess", params={"limit": 1000})
    assert bulk.status_code == 200, bulk.text
    assert sum(bulk.json()["summary"].values()) == len(bad)
