"""What ingest records about a report once it is stored: lateness and possible duplicates.

:class:`IntakeRecorder` is called by the pipeline inside the transaction that stored a *new*
report (an exact repeat never reaches it). It is the only place that connects the pure decisions
(:func:`ingest.lateness.assess_lateness`, the duplicate rules) to their tables. A cross-channel
possible duplicate (:func:`ingest.duplicates.find_cross_channel`) is held out of the counts: the
notes say ``held`` and the caller skips detection for it.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from collections.abc import Sequence

from sqlalchemy.engine import Connection

from ingest.contracts import Report
from ingest.corrections import revise_report
from ingest.duplicates import find_cross_channel, record_possible_duplicates
from ingest.lateness import LatenessPolicy, assess_lateness
from ingest.reevaluation import mark_for_reevaluation


@dataclass(frozen=True)
class IntakeNotes:
    late: bool = False
    days_late: int = 0
    epiweek: str | None = None
    possible_duplicate_of: list[str] = field(default_factory=list)
    held: bool = False  # a cross-channel possible duplicate, out of the counts until decided


class IntakeRecorder:
    def __init__(self, lateness: LatenessPolicy = LatenessPolicy(),
                 duplicate_window: dt.timedelta = dt.timedelta(days=3)):
        if duplicate_window < dt.timedelta(0):
            raise ValueError("duplicate_window must not be negative")
        self.lateness = lateness
        self.duplicate_window = duplicate_window

    def cross_channel_of(self, conn: Connection, report: Report, pending: Sequence[Report] = ()) -> list[str]:
        """The reports a new ``report`` is a cross-channel possible duplicate of (it will be held
        when it counts); ``pending``: reports of this batch not yet in the table."""
        if self.duplicate_window <= dt.timedelta(0):
            return []
        return find_cross_channel(conn, report, self.duplicate_window, pending)

    def on_stored(self, conn: Connection, report: Report, now: dt.datetime,
                  pending: Sequence[Report] = (), stored: Sequence[Report] | None = None,
                  cross: Sequence[str] | None = None,
                  marks: dict[tuple[str, str, str], tuple[str, int]] | None = None) -> IntakeNotes:
        """``pending``: reports stored before ``report`` in this batch, not yet in the table;
        ``stored``: the table's reports of its (health area, disease, onset) cell, read already;
        ``cross``: :meth:`cross_channel_of` when the caller asked it already. A report to be held
        must be in the table (its row is revised). ``marks``: a late report's re-evaluation mark is
        counted there, for the caller to write with :func:`~ingest.reevaluation.mark_many` (a batch
        whose marks nobody pops before it ends), instead of queued now."""
        verdict = assess_lateness(report.onset_date, report.received_at, self.lateness)
        if verdict.late and marks is not None:
            cell = (report.health_area_id, report.disease, str(verdict.week))
            reason, n = marks.get(cell, (verdict.reason, 0))
            marks[cell] = (reason, n + 1)
        elif verdict.late:
            mark_for_reevaluation(conn, report.health_area_id, report.disease, str(verdict.week),
                                  now=now, reason=verdict.reason)
        dups, held = [], False
        if self.duplicate_window > dt.timedelta(0):
            cross = self.cross_channel_of(conn, report, pending) if cross is None else list(cross)
            dups = record_possible_duplicates(conn, report, self.duplicate_window, now, pending, stored, cross)
            if cross and report.counted:
                revise_report(conn, report.report_id, "held", now=now, by="system",
                              reason=f"possible duplicate of {cross[0]} (other channel)",
                              epiweek_start_day=self.lateness.epiweek_start_day)
                held = True
        return IntakeNotes(late=verdict.late, days_late=verdict.days_late, epiweek=str(verdict.week),
                           possible_duplicate_of=dups, held=held)
