from tests.api.alerts_helpers import cheap_hashing  # noqa: F401

import pytest


@pytest.fixture(autouse=True)
def _cheap_hashing(cheap_hashing):
    yield
