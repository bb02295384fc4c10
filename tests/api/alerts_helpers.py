"""Helpers for the alert API tests: create users in the live app's database, log in over HTTP."""
from __future__ import annotations

import httpx

from alerts.users import UserIn, UserRepository

PASSWORD = "correct-horse-battery"


def make_user(live_app, username: str, role: str, orgunit: str, phone: str | None = None):
    pipeline = live_app.server.config.app.state.pipeline
    with pipeline.db.begin() as conn:
        return UserRepository().create(conn, UserIn(username=username, password=PASSWORD, role=role,
                                                    orgunit_id=orgunit, phone=phone),
                                       pipeline.pyramid, pipeline.clock.now())


def login(live_app, username: str, password: str = PASSWORD) -> httpx.Client:
    r = httpx.post(f"{live_app.url}/api/v1/auth/token", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return httpx.Client(base_url=live_app.url, timeout=10,
                        headers={"Authorization": f"Bearer {r.json()['access_token']}"})


def user_client(live_app, username: str, role: str, orgunit: str, phone: str | None = None) -> httpx.Client:
    make_user(live_app, username, role, orgunit, phone)
    return login(live_app, username)


import pytest  # noqa: E402
from argon2 import PasswordHasher, profiles  # noqa: E402

from alerts.users import use_password_hasher  # noqa: E402


@pytest.fixture
def cheap_hashing():
    """Argon2 at its cheapest in tests (the default profile costs ~0.5 s per hash on a loaded CI box)."""
    previous = use_password_hasher(PasswordHasher.from_parameters(profiles.CHEAPEST))
    yield
    use_password_hasher(previous)
