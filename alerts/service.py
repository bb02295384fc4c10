"""The alerts stage: signals in (open, merge, suppress), user actions, and scheduled escalation.

Every method works inside the caller's transaction and writes, together: the alert row (a cache),
its events (append-only), and the notifications it causes (outbox). The decisions themselves are
pure functions in :mod:`alerts.intake`, :mod:`alerts.lifecycle` and :mod:`alerts.escalation`.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Iterator
from typing import Any

import pydantic
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from alerts.contracts import Alert, AlertEvent
from alerts.assessment import Assessment
from alerts.escalation import plan_direct, plan_manual, plan_take_over, plan_timeouts, repeat_due
from alerts.intake import alert_dedup_key, in_cooldown, merge_signal, open_alert, suppressed_event
from alerts.lifecycle import ACTIONS, ACTIVE, Actor, check, reduce, transition
from alerts.metrics import (observe_acknowledged, observe_alert_raised, observe_closed, observe_escalation,
                            observe_signal_merged, observe_verified)
from alerts.notify import Notifier
from alerts.policy import Decision, EscalationPolicy, load_policy
from alerts.repository import AlertRepository
from alerts.tables import alert_events, alert_signals
from alerts.users import User, authorize_action, counts_as_notification
from detectors.contracts import Signal
from ingest.diseases import DiseaseCatalogue
from ingest.errors import DomainError
from ingest.pyramid import Pyramid

log = logging.getLogger("sebac.alerts")


class AlertService:
    def __init__(self, pyramid: Pyramid, repository: AlertRepository | None = None, *,
                 diseases: DiseaseCatalogue | None = None, policy: EscalationPolicy | None = None,
                 notifier: Notifier | None = None):
        self.pyramid = pyramid
        self.repo = repository or AlertRepository()
        self.diseases = diseases
        self.policy = policy or load_policy(pyramid_levels=pyramid.levels,
                                            diseases=diseases.codes() if diseases is not None else None)
        self.notifier = notifier or Notifier(pyramid, diseases)
        self._held: dict[str, tuple[Alert, int]] | None = None  # see :meth:`held`
        self._pending: dict[int, tuple[Alert, int]] = {}  # alert id → (its last state, version stored)
        self._rows: list[tuple[Any, dict[str, Any]]] = []  # (table, row) appended in order

    @contextlib.contextmanager
    def held(self, conn: Connection) -> Iterator[None]:
        """Signals of one transaction in a row (a batch of reports): an alert opened or merged here
        stays locked by the transaction until it ends (SQLite's write lock, PostgreSQL's row lock), so
        its row and next event number are kept in memory instead of being read back for the next
        signal of the same dedup key, and its row, events and signals are written when the block ends
        (or before anything reads the held alert's rows again): the same rows, each table's in the same
        order. Only inside the caller's transaction ``conn``, never across two."""
        self._held, self._pending, self._rows = {}, {}, []
        try:
            yield
            self._flush(conn)
        finally:
            self._held, self._pending, self._rows = None, {}, []

    def _flush(self, conn: Connection) -> None:
        self.repo.update_many(conn, list(self._pending.values()))
        by_table: dict[Any, list[dict[str, Any]]] = {}  # each table's rows in order (no row refers to another's)
        for table, row in self._rows:
            by_table.setdefault(table, []).append(row)
        for table, rows in by_table.items():
            conn.execute(table.insert(), rows)
        self._pending, self._rows = {}, []

    # -- policy ------------------------------------------------------------------------------------
    def decision(self, disease: str, severity: str) -> Decision:
        immediate = bool(self.diseases is not None and disease in self.diseases
                         and self.diseases.get(disease).immediate)
        return self.policy.decide(disease, severity, immediate)

    def _save(self, conn: Connection, alert: Alert, events: list[AlertEvent], first_seq: int,
              read_version: int) -> None:
        """Persist the alert (read, locked, at ``read_version``) and its new events, numbered from
        ``first_seq`` in the order they happened."""
        numbered = [e.model_copy(update={"seq": first_seq + i, "alert_id": alert.alert_id})
                    for i, e in enumerate(events)]
        if self._held is not None:  # written by :meth:`_flush`
            stored = self._pending.get(alert.alert_id, (alert, read_version))[1]
            self._pending[alert.alert_id] = (alert, stored)
            self._rows += [(alert_events, dict(e.model_dump(mode="python"), alert_id=alert.alert_id))
                           for e in numbered]
            return
        self.repo.update(conn, alert, read_version)
        self.repo.append_events(conn, alert.alert_id, numbered)

    def _add_signal(self, conn: Connection, alert_id: int, signal: Signal, fresh: bool) -> None:
        if self._held is not None and fresh:
            self._rows.append((alert_signals, self.repo.signal_row(alert_id, signal)))
        else:
            self.repo.add_signal(conn, alert_id, signal, check=not fresh)

    def _notify(self, conn: Connection, alert: Alert, reason: str, now: dt.datetime,
                events: list[AlertEvent]) -> Alert:
        """Queue the messages for the alert's level; a ``notified`` event records it when anyone was told."""
        n = self.notifier.enqueue(conn, alert, reason, now)
        if n == 0:
            return alert
        event = AlertEvent(alert_id=alert.alert_id, seq=0, type="notified", at=now, by="system", level=alert.level,
                           reason=reason, data={"recipients": n})
        events.append(event)
        return reduce(alert, event)

    # -- signals -----------------------------------------------------------------------------------
    def on_signal(self, conn: Connection, signal: Signal, now: dt.datetime, *, fresh: bool = False) -> Alert:
        """Open, merge or suppress. A signal seen before (same ``signal_id``) changes nothing;
        ``fresh``: the caller just made the signal (a new random id: it cannot have been seen)."""
        if not fresh:
            known = self.repo.alert_of_signal(conn, signal.signal_id)
            if known is not None:
                return known
        decision = self.decision(signal.disease, signal.severity.value)
        held = self._held.get(alert_dedup_key(signal)) if self._held is not None else None
        if held is not None and held[0].status in ACTIVE:
            return self._merge(conn, held[0], signal, decision, now, seq=held[1], fresh=fresh)
        if held is not None:
            self._flush(conn)  # the held alert ended: what follows reads its rows
        # (the rows still held are all of active alerts of other dedup keys: the reads below, of this
        # key's active alert and of the unit's last ended one, cannot see them)
        current = self._active_locked(conn, signal)
        if current is not None:
            return self._merge(conn, current, signal, decision, now, fresh=fresh)
        ended = self.repo.last_ended(conn, signal.disease, signal.orgunit_id)
        if in_cooldown(ended, signal, decision, now):
            assert ended is not None
            self.repo.append_events(conn, ended.alert_id,
                                    [suppressed_event(ended, signal, now, self.repo.next_seq(conn, ended.alert_id))])
            self.repo.add_signal(conn, ended.alert_id, signal)
            log.info("signal suppressed: alert #%d (%s at %s) ended %s, cooldown %s", ended.alert_id, ended.disease,
                     ended.orgunit_id, ended.ended_at, decision.cooldown)
            return ended
        try:
            with conn.begin_nested():
                return self._open(conn, signal, decision, now, fresh=fresh)
        except sa.exc.IntegrityError:
            # a concurrent writer opened the alert for this dedup key (or stored this very signal)
            # first: the unique index on active dedup keys refused ours, so merge into theirs
            known = self.repo.alert_of_signal(conn, signal.signal_id)
            if known is not None:
                return known
            current = self._active_locked(conn, signal)
            if current is None:
                raise
            return self._merge(conn, current, signal, decision, now)

    def _active_locked(self, conn: Connection, signal: Signal) -> Alert | None:
        """The active alert of the signal's dedup key, locked and re-read (it may have changed or ended)."""
        current = self.repo.active_by_dedup_key(conn, alert_dedup_key(signal))
        if current is None:
            return None
        locked = self.repo.get_for_update(conn, current.alert_id)
        return locked if locked is not None and locked.status in ACTIVE else None

    def _merge(self, conn: Connection, current: Alert, signal: Signal, decision: Decision,
               now: dt.datetime, *, seq: int | None = None, fresh: bool = False) -> Alert:
        seq = self.repo.next_seq(conn, current.alert_id) if seq is None else seq
        alert, events = merge_signal(current, signal, decision, now, seq)
        self._save(conn, alert, events, seq, current.version)
        self._add_signal(conn, alert.alert_id, signal, fresh)
        if self._held is not None:
            self._held[alert_dedup_key(signal)] = (alert, seq + len(events))
        observe_signal_merged(alert.disease)
        log.info("signal merged into alert #%d (%s at %s)", alert.alert_id, alert.disease, alert.orgunit_id)
        return alert

    def _open(self, conn: Connection, signal: Signal, decision: Decision, now: dt.datetime, *,
              fresh: bool = False) -> Alert:
        draft, [created] = open_alert(signal, self.pyramid, self.policy, decision, now)
        alert = self.repo.insert(conn, draft)
        inserted_version = alert.version
        created = created.model_copy(update={"alert_id": alert.alert_id,
                                             "data": created.data | {"alert": alert.model_dump(mode="json")}})
        events = [created]
        observe_alert_raised(alert.disease, alert.level)
        log.warning("ALERT #%d raised: %s at %s (%s), %g case(s), level %s", alert.alert_id, alert.disease,
                    alert.orgunit_id, signal.detector, alert.cases, alert.level)
        alert = self._notify(conn, alert, "new", now, events)
        for step in plan_direct(alert, self.policy, decision, now, len(events) + 1):
            events.append(step.event)
            alert = step.alert
            observe_escalation(step.event.data["from"], alert.level, "direct")
            log.warning("ALERT #%d escalated directly to %s (%s)", alert.alert_id, alert.level, step.event.reason)
            alert = self._notify(conn, alert, "escalated", now, events)
        self._save(conn, alert, events, 1, inserted_version)
        self._add_signal(conn, alert.alert_id, signal, fresh)
        if self._held is not None:
            self._held[alert_dedup_key(signal)] = (alert, 1 + len(events))
        return alert

    def note_revision(self, conn: Connection, revision: Any, now: dt.datetime) -> list[int]:
        """A report was revised (:class:`ingest.corrections.Revision`): one timeline event on every
        alert that used it (:mod:`alerts.revisions`); the ids of those alerts."""
        from alerts.revisions import revision_event

        noted = []
        for alert_id in self.repo.alerts_using_report(conn, revision.before.report_id):
            alert = self.repo.get(conn, alert_id)
            event = revision_event(alert, revision, self.repo.next_seq(conn, alert_id), now) if alert else None
            if event is not None:
                self.repo.append_events(conn, alert_id, [event])
                noted.append(alert_id)
        return noted

    # -- people -------------------------------------------------------------------------------------
    def _locked(self, conn: Connection, alert_id: int) -> Alert:
        alert = self.repo.get_for_update(conn, alert_id)
        if alert is None:
            raise DomainError("alert.notFound", f"alert {alert_id} not found", status=404, id=alert_id)
        return alert

    def act(self, conn: Connection, alert_id: int, action: str, user: User, now: dt.datetime, *,
            reason: str | None = None, to_level: str | None = None,
            assessment: dict[str, Any] | None = None) -> Alert:
        """A user's action; guards first (jurisdiction, permission table, status), so a refusal changes
        nothing. The alert is locked for the whole decision (see ``AlertRepository.get_for_update``)."""
        alert = self._locked(conn, alert_id)
        decision = self.decision(alert.disease, alert.severity)
        authorize_action(user, action, alert, self.pyramid, self.policy, decision.acknowledge_from)
        check(alert, action, reason=reason)
        if action == "assess":
            assessment = _valid_assessment(assessment)
        seq = self.repo.next_seq(conn, alert.alert_id)
        actor = Actor(f"user:{user.username}", user.level, counts_as_notification(user, self.policy))
        before = alert
        if action == "escalate":
            step = plan_manual(alert, self.policy, decision, now, seq, by=actor.id, reason=reason, to_level=to_level)
            alert, events = step.alert, [step.event]
            observe_escalation(before.level, alert.level, "manual")
            alert = self._notify(conn, alert, "escalated", now, events)
        elif action == "take_over":
            step = plan_take_over(alert, decision, now, seq, by=actor.id, to_level=user.level, reason=reason)
            alert, events = step.alert, [step.event]
        else:
            alert, event = transition(alert, action, actor, now, seq, reason=reason, assessment=assessment)
            events = [event]
        self._save(conn, alert, events, seq, before.version)
        if action in ("acknowledge", "verify") and before.acknowledged_at is None:
            observe_acknowledged(alert.created_at, now, user.level)
        if action == "verify":
            observe_verified(alert.created_at, now, user.level)
        if action == "close":
            observe_closed(alert.disease, before.status.value)
        log.info("alert #%d: %s by %s (%s) → %s at %s", alert.alert_id, action, user.username, user.role,
                 alert.status.value, alert.level)
        return alert

    def allowed_actions(self, user: User, alert: Alert) -> list[str]:
        """The actions ``user`` may take on ``alert`` now (what a console shows as buttons)."""
        decision = self.decision(alert.disease, alert.severity)
        out = []
        for action in ACTIONS:
            try:
                authorize_action(user, action, alert, self.pyramid, self.policy, decision.acknowledge_from,
                                 observe=False)
                check(alert, action, reason="-")
            except DomainError:
                continue
            if action == "escalate" and self.policy.next_level(alert.level) is None:
                continue
            out.append(action)
        return out

    # -- scheduler -----------------------------------------------------------------------------------
    def advance(self, conn: Connection, alert_id: int, now: dt.datetime) -> int:
        """Apply the escalations (and repeat notification) due for one alert; returns escalations written."""
        alert = self.repo.get_for_update(conn, alert_id)
        if alert is None:
            return 0
        read_version = alert.version
        decision = self.decision(alert.disease, alert.severity)
        seq = self.repo.next_seq(conn, alert.alert_id)
        events: list[AlertEvent] = []
        for step in plan_timeouts(alert, self.policy, decision, now, seq):
            events.append(step.event)
            observe_escalation(step.event.data["from"], step.alert.level, "timeout")
            log.warning("ALERT #%d escalated %s → %s: %s", alert_id, step.event.data["from"], step.alert.level,
                        step.event.reason)
            alert = self._notify(conn, step.alert, "escalated", now, events)
        escalations = sum(1 for e in events if e.type == "escalated")
        if not events and repeat_due(alert, decision, now):
            alert = self._notify(conn, alert, "repeat", now, events)
        if events:
            self._save(conn, alert, events, seq, read_version)
        return escalations

    def min_repeat_every(self) -> dt.timedelta | None:
        values = [r.repeat_every for r in self.policy.doc.rules if r.repeat_every is not None]
        if self.policy.doc.defaults.repeat_every is not None:
            values.append(self.policy.doc.defaults.repeat_every)
        return min(values) if values else None


def _valid_assessment(data: dict[str, Any] | None) -> dict[str, Any]:
    try:
        return Assessment.model_validate(data or {}).model_dump(exclude_none=True)
    except pydantic.ValidationError as exc:
        detail = "; ".join(e["msg"] for e in exc.errors())
        raise DomainError("alert.assess.invalid", f"assessment not valid: {detail}", status=422,
                          detail=detail) from None
