"""Tracker import jobs (``POST /api/tracker?async=true``), kept in ``dhis2_tracker_jobs`` (migration
``0022_dhis2_corrections``) so that any API process can answer ``GET /api/tracker/jobs/{id}`` and
``/report`` — DHIS2 keeps them in memory, which a restart loses; a table does not.

A job id is a DHIS2 UID (11 characters, a letter then letters and digits). Status: RUNNING, then
COMPLETED (with the import report) or FAILED (the import broke: the report says so). The job
notifications answer in DHIS2's shape, newest first: ``{uid, level, category: TRACKER_IMPORT_JOB,
time, message, completed, id}``.
"""
from __future__ import annotations

import datetime as dt
import secrets
import string
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ingest.tables import metadata

dhis2_tracker_jobs = sa.Table(
    "dhis2_tracker_jobs",
    metadata,
    sa.Column("job_id", sa.String(11), primary_key=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("completed_at", sa.DateTime(timezone=True)),
    sa.Column("status", sa.String(12), nullable=False),  # RUNNING | COMPLETED | FAILED
    sa.Column("params", sa.JSON, nullable=False),
    sa.Column("submitted_by", sa.String(100), nullable=False),
    sa.Column("report", sa.JSON),
    sa.Index("ix_dhis2_tracker_jobs_created_at", "created_at"),
)
_ALNUM = string.ascii_letters + string.digits


def new_uid() -> str:
    """A DHIS2-style UID: a letter, then 10 letters or digits."""
    return secrets.choice(string.ascii_letters) + "".join(secrets.choice(_ALNUM) for _ in range(10))


@dataclass(frozen=True)
class TrackerJob:
    job_id: str
    created_at: dt.datetime
    completed_at: dt.datetime | None
    status: str
    params: dict[str, Any]
    submitted_by: str
    report: dict[str, Any] | None

    @property
    def done(self) -> bool:
        return self.status != "RUNNING"


def _utc(v: dt.datetime | None) -> dt.datetime | None:
    return v if v is None or v.tzinfo else v.replace(tzinfo=dt.UTC)


def create_job(conn: Connection, params: dict[str, Any], submitted_by: str, now: dt.datetime) -> str:
    job_id = new_uid()
    conn.execute(dhis2_tracker_jobs.insert().values(job_id=job_id, created_at=now, status="RUNNING",
                                                    params=params, submitted_by=submitted_by[:100]))
    return job_id


def finish_job(conn: Connection, job_id: str, report: dict[str, Any], now: dt.datetime, *,
               failed: bool = False) -> None:
    conn.execute(dhis2_tracker_jobs.update().where(dhis2_tracker_jobs.c.job_id == job_id).values(
        status="FAILED" if failed else "COMPLETED", completed_at=now, report=report))


def get_job(conn: Connection, job_id: str) -> TrackerJob | None:
    row = conn.execute(sa.select(dhis2_tracker_jobs).where(dhis2_tracker_jobs.c.job_id == job_id)).first()
    if row is None:
        return None
    d = dict(row._mapping)
    d["created_at"], d["completed_at"] = _utc(d["created_at"]), _utc(d["completed_at"])
    return TrackerJob(**d)


def _time(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}"


def notifications(job: TrackerJob) -> list[dict[str, Any]]:
    """The job's log as ``GET /api/tracker/jobs/{id}`` answers it (newest first)."""
    base = {"level": "INFO", "category": "TRACKER_IMPORT_JOB"}
    out = []
    if job.done and job.completed_at is not None:
        message = (job.report or {}).get("message") or f"Import {job.status.lower()}"
        out.append(base | {"uid": job.job_id, "id": job.job_id, "time": _time(job.completed_at),
                           "message": message, "completed": True,
                           "level": "ERROR" if job.status == "FAILED" else "INFO"})
    start_id = job.job_id[:1] + job.job_id[:0:-1]  # a stable second id for the start entry
    out.append(base | {"uid": start_id, "id": start_id, "time": _time(job.created_at),
                       "message": "Tracker import started", "completed": False, "dataType": "PARAMETERS",
                       "data": job.params})
    return out


def purge_jobs(conn: Connection, before: dt.datetime) -> int:
    """Forget finished jobs created before ``before`` (their reports are answered until then)."""
    t = dhis2_tracker_jobs
    return conn.execute(t.delete().where(t.c.created_at < before, t.c.status != "RUNNING")).rowcount
