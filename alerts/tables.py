"""SQL tables of the alerts stage. Events are append-only; ``alerts`` caches the replayed state."""
from __future__ import annotations

import sqlalchemy as sa

from ingest.tables import metadata

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
    sa.Index("ix_alerts_dedup_key", "dedup_key"),
    sa.Index("ix_alerts_status_risk", "status", "risk"),
    sa.Index("ix_alerts_district", "district_id"),
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
