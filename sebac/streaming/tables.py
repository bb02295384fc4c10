"""SQL tables of the streaming mode (on the shared ``metadata``).

``stream_inbox`` makes consumers idempotent: a message's effect is committed in the same
transaction as its inbox row (primary key = the message's dedup key, e.g. ``signal:<signal id>``),
so a redelivered message finds its row and does nothing but re-emit the recorded outputs.
"""
from __future__ import annotations

import sqlalchemy as sa

from ingest.tables import metadata

stream_inbox = sa.Table(
    "stream_inbox",
    metadata,
    sa.Column("message_key", sa.String(200), primary_key=True),
    sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("outputs", sa.JSON, nullable=False),
)
