"""Fixtures of the streaming tests: the API side of the scale-out mode with an in-memory publisher."""
from __future__ import annotations

import pytest

from sebac.settings import Settings
from sebac.streaming.engine import publishing
from sebac.streaming.ingest import StreamingPipeline
from sebac.streaming.publisher import InMemoryPublisher


@pytest.fixture
def api_side(pipeline) -> tuple[StreamingPipeline, InMemoryPublisher]:
    publisher = InMemoryPublisher()
    settings = Settings(environment="test", broker="kafka://127.0.0.1:9", stream_topic_prefix="t")
    return publishing(pipeline, settings, publisher), publisher


@pytest.fixture
def pg_db(pg_url):
    """A migrated database on the session's PostgreSQL server."""
    from sebac.db import make_engine, migrate

    engine = make_engine(pg_url)
    migrate(engine)
    engine.dispose()
    return pg_url


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """``item.failed`` for fixtures that keep a server's log when their test failed."""
    outcome = yield
    if outcome.get_result().failed:
        item.failed = True


@pytest.fixture
def own_broker(request):
    """An Apache Kafka broker of this test alone (the test stops and restarts it); log kept on failure."""
    from tests.servers import start_broker

    broker = start_broker()
    yield broker
    broker.stop(keep_log=getattr(request.node, "failed", False))
