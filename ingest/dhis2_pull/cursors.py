"""The persisted cursor of a DHIS2 pull: the ``updatedAt`` up to which a program's events are in.

One row per (server, program) in ``dhis2_pull_cursors`` (migration ``0020_dhis2_pull``). The pull
saves it after the events of a page are committed, so a crash re-reads at most one page (whose
events are then ignored: same UID, same version).
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ingest.tables import metadata

dhis2_pull_cursors = sa.Table(
    "dhis2_pull_cursors",
    metadata,
    sa.Column("server", sa.String(300), primary_key=True),
    sa.Column("program", sa.String(64), primary_key=True),
    sa.Column("updated_after", sa.String(40), nullable=False),
    sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
)


def load_cursor(conn: Connection, server: str, program: str) -> str | None:
    t = dhis2_pull_cursors
    return conn.execute(sa.select(t.c.updated_after).where(t.c.server == server, t.c.program == program)
                        ).scalar_one_or_none()


def save_cursor(conn: Connection, server: str, program: str, updated_after: str, now: dt.datetime) -> None:
    """Upsert (a concurrent pull of the same server and program: the later save wins, both are safe)."""
    t = dhis2_pull_cursors
    where = (t.c.server == server) & (t.c.program == program)
    if conn.execute(t.update().where(where).values(updated_after=updated_after, saved_at=now)).rowcount:
        return
    try:
        with conn.begin_nested():
            conn.execute(t.insert().values(server=server, program=program, updated_after=updated_after,
                                           saved_at=now))
    except sa.exc.IntegrityError:
        conn.execute(t.update().where(where).values(updated_after=updated_after, saved_at=now))


def all_cursors(conn: Connection, server: str) -> dict[str, str]:
    t = dhis2_pull_cursors
    return dict(conn.execute(sa.select(t.c.program, t.c.updated_after).where(t.c.server == server)).all())
