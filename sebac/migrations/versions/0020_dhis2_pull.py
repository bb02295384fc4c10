"""DHIS2 pull: the updatedAfter cursor per server and program

Revision ID: 0020_dhis2_pull
Revises: 0018_login_failures
Create Date: 2026-11-24 09:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = "0020_dhis2_pull"
down_revision = "0018_login_failures"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dhis2_pull_cursors",
        sa.Column("server", sa.String(300), nullable=False),
        sa.Column("program", sa.String(64), nullable=False),
        sa.Column("updated_after", sa.String(40), nullable=False),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("server", "program", name="pk_dhis2_pull_cursors"),
    )


def downgrade() -> None:
    op.drop_table("dhis2_pull_cursors")
