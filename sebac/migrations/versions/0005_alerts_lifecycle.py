"""alerts: lifecycle/escalation/7-1-7 columns; users, tokens, API keys; subscriptions, outbox, log

Revision ID: 0005_alerts
Revises: 0001
"""
from typing import Any

from alembic import op

import sqlalchemy as sa

revision = "0005_alerts"
down_revision = "0001"
branch_labels = ("alerts",)
depends_on = None

_TS = sa.DateTime(timezone=True)
_NEW_ALERT_COLUMNS: tuple[tuple[str, Any, dict[str, Any]], ...] = (
    ("policy_rule", sa.String(64), dict(nullable=False, server_default="")),
    ("level_since", _TS, {}), ("escalate_at", _TS, {}), ("acknowledged_at", _TS, {}),
    ("acknowledged_by", sa.String(64), {}), ("verified_at", _TS, {}), ("discarded_at", _TS, {}),
    ("discard_reason", sa.Text(), {}), ("response_at", _TS, {}), ("closed_at", _TS, {}),
    ("outcome", sa.Text(), {}), ("notified_at", _TS, {}), ("last_notified_at", _TS, {}),
)


def upgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        for name, type_, kw in _NEW_ALERT_COLUMNS:
            batch.add_column(sa.Column(name, type_, **kw))
        batch.create_index("ix_alerts_escalate_at", ["escalate_at"])
        batch.create_index("ix_alerts_disease_orgunit", ["disease", "orgunit_id"])

    op.create_table(
        "users",
        sa.Column("user_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("orgunit_id", sa.String(64), nullable=False),
        sa.Column("full_name", sa.String(200)),
        sa.Column("phone", sa.String(32)),
        sa.Column("email", sa.String(200)),
        sa.Column("lang", sa.String(8), server_default="fr", nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
        sa.UniqueConstraint("phone", name=op.f("uq_users_phone")),
    )
    op.create_table(
        "auth_tokens",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.Column("revoked_at", _TS),
        sa.ForeignKeyConstraint(["user_id"], ["users.user_id"], name=op.f("fk_auth_tokens_user_id_users")),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_auth_tokens")),
    )
    op.create_table(
        "api_keys",
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("orgunit_id", sa.String(64)),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("revoked_at", _TS),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_api_keys")),
    )
    op.create_table(
        "subscriptions",
        sa.Column("subscription_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("orgunit_id", sa.String(64), nullable=False),
        sa.Column("disease", sa.String(64)),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("address", sa.String(500), nullable=False),
        sa.Column("lang", sa.String(8), server_default="fr", nullable=False),
        sa.Column("user_id", sa.Integer()),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.user_id"], name=op.f("fk_subscriptions_user_id_users")),
        sa.PrimaryKeyConstraint("subscription_id", name=op.f("pk_subscriptions")),
    )
    op.create_index("ix_subscriptions_orgunit", "subscriptions", ["orgunit_id"])
    op.create_table(
        "notification_outbox",
        sa.Column("outbox_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer()),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("address", sa.String(500), nullable=False),
        sa.Column("lang", sa.String(8), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("level", sa.String(32), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", _TS, nullable=False),
        sa.Column("last_error", sa.Text()),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("sent_at", _TS),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.alert_id"],
                                name=op.f("fk_notification_outbox_alert_id_alerts")),
        sa.ForeignKeyConstraint(["subscription_id"], ["subscriptions.subscription_id"],
                                name=op.f("fk_notification_outbox_subscription_id_subscriptions")),
        sa.PrimaryKeyConstraint("outbox_id", name=op.f("pk_notification_outbox")),
    )
    op.create_index("ix_notification_outbox_due", "notification_outbox", ["status", "next_attempt_at"])
    op.create_table(
        "notification_log",
        sa.Column("log_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text()),
        sa.ForeignKeyConstraint(["outbox_id"], ["notification_outbox.outbox_id"],
                                name=op.f("fk_notification_log_outbox_id_notification_outbox")),
        sa.PrimaryKeyConstraint("log_id", name=op.f("pk_notification_log")),
    )
    op.create_index("ix_notification_log_alert", "notification_log", ["alert_id"])


def downgrade() -> None:
    for table in ("notification_log", "notification_outbox", "subscriptions", "api_keys", "auth_tokens", "users"):
        op.drop_table(table)
    with op.batch_alter_table("alerts") as batch:
        batch.drop_index("ix_alerts_disease_orgunit")
        batch.drop_index("ix_alerts_escalate_at")
        for name, _, _ in reversed(_NEW_ALERT_COLUMNS):
            batch.drop_column(name)
