"""Database engine and migrations (Alembic, applied at start-up: ``upgrade heads``).

SQLite runs in WAL mode (readers don't block the writer) with ``synchronous=FULL``: every commit is
fsynced to the WAL before it returns, so a report answered 2xx survives a power cut. With ``NORMAL``
a WAL commit is durable only at the next checkpoint, and the last transactions can vanish after a
power loss although their 2xx was sent (https://www.sqlite.org/pragma.html#pragma_synchronous). The
cost is one fsync of the WAL per commit.
"""
from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
SQLITE_SYNCHRONOUS = "FULL"  # a committed (2xx) transaction survives a power loss


def make_engine(url: str) -> sa.Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # per connection: synchronous is not stored in the file
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA synchronous={SQLITE_SYNCHRONOUS}")
            cur.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True)


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate(engine: sa.Engine) -> None:
    """Bring the schema to the newest revision of every branch."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "heads")
