"""DHIS2 corrections and push jobs: report versions and states, decided duplicates, tracker jobs

Revision ID: 0022_dhis2_corrections
Revises: 0020_dhis2_pull
Create Date: 2026-12-07 10:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0022_dhis2_corrections"
down_revision = "0021_sms_replies"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reports") as batch:
        batch.add_column(sa.Column("state", sa.String(12), nullable=False, server_default="active"))
        batch.add_column(sa.Column("version", sa.Integer, nullable=False, server_default="1"))
        batch.add_column(sa.Column("source_updated_at", sa.String(40)))
    op.create_table(
        "report_versions",
        sa.Column("report_id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("change", sa.String(16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by", sa.String(100)),
        sa.Column("reason", sa.String(200), nullable=False, server_default=""),
        sa.Column("before", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("report_id", "version", name="pk_report_versions"),
    )
    with op.batch_alter_table("possible_duplicates") as batch:
        batch.add_column(sa.Column("decided_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("decided_by", sa.String(100)))
    op.create_table(
        "dhis2_tracker_jobs",
        sa.Column("job_id", sa.String(11), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True)),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("submitted_by", sa.String(100), nullable=False),
        sa.Column("report", sa.JSON),
        sa.PrimaryKeyConstraint("job_id", name="pk_dhis2_tracker_jobs"),
        sa.Index("ix_dhis2_tracker_jobs_created_at", "created_at"),
    )


def downgrade() -> None:
    op.drop_table("dhis2_tracker_jobs")
    with op.batch_alter_table("possible_duplicates") as batch:
        batch.drop_column("decided_by")
        batch.drop_column("decided_at")
    op.drop_table("report_versions")
    with op.batch_alter_table("reports") as batch:
        batch.drop_column("source_updated_at")
        batch.drop_column("version")
        batch.drop_column("state")
