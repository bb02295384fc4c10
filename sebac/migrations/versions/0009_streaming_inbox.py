"""streaming: inbox of processed messages (idempotent consumers)

Revision ID: 0009_streaming
Revises: 0001
Create Date: 2026-11-22 20:50:00
"""
from alembic import op
import sqlalchemy as sa


revision = "0009_streaming"
down_revision = "0001"
branch_labels = ("streaming",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stream_inbox",
        sa.Column("message_key", sa.String(200), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outputs", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("message_key", name="pk_stream_inbox"),
    )


def downgrade() -> None:
    op.drop_table("stream_inbox")
