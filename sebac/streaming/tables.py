"""SQL tables of the streaming mode (on the shared ``metadata``).

``stream_inbox`` makes consumers idempotent: a message's effect is committed in the same
transaction as its inbox row (primary key = the message's dedup key, e.g. ``signal:<signal id>``),
so a redelivered message finds its row and does nothing but re-emit the recorded outputs.

``stream_offsets`` holds, per topic partition, the offset below which every record has been handled
(stored, or emitted to ``rejected``). It is advanced only by a contiguous batch, after the batch's
effects are committed and its outputs acknowledged by the broker — before the consumer can commit
the batch's offsets — so a batch that starts above the mark reveals records the consumer skipped.
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

stream_offsets = sa.Table(
    "stream_offsets",
    metadata,
    sa.Column("topic", sa.String(200), primary_key=True),
    sa.Column("partition", sa.Integer, primary_key=True),
    sa.Column("next_offset", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)
