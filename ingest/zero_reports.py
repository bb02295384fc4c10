"""Zero reports ("RAS": nothing to report this week): they count for completeness, not as cases."""
from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ingest.tables import zero_reports


def record_zero_report(conn: Connection, *, idempotency_key: str, channel: str, orgunit_id: str,
                       health_area_id: str, district_id: str, epiweek: str, received_at: dt.datetime,
                       reporter: str | None = None) -> tuple[str, bool]:
    """Store once per idempotency key: returns (zero_report_id, is_new)."""
    found = conn.execute(sa.select(zero_reports.c.zero_report_id).where(
        zero_reports.c.idempotency_key == idempotency_key)).scalar_one_or_none()
    if found:
        return found, False
    zid = str(uuid.uuid4())
    try:
        with conn.begin_nested():
            conn.execute(zero_reports.insert().values(
                zero_report_id=zid, idempotency_key=idempotency_key, channel=channel, orgunit_id=orgunit_id,
                health_area_id=health_area_id, district_id=district_id, epiweek=epiweek,
                received_at=received_at, reporter=reporter))
    except sa.exc.IntegrityError:
        return conn.execute(sa.select(zero_reports.c.zero_report_id).where(
            zero_reports.c.idempotency_key == idempotency_key)).scalar_one(), False
    return zid, True
