"""What the routers, the console and the commands receive from composition: :class:`Services`.

Composition (``sebac.engine``) builds one object that satisfies :class:`Services` — the embedded
pipeline (``sebac.pipeline.Pipeline``) or the scale-out one that publishes to the broker
(``sebac.streaming.ingest.StreamingPipeline``) — and puts it on ``app.state.pipeline``; its
settings go to ``app.state.settings`` (:class:`ApiSettings`). These are structural types
(``typing.Protocol``): the API names what it uses without importing the composition layer above it.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import sqlalchemy as sa

from alerts.contracts import Alert
from alerts.repository import AlertRepository
from alerts.service import AlertService
from detectors.contracts import Signal
from detectors.stage import DetectionStage
from ingest.clock import Clock
from ingest.contracts import Channel, Report
from ingest.diseases import DiseaseCatalogue
from ingest.errors import ErrorDetail
from ingest.intake import IntakeNotes, IntakeRecorder
from ingest.pyramid import Pyramid
from ingest.repository import RejectedRepository, ReportRepository
from ingest.validation import Limits


class Submitted(Protocol):
    """The outcome of one submitted item: ``accepted``, ``duplicate`` or ``rejected``."""

    @property
    def status(self) -> str: ...
    @property
    def report(self) -> Report | None: ...
    @property
    def errors(self) -> list[ErrorDetail]: ...
    @property
    def rejected_id(self) -> str | None: ...
    @property
    def alerts(self) -> list[Alert]: ...
    @property
    def notes(self) -> IntakeNotes | None: ...


class Revised(Protocol):
    """The outcome of a revision (correction, retraction, duplicate decision) followed through."""

    @property
    def revision(self) -> Any: ...  # ingest.corrections.Revision, or None when nothing changed
    @property
    def alerts(self) -> list[Alert]: ...
    @property
    def noted_alert_ids(self) -> list[int]: ...


class Services(Protocol):
    """The database, the reference data, the clocks, the repositories and the stages, and the
    ingest entry points (validate → store → detect → alert, or validate → publish)."""

    @property
    def db(self) -> sa.Engine: ...
    @property
    def pyramid(self) -> Pyramid: ...
    @property
    def diseases(self) -> DiseaseCatalogue: ...
    @property
    def clock(self) -> Clock: ...  # the reports' clock
    @property
    def alert_clock(self) -> Clock: ...  # alerts, escalation deadlines and logins (the wall clock in the demo)
    @property
    def limits(self) -> Limits: ...
    @property
    def start_day(self) -> int: ...  # first day of the epi week, 0 = Monday
    @property
    def reports(self) -> ReportRepository: ...
    @property
    def rejected(self) -> RejectedRepository: ...
    @property
    def alerts(self) -> AlertRepository: ...
    @property
    def detection(self) -> DetectionStage: ...
    @property
    def alerting(self) -> AlertService: ...
    @property
    def intake(self) -> IntakeRecorder: ...

    def submit(self, payload: Any, channel: Channel = ..., idempotency_key: str | None = None) -> Submitted: ...

    def submit_many(self, items: Sequence[tuple[Any, str | None]], channel: Channel = ...) -> Sequence[Submitted]:
        """Items in one transaction, each answered as :meth:`submit` alone would answer it."""
        ...

    def accept(self, report: Report) -> Submitted: ...

    def reject(self, channel: Channel, raw: Any, errors: list[ErrorDetail],
               idempotency_key: str | None = None) -> Submitted: ...

    def revise(self, report_id: str, change: str, *, content: Report | None = None,
               source_updated_at: str | None = None, by: str | None = None, reason: str = "") -> Revised: ...

    def decide_duplicate(self, report_id: str, duplicate_of: str, decision: str, *, by: str) -> Revised: ...

    def detect(self, conn: sa.Connection, report: Report) -> list[Signal]: ...

    def apply_signal(self, conn: sa.Connection, signal: Signal) -> Alert: ...


class ApiSettings(Protocol):
    """The settings the API and the console read (``sebac.settings.Settings`` has them all)."""

    @property
    def environment(self) -> str: ...
    @property
    def max_body_bytes(self) -> int: ...
    @property
    def max_batch_items(self) -> int: ...
    @property
    def auth_token_hours(self) -> float: ...
    @property
    def silent_after_days(self) -> int: ...
    @property
    def promptness_deadline_days(self) -> int: ...
    @property
    def sms_replies(self) -> str: ...

    def secret_values(self) -> list[str]: ...
