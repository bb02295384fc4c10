"""streaming: per-partition consumed marks (no record of ``reports`` skipped)

Revision ID: 0011_stream_offsets
Revises: 0010_merge
Create Date: 2026-11-22 22:50:00
"""
from alembic import op
import sqlalchemy as sa


revision = "0011_stream_offsets"
down_revision = "0010_merge"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stream_offsets",
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("next_offset", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("topic", "partition", name="pk_stream_offsets"),
    )


def downgrade() -> None:
    op.drop_table("stream_offsets")
