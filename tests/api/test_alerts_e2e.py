"""End to end over real HTTP, a real SQLite database and the real background workers: a demo cholera
outbreak climbs CSCom → district → region → national when nobody acknowledges, and stops at the
district when the district epidemiologist acknowledges (by HTTP, and by SMS reply)."""
from __future__ import annotations

import time

import httpx
import pytest

from alerts.channels import Channels, LogSmsGateway
from alerts.outbox import RetryPolicy
from alerts.runtime import AlertWorkers
from sebac.demo import OUTBREAK_AREAS, simulate_week
from sebac.demo_people import create_demo_users
from tests.api.alerts_helpers import cheap_hashing  # noqa: F401

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("cheap_hashing")]

MOUGNA = {"client_id": "chw-mougna-1", "orgunit_id": "ML-MOP-DJENNE-MOUGNA-S1", "disease": "cholera", "cases": 2,
          "onset_date": "2026-11-19", "sex": "F", "age_group": "5+", "text": "diarrhée aqueuse, vomissements"}
SOFARA = MOUGNA | {"client_id": "chw-sofara-1", "orgunit_id": "ML-MOP-DJENNE-SOFARA-S1"}


def wait_for(predicate, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


@pytest.fixture
def demo(live_app, clock):
    pipeline = live_app.server.config.app.state.pipeline
    users = {u.role: u for u in create_demo_users(pipeline, seed=1)}
    sms = LogSmsGateway()
    workers = AlertWorkers(pipeline, Channels(sms=sms), retry=RetryPolicy(), tick_seconds=0.05, poll_seconds=0.05)
    workers.start()
    clients = {}
    for role, u in users.items():
        r = httpx.post(f"{live_app.url}/api/v1/auth/token", json={"username": u.username, "password": u.password})
        clients[role] = httpx.Client(base_url=live_app.url, timeout=10,
                                     headers={"Authorization": f"Bearer {r.json()['access_token']}"})
    yield clients, users, sms, clock
    workers.stop()


def _level(http: httpx.Client, alert_id: int) -> str:
    return http.get(f"/api/v1/alerts/{alert_id}").json()["level"]


def _raise(live_app, payload) -> int:
    r = httpx.post(f"{live_app.url}/api/v1/reports", json=payload)
    assert r.status_code == 201, r.text
    (alert_id,) = r.json()["alert_ids"]
    return alert_id


def test_demo_outbreak_climbs_to_national_when_nobody_acknowledges(live_app, demo):
    http, users, sms, clock = demo
    pipeline = live_app.server.config.app.state.pipeline
    outbreak = [r.payload for r in simulate_week(pipeline.pyramid, clock.now())
                if r.payload["disease"] == "cholera" and r.payload["orgunit_id"].startswith(OUTBREAK_AREAS)]
    r = httpx.post(f"{live_app.url}/api/v1/reports", json=outbreak)  # the CHW app syncs its week as a batch
    assert r.status_code == 200 and r.json()["summary"]["accepted"] == len(outbreak), r.text
    alert_ids = sorted({a for item in r.json()["results"] for a in item.get("alert_ids", [])})
    assert len(alert_ids) >= 2  # Mougna and Sofara (and Mougna again in the next epi week)
    national = http["national"]
    assert {_level(national, a) for a in alert_ids} == {"health_area"}
    wait_for(lambda: any(to == users["cscom"].phone for to, _ in sms.sent))
    for minutes, level in ((30, "district"), (30, "region"), (30, "national")):
        clock.advance(minutes=minutes)
        wait_for(lambda: {_level(national, a) for a in alert_ids} == {level})
    for alert_id in alert_ids:
        detail = national.get(f"/api/v1/alerts/{alert_id}").json()
        steps = [(e["level"], e["data"]["cause"]) for e in detail["events"] if e["type"] == "escalated"]
        assert steps == [("district", "timeout"), ("region", "timeout"), ("national", "timeout")]
        assert detail["status"] == "open" and detail["timeliness"]["status"]["notification"] == "pending"
    assert wait_for(lambda: {to for to, _ in sms.sent} >= {users[r].phone for r in ("cscom", "district", "region",
                                                                                     "national")})
    # escalation added people, it removed none: the district still acts on its alert at national level,
    # and the region takes the next one over explicitly (the alert then sits at region)
    r = http["district"].post(f"/api/v1/alerts/{alert_ids[0]}/acknowledge")
    assert r.status_code == 200 and r.json()["status"] == "acknowledged" and r.json()["level"] == "national"
    r = http["region"].post(f"/api/v1/alerts/{alert_ids[1]}/take_over")
    assert r.status_code == 403 and r.json()["error"]["key"] == "alert.take_over.notAbove"
    r = http["district"].post(f"/api/v1/alerts/{alert_ids[1]}/take_over")
    assert r.status_code == 403 and r.json()["error"]["key"] == "alert.take_over.notAbove"
    assert national.post(f"/api/v1/alerts/{alert_ids[1]}/acknowledge").json()["status"] == "acknowledged"


def test_outbreak_stops_at_district_when_the_district_user_acknowledges(live_app, demo):
    http, users, sms, clock = demo
    alert_id = _raise(live_app, MOUGNA)
    clock.advance(minutes=31)
    wait_for(lambda: _level(http["district"], alert_id) == "district")
    r = http["district"].post(f"/api/v1/alerts/{alert_id}/acknowledge")
    assert r.status_code == 200 and r.json()["status"] == "acknowledged"
    clock.advance(hours=6)
    time.sleep(0.5)  # several scheduler ticks
    detail = http["district"].get(f"/api/v1/alerts/{alert_id}").json()
    assert detail["level"] == "district" and detail["escalate_at"] is None
    assert [e["level"] for e in detail["events"] if e["type"] == "escalated"] == ["district"]
    assert detail["timeliness"]["status"]["notification"] == "met"


def test_district_acknowledges_by_sms_reply(live_app, demo):
    http, users, sms, clock = demo
    alert_id = _raise(live_app, SOFARA)
    clock.advance(minutes=31)
    wait_for(lambda: _level(http["district"], alert_id) == "district")
    from ingest.sms.commands import dispatch_command

    reply = dispatch_command(f"OK {alert_id}", users["district"].phone, clock.now())
    assert reply == f"Alerte #{alert_id} acquittée. Merci."
    clock.advance(hours=2)
    time.sleep(0.3)
    assert http["region"].get(f"/api/v1/alerts/{alert_id}").json()["level"] == "district"


SECRET = "gateway-secret-for-tests-42"


@pytest.fixture
def sms_app(db_url, clock):
    """The live app with the generic SMS gateway webhook enabled."""
    from sebac.engine import build_app
    from sebac.settings import Settings
    from tests.conftest import LiveServer

    app = build_app(Settings(database_url=db_url, environment="test", sms_generic_secret=SECRET), clock)
    with LiveServer(app) as server:
        yield server


def test_district_acknowledges_by_replying_to_the_sms_gateway_webhook(sms_app, clock):
    pipeline = sms_app.server.config.app.state.pipeline
    users = {u.role: u for u in create_demo_users(pipeline, seed=2)}
    alert_id = _raise(sms_app, MOUGNA)
    workers = AlertWorkers(pipeline, Channels(sms=LogSmsGateway()), tick_seconds=0.05, poll_seconds=0.05)
    workers.start()
    try:
        clock.advance(minutes=31)
        def level() -> str:
            with pipeline.db.connect() as conn:
                return pipeline.alerts.get(conn, alert_id).level

        wait_for(lambda: level() == "district")
        sms = {"from": users["district"].phone, "text": f"ok {alert_id}", "id": "gw-msg-1"}
        r = httpx.post(f"{sms_app.url}/api/v1/sms/generic", json=sms, headers={"X-Sebac-Secret": SECRET})
        assert r.status_code == 200, r.text
        assert r.json()["reply"] == f"Alerte #{alert_id} acquittée. Merci."
        r = httpx.post(f"{sms_app.url}/api/v1/sms/generic", json=sms | {"from": "+22399999999", "id": "gw-2"},
                       headers={"X-Sebac-Secret": SECRET})
        assert r.json()["reply"].startswith("Ce numéro n'est pas enregistré")
        clock.advance(hours=3)
        time.sleep(0.3)
        with pipeline.db.connect() as conn:
            alert = pipeline.alerts.get(conn, alert_id)
        assert (alert.status.value, alert.level, alert.acknowledged_by) == ("acknowledged", "district",
                                                                            "user:epi.djenne")
    finally:
        workers.stop()
