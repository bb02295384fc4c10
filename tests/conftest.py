"""Shared fixtures: a fake clock, the demo pyramid, a migrated SQLite database, a pipeline, and a
real uvicorn server on a free port."""
from __future__ import annotations

import datetime as dt
import socket
import threading
import time
from pathlib import Path

import pytest
import uvicorn

from ingest.clock import FakeClock
from ingest.diseases import load_diseases
from ingest.pyramid import demo_pyramid_path, load_pyramid
from sebac.db import make_engine, migrate
from sebac.pipeline import Pipeline
from sebac.settings import Settings

NOW = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture(scope="session")
def pyramid():
    return load_pyramid(demo_pyramid_path())


@pytest.fixture(scope="session")
def diseases():
    return load_diseases()


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'sebac.db'}"


@pytest.fixture
def db(db_url: str):
    engine = make_engine(db_url)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def pipeline(db, pyramid, diseases, clock) -> Pipeline:
    return Pipeline(db, pyramid, diseases, clock=clock)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """uvicorn serving an app in a background thread on 127.0.0.1:<free port>."""

    def __init__(self, app):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> "LiveServer":
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def live_app(db_url, clock, tmp_path):
    """A real HTTP server around the embedded engine, with a fake clock."""
    from sebac.engine import build_app

    settings = Settings(database_url=db_url, environment="test")
    app = build_app(settings, clock)
    with LiveServer(app) as server:
        yield server


# -- real servers on loopback (tests/servers.py): skipped when missing, failed in CI ------------------
@pytest.fixture(scope="session")
def postgres_server():
    """A PostgreSQL server for the session (Debian package), on a free port with a tmpfs data dir."""
    from tests.servers import start_postgres

    server = start_postgres()
    yield server
    server.stop()


@pytest.fixture
def pg_url(postgres_server, request) -> str:
    """A fresh, empty database on the session's PostgreSQL server."""
    import re
    import uuid

    name = re.sub(r"[^a-z0-9_]", "_", request.node.name.lower())[:40] + "_" + uuid.uuid4().hex[:6]
    return postgres_server.create_database(name)


@pytest.fixture(scope="session")
def kafka_broker(request):
    """Apache Kafka (KRaft, one node) for the session, on free ports; its log is kept under
    data/test-artefacts/ when a test of the session failed."""
    from tests.servers import start_broker

    broker = start_broker()
    yield broker
    broker.stop(keep_log=request.session.testsfailed > 0)


def pytest_report_header(config) -> str:
    from tests.servers import kafka_libs, kafka_version

    libs = kafka_libs()
    return f"kafka: Apache Kafka {kafka_version(libs)} ({libs})" if libs else "kafka: no jars (deploy/kafka/fetch.sh)"


# -- `pytest -m "not integration"` (make test-unit) is a fast run without servers ---------------------
# A test that takes one of these fixtures starts a server, a broker or a browser: it is an integration
# test whatever its module says. Tests that start a subprocess or a stand-in server without such a
# fixture carry the marker themselves.
SERVER_FIXTURES = {"live_app", "postgres_server", "pg_url", "kafka_broker", "browser", "console", "promtool"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if SERVER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)
