"""SQL tables of the ingest stage (SQLAlchemy Core). ``metadata`` is shared by every stage.

``reports`` rows are never deleted. ``idempotency_key`` is unique, which makes intake exactly-once
across restarts and API replicas. A row changes only through :func:`ingest.corrections.revise_report`
(revision 0022): a correction replaces its content as a new ``version``, a retraction, a held
possible duplicate or a confirmed duplicate changes its ``state``; the replaced version is kept in
``report_versions``. Every count reads ``state = 'active'`` rows only (:data:`COUNTED`).
"""
from __future__ import annotations

from typing import Any

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
    # revision 0007: covering indexes of the completeness/promptness queries
    sa.Index("ix_reports_received_orgunit", "received_at", "orgunit_id"),
    sa.Index("ix_reports_report_date_orgunit", "report_date", "orgunit_id", "received_at"),
    # revision 0022: corrections, retractions and held cross-channel duplicates
    sa.Column("state", sa.String(12), nullable=False, server_default="active"),  # see REPORT_STATES
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    sa.Column("source_updated_at", sa.String(40)),  # DHIS2's updatedAt of the version stored
)

REPORT_STATES = ("active", "held", "retracted", "duplicate")
COUNTED = reports.c.state == "active"  # the one predicate every count of cases uses

report_versions = sa.Table(
    # Each version a revision replaced (content as it was) and why: nothing is ever physically lost.
    "report_versions",
    metadata,
    sa.Column("report_id", sa.String(36), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("change", sa.String(16), nullable=False),  # corrected | retracted | held | released | duplicate
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("by", sa.String(100)),
    sa.Column("reason", sa.String(200), nullable=False, server_default=""),
    sa.Column("before", sa.JSON, nullable=False),
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

# -- channels, exactly-once and data quality (issue 3) ---------------------------------------------
possible_duplicates = sa.Table(
    # The same content (site, disease, onset, cases) arriving under two idempotency keys within the
    # duplicate window: both reports are kept (never merged silently) and the pair is listed here.
    "possible_duplicates",
    metadata,
    sa.Column("report_id", sa.String(36), primary_key=True),
    sa.Column("duplicate_of", sa.String(36), primary_key=True),
    sa.Column("district_id", sa.String(64), nullable=False),
    sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, server_default="open"),  # open | confirmed | distinct
    sa.Index("ix_possible_duplicates_district", "district_id"),
    # revision 0022: who confirmed or dismissed the pair, and when
    sa.Column("decided_at", sa.DateTime(timezone=True)),
    sa.Column("decided_by", sa.String(100)),
)

reevaluation_queue = sa.Table(
    # (area, disease, epi week) cells that late data changed; detectors pop and re-run them.
    "reevaluation_queue",
    metadata,
    sa.Column("area_id", sa.String(64), primary_key=True),
    sa.Column("disease", sa.String(64), primary_key=True),
    sa.Column("epiweek", sa.String(9), primary_key=True),  # "2026-W45"
    sa.Column("marked_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("reason", sa.String(200), nullable=False),
    sa.Column("report_count", sa.Integer, nullable=False, server_default="1"),
)

weekly_counts_history = sa.Table(
    # Historical weekly counts (before SEBAC or from another system), baselines for the detectors.
    "weekly_counts_history",
    metadata,
    sa.Column("area_id", sa.String(64), primary_key=True),
    sa.Column("disease", sa.String(64), primary_key=True),
    sa.Column("iso_year", sa.Integer, primary_key=True),
    sa.Column("iso_week", sa.Integer, primary_key=True),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("source", sa.String(200)),
    sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
)

zero_reports = sa.Table(
    # "Nothing to report" (RAS / ZERO) for a site and epi week: counts for completeness, not cases.
    "zero_reports",
    metadata,
    sa.Column("zero_report_id", sa.String(36), primary_key=True),
    sa.Column("idempotency_key", sa.String(200), nullable=False, unique=True),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("orgunit_id", sa.String(64), nullable=False),
    sa.Column("health_area_id", sa.String(64), nullable=False),
    sa.Column("district_id", sa.String(64), nullable=False),
    sa.Column("epiweek", sa.String(9), nullable=False),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("reporter", sa.String(64)),
    sa.Index("ix_zero_reports_district_week", "district_id", "epiweek"),
)

weekly_cube = sa.Table(
    # Cases and reports per (org unit, disease, epi week of onset), kept by ingest.cube in the
    # transaction that stores a report; the statistical detectors read their series from it.
    "weekly_cube",
    metadata,
    sa.Column("orgunit_id", sa.String(64), primary_key=True),
    sa.Column("disease", sa.String(64), primary_key=True),
    sa.Column("start_day", sa.SmallInteger, primary_key=True),  # epi week start (0 = Monday, ISO)
    sa.Column("week_start", sa.Date, primary_key=True),
    sa.Column("level", sa.String(16), nullable=False),  # site | health_area | district
    sa.Column("cases", sa.Integer, nullable=False),
    sa.Column("reports", sa.Integer, nullable=False),
    sa.Column("first_onset", sa.Date, nullable=False),  # earliest onset among the cell's reports
    sa.Index("ix_weekly_cube_orgunit_week", "orgunit_id", "start_day", "week_start"),
)


def upsert_into(conn: sa.engine.Connection, table: sa.Table) -> tuple[Any, Any]:
    """``INSERT … ON CONFLICT`` for ``conn``'s dialect (PostgreSQL's or SQLite's: the same interface,
    not one type) and the dialect's two-argument minimum (``least``; SQLite's scalar ``min``)."""
    from sqlalchemy.dialects import postgresql, sqlite

    if conn.dialect.name == "postgresql":
        return postgresql.insert(table), sa.func.least
    return sqlite.insert(table), sa.func.min
