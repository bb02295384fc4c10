"""Login throttling: per account and per address, stored in the database, with an injected clock.

Before: 30 wrong passwords in a row were all answered 401 and the 31st, right, logged in.
"""
from __future__ import annotations

import datetime as dt

import httpx
import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY

from api.login_throttle import check_and_record, login_failures, record_failure, unlock, wait
from sebac.db import make_engine
from tests.api.alerts_helpers import PASSWORD, cheap_hashing, make_user, user_client  # noqa: F401 (fixture)

T0 = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.timezone.utc)
IP, OTHER_IP = "192.0.2.10", "198.51.100.7"


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def attempt(db, ok: bool, when: dt.datetime, username: str = "epi.djenne", address: str = IP):
    with db.begin() as conn:
        return check_and_record(conn, username, address, ok, when)


def throttled(limit: str) -> float:
    return REGISTRY.get_sample_value("sebac_login_throttled_total", {"limit": limit}) or 0.0


# -- the store, on a real SQLite file, with ``now`` given ---------------------------------------------
@pytest.mark.parametrize("steps", [
    # (seconds after T0, password right?, judged?, retry_after seconds when refused)
    [(0, False, True, 0)] * 5 + [(0, True, False, 1), (0.5, False, False, 1), (1, True, True, 0)],
    [(0, False, True, 0)] * 5 + [(1, False, True, 0), (1.5, False, False, 2), (3, False, True, 0),
                                 (4, True, False, 3), (7, True, True, 0)],
    [(0, False, True, 0)] * 4 + [(0, True, True, 0)] + [(0, False, True, 0)] * 4 + [(0, False, True, 0),
                                                                                  (0, False, False, 1)],
    [(0, False, True, 0)] * 5 + [(86_400, False, True, 0), (86_400, False, True, 0)],  # a day later: forgotten
])
def test_failures_in_a_row_lock_the_account_with_a_growing_wait(db, steps):
    for i, (seconds, ok, judged, retry) in enumerate(steps):
        d = attempt(db, ok, at(seconds))
        assert (d.allowed, d.retry_after_seconds) == (judged, retry), (i, seconds, ok, d)


def test_a_right_password_during_a_lock_does_not_log_in_and_is_not_recorded(db):
    for _ in range(15):
        record_failure_at(db, T0)
    d = attempt(db, True, at(60))
    assert not d.allowed and d.limit == "account" and d.retry_after_seconds == 840
    with db.connect() as conn:
        assert conn.execute(sa.select(login_failures.c.failures).where(login_failures.c.kind == "account")
                            ).scalar_one() == 15
    assert attempt(db, True, at(900)).allowed  # the lock is over: a success clears the streak
    assert attempt(db, False, at(900)).allowed


def record_failure_at(db, when, username="epi.djenne", address=IP):
    with db.begin() as conn:
        record_failure(conn, username, address, when)


def test_the_address_limit_stops_one_client_trying_many_accounts(db):
    for i in range(20):
        assert attempt(db, False, T0, username=f"user{i}").allowed
    d = attempt(db, False, T0, username="user-new")
    assert not d.allowed and d.limit == "address" and d.retry_after_seconds == 1
    assert attempt(db, False, T0, username="user-new", address=OTHER_IP).allowed  # elsewhere: judged
    assert attempt(db, True, at(1), username="user0").allowed  # a success does not reset the address:
    assert attempt(db, False, at(1), username="user1").allowed  # its 21st failure
    d = attempt(db, False, at(1), username="user2")
    assert not d.allowed and d.limit == "address" and d.retry_after_seconds == 2


def test_counts_add_up_across_processes(db_url, db):
    """Two engines on one file (two API processes): failures recorded by either count for both."""
    other = make_engine(db_url)
    try:
        for i in range(5):
            attempt(db if i % 2 else other, False, T0)
        assert not attempt(other, True, T0).allowed and not attempt(db, True, T0).allowed
    finally:
        other.dispose()


def test_unlock_ends_the_streak_and_nothing_readable_is_stored(db):
    for _ in range(15):
        record_failure_at(db, T0)
    with db.begin() as conn:
        assert unlock(conn, "epi.djenne") and not unlock(conn, "epi.djenne")
        assert wait(conn, "epi.djenne", IP, at(1)).allowed
        stored = [tuple(map(str, r)) for r in conn.execute(sa.select(login_failures))]
    assert stored and not any("epi.djenne" in v or IP in v for row in stored for v in row)


def test_forgotten_streaks_are_pruned(db):
    record_failure_at(db, T0, username="old")
    record_failure_at(db, at(86_400), username="new", address=OTHER_IP)
    with db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(login_failures)).scalar_one() == 2


# -- over HTTP, with the live app's fake clock ------------------------------------------------------
@pytest.mark.integration
def test_thirty_wrong_passwords_then_the_right_one_is_429_until_the_lock_ends(live_app, cheap_hashing, caplog):
    make_user(live_app, "epi.djenne", "district", "ML-MOP-DJENNE")
    clock = live_app.server.config.app.state.pipeline.clock
    url = f"{live_app.url}/api/v1/auth/token"
    before = throttled("account")
    answers = [httpx.post(url, json={"username": "epi.djenne", "password": f"guess-{i}"}) for i in range(30)]
    assert [r.status_code for r in answers] == [401] * 5 + [429] * 25
    r = httpx.post(url, json={"username": "epi.djenne", "password": PASSWORD}, headers={"accept-language": "fr"})
    assert r.status_code == 429 and r.headers["retry-after"] == "1"
    assert r.json()["error"] == {"key": "auth.login.throttled", "errors": [],
                                 "message": "Trop d'échecs de connexion. Réessayez dans 1 s."}
    assert throttled("account") == before + 26
    logged = [m for m in caplog.messages if m.startswith("login throttled by the account limit")]
    assert len(logged) == 26 and not any("epi.djenne" in m or "127.0.0.1" in m for m in logged)
    clock.advance(seconds=1)
    r = httpx.post(url, json={"username": "epi.djenne", "password": PASSWORD})
    assert r.status_code == 200 and r.json()["user"]["username"] == "epi.djenne"
    r = httpx.post(url, json={"username": "epi.djenne", "password": "wrong-again"})
    assert r.status_code == 401  # the success cleared the account's streak


@pytest.mark.integration
def test_the_counter_is_served_and_an_admin_unlocks(live_app, cheap_hashing):
    user = make_user(live_app, "epi.djenne", "district", "ML-MOP-DJENNE")
    pipeline = live_app.server.config.app.state.pipeline
    for _ in range(15):  # a quarter-hour lock
        record_failure_at(pipeline.db, pipeline.clock.now(), username="epi.djenne", address="127.0.0.1")
    url = f"{live_app.url}/api/v1/auth/token"
    r = httpx.post(url, json={"username": "epi.djenne", "password": PASSWORD})
    assert r.status_code == 429 and r.headers["retry-after"] == "900"
    with user_client(live_app, "admin", "admin", "ML") as admin:
        metrics = admin.get("/metrics").text
        assert 'sebac_login_throttled_total{limit="account"}' in metrics
        assert 'sebac_login_throttled_total{limit="address"}' in metrics
        with user_client(live_app, "epi.mopti", "region", "ML-MOP") as region:
            assert region.post(f"/api/v1/users/{user.user_id}/unlock").status_code == 403
        assert admin.post("/api/v1/users/9999/unlock").json()["error"]["key"] == "user.notFound"
        assert admin.post("/api/v1/users/99999999999999999999/unlock").status_code == 422
        r = admin.post(f"/api/v1/users/{user.user_id}/unlock")
        assert r.status_code == 200 and r.json() == {"user_id": user.user_id, "status": "unlocked", "cleared": True}
    assert httpx.post(url, json={"username": "epi.djenne", "password": PASSWORD}).status_code == 200


@pytest.mark.integration
def test_the_store_works_on_postgresql(pg_url):
    from sebac.db import migrate

    engine = make_engine(pg_url)
    try:
        migrate(engine)
        for _ in range(5):
            assert attempt(engine, False, T0).allowed
        d = attempt(engine, True, at(0.25))
        assert not d.allowed and d.retry_after_seconds == 1 and d.limit == "account"
        assert attempt(engine, False, at(1)).allowed and not attempt(engine, True, at(2)).allowed  # 6th: 2 s
        assert attempt(engine, True, at(3)).allowed
        record_failure_at(engine, at(86_400 * 2), username="late", address=OTHER_IP)  # prunes the old rows
        with engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(login_failures)).scalar_one() == 2
    finally:
        engine.dispose()
