"""ingest channels: possible duplicates, re-evaluation queue, weekly counts history, zero reports

Revision ID: 0002_ingest
Revises: 0001
Create Date: 2026-11-22 20:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = "0002_ingest"
down_revision = "0001"
branch_labels = ("ingest",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "possible_duplicates",
        sa.Column("report_id", sa.String(36), nullable=False),
        sa.Column("duplicate_of", sa.String(36), nullable=False),
        sa.Column("district_id", sa.String(64), nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="open"),
        sa.PrimaryKeyConstraint("report_id", "duplicate_of", name=op.f("pk_possible_duplicates")),
    )
    op.create_index("ix_possible_duplicates_district", "possible_duplicates", ["district_id"])
    op.create_table(
        "reevaluation_queue",
        sa.Column("area_id", sa.String(64), nullable=False),
        sa.Column("disease", sa.String(64), nullable=False),
        sa.Column("epiweek", sa.String(9), nullable=False),
        sa.Column("marked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("report_count", sa.Integer(), nullable=False, server_default="1"),
        sa.PrimaryKeyConstraint("area_id", "disease", "epiweek", name=op.f("pk_reevaluation_queue")),
    )
    op.create_table(
        "weekly_counts_history",
        sa.Column("area_id", sa.String(64), nullable=False),
        sa.Column("disease", sa.String(64), nullable=False),
        sa.Column("iso_year", sa.Integer(), nullable=False),
        sa.Column("iso_week", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(200), nullable=True),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("area_id", "disease", "iso_year", "iso_week", name=op.f("pk_weekly_counts_history")),
    )
    op.create_table(
        "zero_reports",
        sa.Column("zero_report_id", sa.String(36), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("orgunit_id", sa.String(64), nullable=False),
        sa.Column("health_area_id", sa.String(64), nullable=False),
        sa.Column("district_id", sa.String(64), nullable=False),
        sa.Column("epiweek", sa.String(9), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reporter", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("zero_report_id", name=op.f("pk_zero_reports")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_zero_reports_idempotency_key")),
    )
    op.create_index("ix_zero_reports_district_week", "zero_reports", ["district_id", "epiweek"])


def downgrade() -> None:
    op.drop_index("ix_zero_reports_district_week", table_name="zero_reports")
    op.drop_table("zero_reports")
    op.drop_table("weekly_counts_history")
    op.drop_table("reevaluation_queue")
    op.drop_index("ix_possible_duplicates_district", table_name="possible_duplicates")
    op.drop_table("possible_duplicates")
