"""SQL tables of the ingest stage (SQLAlchemy Core). ``metadata`` is shared by every stage.

``reports`` is append-only: rows are inserted, never updated or deleted. ``idempotency_key`` is
unique, which makes intake exactly-once across restarts and API replicas.
"""
from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

reports = sa.Table(
    "reports",
    metadata,
    sa.Column("report_id", sa.String(36), primary_key=True),
    sa.Column("idempotency_key", sa.String(200), nullable=False, unique=True),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("orgunit_id", sa.String(64), nullable=False),
    sa.Column("health_area_id", sa.String(64), nullable=False),
    sa.Column("district_id", sa.String(64), nullable=False),
    sa.Column("disease", sa.String(64), nullable=False),
    sa.Column("cases", sa.Integer, nullable=False),
    sa.Column("deaths", sa.Integer, nullable=False, server_default="0"),
    sa.Column("sex", sa.String(1), nullable=False, server_default="U"),
    sa.Column("age_group", sa.String(4), nullable=False, server_default="U"),
    sa.Column("onset_date", sa.Date, nullable=False),
    sa.Column("report_date", sa.Date, nullable=False),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("reporter", sa.String(64)),
    sa.Column("text", sa.Text),
    sa.Index("ix_reports_area_disease_onset", "health_area_id", "disease", "onset_date"),
    sa.Index("ix_reports_district_disease_onset", "district_id", "disease", "onset_date"),
    sa.Index("ix_reports_received_at", "received_at"),
)

rejected_items = sa.Table(
    "rejected_items",
    metadata,
    sa.Column("rejected_id", sa.String(36), primary_key=True),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("raw", sa.Text, nullable=False),
    sa.Column("errors", sa.JSON, nullable=False),
    sa.Column("idempotency_key", sa.String(200)),
    sa.Column("status", sa.String(16), nullable=False, server_default="rejected"),
    sa.Column("reprocessed_at", sa.DateTime(timezone=True)),
    sa.Column("report_id", sa.String(36)),
    sa.Index("ix_rejected_items_status", "status"),
)
