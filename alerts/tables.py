"""SQL tables of the alerts stage. Events are append-only; ``alerts`` caches the replayed state."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ingest.tables import metadata

ACTIVE_STATUSES = ("open", "acknowledged", "verified", "response")
ACTIVE_SQL = "status IN (" + ", ".join(f"'{s}'" for s in ACTIVE_STATUSES) + ")"

alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("alert_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("dedup_key", sa.String(300), nullable=False),
    sa.Column("disease", sa.String(64), nullable=False),
    sa.Column("orgunit_id", sa.String(64), nullable=False),
    sa.Column("orgunit_level", sa.String(32), nullable=False),
    sa.Column("district_id", sa.String(64), nullable=False),
    sa.Column("region_id", sa.String(64)),
    sa.Column("level", sa.String(32), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("risk", sa.Integer, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("emergence_date", sa.Date, nullable=False),
    sa.Column("cases", sa.Float, nullable=False),
    sa.Column("signal_count", sa.Integer, nullable=False),
    sa.Column("raised_late", sa.Boolean, nullable=False),
    sa.Column("detector", sa.String(64), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    # revision 0005: escalation and the 7-1-7 milestones (*_at / *_by per transition, as Nyss)
    sa.Column("policy_rule", sa.String(64), nullable=False, server_default=""),
    sa.Column("level_since", sa.DateTime(timezone=True)),
    sa.Column("escalate_at", sa.DateTime(timezone=True)),
    sa.Column("acknowledged_at", sa.DateTime(timezone=True)),
    sa.Column("acknowledged_by", sa.String(64)),
    sa.Column("verified_at", sa.DateTime(timezone=True)),
    sa.Column("discarded_at", sa.DateTime(timezone=True)),
    sa.Column("discard_reason", sa.Text),
    sa.Column("response_at", sa.DateTime(timezone=True)),
    sa.Column("closed_at", sa.DateTime(timezone=True)),
    sa.Column("outcome", sa.Text),
    sa.Column("notified_at", sa.DateTime(timezone=True)),
    sa.Column("last_notified_at", sa.DateTime(timezone=True)),
    sa.Index("ix_alerts_dedup_key", "dedup_key"),
    # at most one active alert per dedup key, even with concurrent writers (API replicas, workers)
    sa.Index("uq_alerts_active_dedup_key", "dedup_key", unique=True,
             sqlite_where=sa.text(ACTIVE_SQL), postgresql_where=sa.text(ACTIVE_SQL)),
    sa.Index("ix_alerts_status_risk", "status", "risk"),
    sa.Index("ix_alerts_district", "district_id"),
    sa.Index("ix_alerts_escalate_at", "escalate_at"),
    sa.Index("ix_alerts_disease_orgunit", "disease", "orgunit_id"),
)

alert_events = sa.Table(
    "alert_events",
    metadata,
    sa.Column("event_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("alert_id", sa.Integer, sa.ForeignKey("alerts.alert_id"), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("type", sa.String(32), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("by", sa.String(64), nullable=False),
    sa.Column("level", sa.String(32), nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("data", sa.JSON, nullable=False),
    sa.UniqueConstraint("alert_id", "seq", name="uq_alert_events_alert_seq"),
)

alert_signals = sa.Table(
    "alert_signals",
    metadata,
    sa.Column("signal_id", sa.String(36), primary_key=True),
    sa.Column("alert_id", sa.Integer, sa.ForeignKey("alerts.alert_id"), nullable=False),
    sa.Column("dedup_key", sa.String(300), nullable=False),
    sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Index("ix_alert_signals_alert", "alert_id"),
)

# -- people and credentials --------------------------------------------------------------------------
users = sa.Table(
    "users",
    metadata,
    sa.Column("user_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(200), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("orgunit_id", sa.String(64), nullable=False),
    sa.Column("full_name", sa.String(200)),
    sa.Column("phone", sa.String(32), unique=True),
    sa.Column("email", sa.String(200)),
    sa.Column("lang", sa.String(8), nullable=False, server_default="fr"),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

auth_tokens = sa.Table(
    "auth_tokens",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.user_id"), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("key_id", sa.String(16), primary_key=True),
    sa.Column("key_hash", sa.String(64), nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("orgunit_id", sa.String(64)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
)

# -- notifications -----------------------------------------------------------------------------------
subscriptions = sa.Table(
    "subscriptions",
    metadata,
    sa.Column("subscription_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("orgunit_id", sa.String(64), nullable=False),
    sa.Column("disease", sa.String(64)),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("address", sa.String(500), nullable=False),
    sa.Column("lang", sa.String(8), nullable=False, server_default="fr"),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.user_id")),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Index("ix_subscriptions_orgunit", "orgunit_id"),
)

notification_outbox = sa.Table(
    "notification_outbox",
    metadata,
    sa.Column("outbox_id", sa.Integer, primary_key=True, autoincrement=True),
    # NULL for a reply to an inbound SMS (alerts.sms_replies); dedup_key: one reply per inbound message
    sa.Column("alert_id", sa.Integer, sa.ForeignKey("alerts.alert_id"), nullable=True),
    sa.Column("subscription_id", sa.Integer, sa.ForeignKey("subscriptions.subscription_id")),
    sa.Column("dedup_key", sa.String(200), unique=True),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("address", sa.String(500), nullable=False),
    sa.Column("lang", sa.String(8), nullable=False),
    sa.Column("reason", sa.String(16), nullable=False),
    sa.Column("level", sa.String(32), nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("sent_at", sa.DateTime(timezone=True)),
    sa.Index("ix_notification_outbox_due", "status", "next_attempt_at"),
)

notification_log = sa.Table(
    "notification_log",
    metadata,
    sa.Column("log_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("outbox_id", sa.Integer, sa.ForeignKey("notification_outbox.outbox_id"), nullable=False),
    sa.Column("alert_id", sa.Integer, nullable=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("event", sa.String(16), nullable=False),
    sa.Column("reason", sa.String(16), nullable=False),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("detail", sa.Text),
    sa.Index("ix_notification_log_alert", "alert_id"),
)


def inserted_id(result: sa.CursorResult[Any]) -> int:
    """The integer primary key of the one row an ``INSERT … VALUES`` added."""
    key = result.inserted_primary_key
    if key is None:  # an INSERT of one row on a table with a primary key always has one
        raise RuntimeError("the INSERT returned no primary key")
    return int(key[0])
