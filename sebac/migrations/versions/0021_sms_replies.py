"""SMS replies through the outbox: rows without an alert, and a dedup key per inbound message

Revision ID: 0021_sms_replies
Revises: 0020_dhis2_pull
Create Date: 2026-12-07 11:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0021_sms_replies"
down_revision = "0020_dhis2_pull"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notification_outbox") as batch:
        batch.alter_column("alert_id", existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("dedup_key", sa.String(200), nullable=True))
        batch.create_unique_constraint("uq_notification_outbox_dedup_key", ["dedup_key"])
    with op.batch_alter_table("notification_log") as batch:
        batch.alter_column("alert_id", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM notification_log WHERE alert_id IS NULL")
    op.execute("DELETE FROM notification_outbox WHERE alert_id IS NULL")
    with op.batch_alter_table("notification_log") as batch:
        batch.alter_column("alert_id", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("notification_outbox") as batch:
        batch.drop_constraint("uq_notification_outbox_dedup_key", type_="unique")
        batch.drop_column("dedup_key")
        batch.alter_column("alert_id", existing_type=sa.Integer(), nullable=False)
