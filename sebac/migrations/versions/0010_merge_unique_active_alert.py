"""Merge the per-capability branches; at most one active alert per dedup key

Revision ID: 0010_merge
Revises: 0002_ingest, 0005_alerts, 0007_metrics, 0009_streaming
"""
from alembic import op
import sqlalchemy as sa

revision = "0010_merge"
down_revision = ("0002_ingest", "0005_alerts", "0007_metrics", "0009_streaming")
branch_labels = None
depends_on = None

ACTIVE_SQL = "status IN ('open', 'acknowledged', 'verified', 'response')"


def upgrade() -> None:
    # Two writers that both missed each other's open alert (API replicas, stream workers) would
    # otherwise both create one; the loser of this index retries as a merge (alerts.service).
    op.create_index("uq_alerts_active_dedup_key", "alerts", ["dedup_key"], unique=True,
                    sqlite_where=sa.text(ACTIVE_SQL), postgresql_where=sa.text(ACTIVE_SQL))


def downgrade() -> None:
    op.drop_index("uq_alerts_active_dedup_key", table_name="alerts")
