"""The embedded pipeline: ingest → case-definition rules → alerts, in process, in one transaction.

This is composition only: each stage lives in its package (``ingest.validation`` and the
repositories, ``detectors.stage.DetectionStage``, ``alerts.service.AlertService``); the pipeline
passes values from one to the next inside one database transaction per report.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass, field
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from alerts.contracts import Alert
from alerts.repository import AlertRepository
from alerts.service import AlertService
from detectors.contracts import Signal
from detectors.stage import DetectionStage
from ingest.clock import Clock, SystemClock
from ingest.contracts import Channel, Report
from ingest.diseases import DiseaseCatalogue
from ingest.duplicates import stored_same_cells
from ingest.errors import ErrorDetail, ValidationFailed
from ingest.intake import IntakeNotes, IntakeRecorder
from ingest.lateness import LatenessPolicy
from ingest.metrics import (observe_report_duplicate, observe_report_received, observe_report_rejected,
                            observe_report_revised)
from ingest.pyramid import Pyramid
from ingest.reevaluation import mark_many
from ingest.repository import RejectedRepository, ReportRepository
from ingest.validation import Limits, validate_report
from sebac.metrics import observe_report_processed, precreate_all

log = logging.getLogger("sebac.pipeline")


def cell_key(report: Report) -> tuple[str, str, dt.date]:
    return report.health_area_id, report.disease, report.onset_date


@dataclass
class SubmitResult:
    status: str  # accepted | duplicate | rejected
    report: Report | None = None
    errors: list[ErrorDetail] = field(default_factory=list)
    rejected_id: str | None = None
    alerts: list[Alert] = field(default_factory=list)
    notes: IntakeNotes | None = None  # lateness and possible duplicates of a new report


@dataclass
class RevisionResult:
    revision: Any  # ingest.corrections.Revision, or None when nothing changed in the counts
    alerts: list[Alert] = field(default_factory=list)
    noted_alert_ids: list[int] = field(default_factory=list)  # alerts whose timeline says so


class Pipeline:
    def __init__(self, db: sa.Engine, pyramid: Pyramid, diseases: DiseaseCatalogue, *,
                 clock: Clock | None = None, limits: Limits = Limits(), epiweek_start_day: int = 0,
                 intake: IntakeRecorder | None = None, detection: DetectionStage | None = None,
                 alert_clock: Clock | None = None):
        self.db = db
        self.pyramid = pyramid
        self.diseases = diseases
        self.clock = clock or SystemClock()
        # alerts, escalation deadlines and people's logins run on this clock; the demo replays a week
        # of reports on a fast catch-up clock but keeps this one on the wall clock, so that a 5-minute
        # acknowledgement deadline lasts 5 minutes for the person watching
        self.alert_clock = alert_clock or self.clock
        self.limits = limits
        self.start_day = epiweek_start_day
        self.reports = ReportRepository(epiweek_start_day)
        self.rejected = RejectedRepository()
        self.alerts = AlertRepository()
        # the composition passes the stage built from settings; the shipped rules/detectors otherwise
        self.detection = detection or DetectionStage(pyramid, diseases, epiweek_start_day=epiweek_start_day)
        self.alerting = AlertService(pyramid, self.alerts, diseases=diseases)
        precreate_all(pyramid, diseases.codes())  # every counter starts at 0 for every known label set
        self.intake = intake or IntakeRecorder(LatenessPolicy(epiweek_start_day=epiweek_start_day))

    # -- ingest ------------------------------------------------------------------------------
    def reject(self, channel: Channel, raw: Any, errors: list[ErrorDetail],
               idempotency_key: str | None = None) -> SubmitResult:
        """Keep a bad item with its reasons; nothing is dropped silently."""
        text = raw if isinstance(raw, (str, bytes)) else json.dumps(raw, default=str, ensure_ascii=False)
        with self.db.begin() as conn:
            item = self.rejected.insert(conn, channel=channel, raw=text, errors=errors,
                                        now=self.clock.now(), idempotency_key=idempotency_key)
        observe_report_rejected(channel, (e.key for e in errors))
        log.info("rejected %s item: %s", channel.value, ", ".join(e.key for e in errors))
        return SubmitResult("rejected", errors=errors, rejected_id=item.rejected_id)

    def submit(self, payload: Any, channel: Channel = Channel.http,
               idempotency_key: str | None = None) -> SubmitResult:
        now = self.clock.now()
        try:
            report = validate_report(payload, channel=channel, pyramid=self.pyramid, diseases=self.diseases,
                                     now=now, limits=self.limits, idempotency_key=idempotency_key)
        except ValidationFailed as exc:
            return self.reject(channel, payload, exc.errors, idempotency_key)
        return self.accept(report)

    def accept(self, report: Report) -> SubmitResult:
        with self.db.begin() as conn:
            stored, is_new = self.reports.insert(conn, report)
            if not is_new:
                observe_report_duplicate(report, self.pyramid)
                return SubmitResult("duplicate", report=stored)
            notes = self.intake.on_stored(conn, stored, self.clock.now())
            if notes.held:  # a cross-channel possible duplicate: out of the counts until decided
                stored = self.reports.get(conn, stored.report_id) or stored
            raised = [self.apply_signal(conn, s) for s in self.detect(conn, stored)] if stored.counted else []
        observe_report_received(stored, self.pyramid)
        observe_report_processed(stored.received_at, self.clock.now())
        log.info("report %s: %d %s at %s (onset %s)", stored.report_id[:8], stored.cases, stored.disease,
                 stored.orgunit_id, stored.onset_date)
        return SubmitResult("accepted", report=stored, alerts=raised, notes=notes)

    def submit_many(self, items: Sequence[tuple[Any, str | None]], channel: Channel = Channel.http
                    ) -> list[SubmitResult]:
        """``(payload, idempotency_key)`` items in one transaction: each gets exactly what
        :meth:`submit` would give it had the items come one by one at this instant (rows and cube
        written once at the end, see :mod:`detectors.session`). Bad items are kept as rejected."""
        now = self.clock.now()
        results: list[SubmitResult | None] = []
        valid: list[tuple[int, Report]] = []
        for payload, key in items:
            try:
                valid.append((len(results), validate_report(payload, channel=channel, pyramid=self.pyramid,
                                                             diseases=self.diseases, now=now, limits=self.limits,
                                                             idempotency_key=key)))
                results.append(None)
            except ValidationFailed as exc:
                results.append(self.reject(channel, payload, exc.errors, key))
        try:
            for (i, _), res in zip(valid, self.accept_many([r for _, r in valid], now)):
                results[i] = res
        except sa.exc.IntegrityError:  # a concurrent writer stored one of the keys first: one by one
            for i, report in valid:
                results[i] = self.accept(report)
        return results  # type: ignore[return-value]

    def accept_many(self, batch: Sequence[Report], now: dt.datetime | None = None) -> list[SubmitResult]:
        """Validated reports in one transaction, in order, each as :meth:`accept` alone (module
        :mod:`detectors.session`); raises IntegrityError when a key was stored concurrently."""
        now = now or self.clock.now()
        out: list[SubmitResult] = []
        new: list[Report] = []
        with self.db.begin() as conn, self.alerting.held(conn):
            known = self.reports.known_keys(conn, (r.idempotency_key for r in batch))
            fresh = len({r.idempotency_key for r in batch} - set(known))  # the reports that will be detected
            session = self.detection.session(conn, now, expected=fresh)
            same_cell: dict[tuple[str, str, dt.date], list[Report]] = {}
            stored_cells = stored_same_cells(conn, batch) if self.intake.duplicate_window > dt.timedelta(0) else {}
            marks: dict[tuple[str, str, str], tuple[str, int]] | None = None if session.pops_per_report else {}
            for report in batch:
                stored = known.get(report.idempotency_key)
                if stored is not None:
                    out.append(SubmitResult("duplicate", report=stored))
                    continue
                known[report.idempotency_key] = report
                key = cell_key(report)
                cell = same_cell.setdefault(key, [])
                cross = self.intake.cross_channel_of(conn, report, new)
                hold = bool(cross) and report.counted
                if hold:  # its row is revised: write the rows so far and store this one now
                    self.reports.insert_many(conn, new)
                    new = []
                    session.written()
                    self.reports.insert(conn, report)
                notes = self.intake.on_stored(conn, report, now, pending=cell, stored=stored_cells.get(key, []),
                                              cross=cross, marks=marks)
                if hold:  # out of the counts until decided: no detection, as one by one
                    held = self.reports.get(conn, report.report_id) or report
                    cell.append(held)
                    out.append(SubmitResult("accepted", report=held, notes=notes))
                    continue
                cell.append(report)
                new.append(report)
                session.add(report)
                raised = [self.apply_signal(conn, s, fresh=True) for s in session.on_report(report)]
                out.append(SubmitResult("accepted", report=report, alerts=raised, notes=notes))
            self.reports.insert_many(conn, new)
            mark_many(conn, marks or {}, now=now)
        for res in out:
            assert res.report is not None  # accepted or duplicate: both name their report
            if res.status == "duplicate":
                observe_report_duplicate(res.report, self.pyramid)
            else:
                observe_report_received(res.report, self.pyramid)
                observe_report_processed(res.report.received_at, self.clock.now())
        return out

    # -- revisions: corrections, retractions, duplicate decisions ----------------------------
    def revise(self, report_id: str, change: str, *, content: Report | None = None,
               source_updated_at: str | None = None, by: str | None = None, reason: str = "") -> RevisionResult:
        """Revise a stored report (:func:`ingest.corrections.revise_report`) and follow it through in
        the same transaction: a corrected, counted report is evaluated again as a new one would be
        (its new cases may cross a threshold now), and the alerts that used it note the change."""
        from ingest.corrections import revise_report

        with self.db.begin() as conn:
            revision = revise_report(conn, report_id, change, now=self.clock.now(), content=content,
                                     source_updated_at=source_updated_at, by=by, reason=reason,
                                     epiweek_start_day=self.start_day)
            return self._follow(conn, revision)

    def decide_duplicate(self, report_id: str, duplicate_of: str, decision: str, *, by: str) -> RevisionResult:
        """Confirm or dismiss a possible-duplicate pair (:func:`ingest.duplicates.decide_possible_duplicate`)."""
        from ingest.duplicates import decide_possible_duplicate

        with self.db.begin() as conn:
            revision = decide_possible_duplicate(conn, report_id, duplicate_of, decision, by=by,
                                                 now=self.clock.now(), epiweek_start_day=self.start_day)
            return self._follow(conn, revision) if revision is not None else RevisionResult(None)

    def _follow(self, conn: sa.Connection, revision: Any) -> RevisionResult:
        after = revision.after
        raised = []
        if revision.counts_changed and after.counted and revision.change in ("corrected", "released"):
            raised = [self.apply_signal(conn, s) for s in self.detect(conn, after)]
        noted = self.alerting.note_revision(conn, revision, self.alert_clock.now())
        observe_report_revised(revision.change)
        log.info("report %s %s (version %d): %d → %d case(s)", after.report_id[:8], revision.change,
                 after.version, revision.before.cases, after.cases)
        return RevisionResult(revision, alerts=raised, noted_alert_ids=noted)

    # -- detectors and alerts --------------------------------------------------------------
    def detect(self, conn: sa.Connection, report: Report) -> list[Signal]:
        return self.detection.on_report(conn, report, self.clock.now())

    def apply_signal(self, conn: sa.Connection, signal: Signal, fresh: bool = False) -> Alert:
        return self.alerting.on_signal(conn, signal, self.alert_clock.now(), fresh=fresh)
