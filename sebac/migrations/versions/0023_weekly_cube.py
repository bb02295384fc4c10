"""Weekly cube: cases per (org unit, disease, epi week) at site, health area and district level

Revision ID: 0023_weekly_cube
Revises: 0022_dhis2_corrections
Create Date: 2026-12-07 11:00:00

Filled from the counted (active) reports already stored (ISO weeks, start_day 0); ingest.cube keeps it from then on.
"""
from alembic import op
import sqlalchemy as sa


revision = "0023_weekly_cube"
down_revision = "0022_dhis2_corrections"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "weekly_cube",
        sa.Column("orgunit_id", sa.String(64), nullable=False),
        sa.Column("disease", sa.String(64), nullable=False),
        sa.Column("start_day", sa.SmallInteger, nullable=False),
        sa.Column("week_start", sa.Date, nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("cases", sa.Integer, nullable=False),
        sa.Column("reports", sa.Integer, nullable=False),
        sa.Column("first_onset", sa.Date, nullable=False),
        sa.PrimaryKeyConstraint("orgunit_id", "disease", "start_day", "week_start", name="pk_weekly_cube"),
    )
    op.create_index("ix_weekly_cube_orgunit_week", "weekly_cube", ["orgunit_id", "start_day", "week_start"])
    _fill(op.get_bind())


def _fill(conn) -> None:
    """The cube of the reports already stored (ISO weeks), folded here so this revision never changes
    with the application code (ingest.cube.rebuild_cube does the same for any start day)."""
    import datetime as dt

    rows = conn.execute(sa.text(
        "SELECT orgunit_id, health_area_id, district_id, disease, onset_date, SUM(cases), COUNT(*) "
        "FROM reports WHERE state = 'active' GROUP BY orgunit_id, health_area_id, district_id, disease, onset_date")).all()
    cells: dict = {}
    for orgunit, area, district, disease, onset, cases, n in rows:
        onset = onset if isinstance(onset, dt.date) else dt.date.fromisoformat(str(onset)[:10])
        week = onset - dt.timedelta(days=onset.weekday())
        units = {district: "district", area: "health_area"}
        units.setdefault(orgunit, "site")
        for unit, level in units.items():
            c = cells.setdefault((unit, disease, week), [level, 0, 0, onset])
            c[1] += int(cases or 0)
            c[2] += int(n)
            c[3] = min(c[3], onset)
    if cells:
        table = sa.table("weekly_cube", *(sa.column(c) for c in (
            "orgunit_id", "disease", "start_day", "week_start", "level", "cases", "reports", "first_onset")))
        conn.execute(table.insert(), [{"orgunit_id": u, "disease": d, "start_day": 0, "week_start": w,
                                       "level": c[0], "cases": c[1], "reports": c[2], "first_onset": c[3]}
                                      for (u, d, w), c in cells.items()])


def downgrade() -> None:
    op.drop_index("ix_weekly_cube_orgunit_week", table_name="weekly_cube")
    op.drop_table("weekly_cube")
