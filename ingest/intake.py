"""What ingest records about a report once it is stored: lateness and possible duplicates.

:class:`IntakeRecorder` is called by the pipeline inside the transaction that stored a *new*
report (an exact repeat never reaches it). It is the only place that connects the pure decisions
(:func:`ingest.lateness.assess_lateness`, the duplicate rule) to their tables.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from collections.abc import Sequence

from sqlalchemy.engine import Connection

from ingest.contracts import Report
from ingest.duplicates import record_possible_duplicates
from ingest.lateness import LatenessPolicy, assess_lateness
from ingest.reevaluation import mark_for_reevaluation


@dataclass(frozen=True)
class IntakeNotes:
    late: bool = False
    days_late: int = 0
    epiweek: str | None = None
    possible_duplicate_of: list[str] = field(default_factory=list)


class IntakeRecorder:
    def __init__(self, lateness: LatenessPolicy = LatenessPolicy(),
                 duplicate_window: dt.timedelta = dt.timedelta(days=3)):
        if duplicate_window < dt.timedelta(0):
            raise ValueError("duplicate_window must not be negative")
        self.lateness = lateness
        self.duplicate_window = duplicate_window

    def on_stored(self, conn: Connection, report: Report, now: dt.datetime,
                  pending: Sequence[Report] = (), stored: Sequence[Report] | None = None) -> IntakeNotes:
        """``pending``: reports stored before ``report`` in this batch, not yet in the table;
        ``stored``: the table's reports of its (health area, disease, onset) cell, read already."""
        verdict = assess_lateness(report.onset_date, report.received_at, self.lateness)
        if verdict.late:
            mark_for_reevaluation(conn, report.health_area_id, report.disease, str(verdict.week),
                                  now=now, reason=verdict.reason)
        dups = (record_possible_duplicates(conn, report, self.duplicate_window, now, pending, stored)
                if self.duplicate_window > dt.timedelta(0) else [])
        return IntakeNotes(late=verdict.late, days_late=verdict.days_late, epiweek=str(verdict.week),
                           possible_duplicate_of=dups)
