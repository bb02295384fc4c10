"""Timeline scenarios for the alerts stage (in the spirit of Alertmanager's acceptance tests).

``s.at(minutes)`` moves the fake clock to ``start + minutes``; ``s.signal(...)`` pushes a signal;
``s.tick()`` runs the escalation scheduler; ``s.act(...)`` is a user action; ``s.deliver()`` runs the
outbox worker. Everything runs against a real (SQLite) database.
"""
from __future__ import annotations

import datetime as dt
import uuid

from alerts.channels import Channels, LogSmsGateway
from alerts.contracts import Alert, AlertEvent
from alerts.escalation import EscalationScheduler
from alerts.outbox import OutboxWorker, RetryPolicy
from alerts.service import AlertService
from alerts.users import User, UserIn, UserRepository
from alerts.notify import SubscriptionIn, SubscriptionRepository
from detectors.contracts import Severity, Signal
from detectors.epiweek import epiweek
from ingest.clock import FakeClock

START = dt.datetime(2026, 11, 16, 8, 0, tzinfo=dt.timezone.utc)  # a Monday
AREA = "ML-MOP-DJENNE-MOUGNA"
OTHER_AREA = "ML-SIK-KADIOLO-ZEGOUA"


def make_signal(disease: str = "cholera", area: str = AREA, *, observed: float = 1, severity: str = "alert",
                detector: str = "immediate", onset: dt.date | None = None, now: dt.datetime = START,
                pyramid=None, level: str = "health_area") -> Signal:
    onset = onset or (now - dt.timedelta(days=1)).date()
    week = epiweek(onset, 0)
    district = pyramid.ancestor_at(area, "district").id if pyramid is not None else "-".join(area.split("-")[:3])
    return Signal(signal_id=str(uuid.uuid4()), dedup_key=f"rule:v1:{detector}:{disease}:{area}:{week}",
                  rule_id=detector, detector=detector, disease=disease, orgunit_id=area, orgunit_level=level,
                  district_id=district, period_start=onset, period_end=onset, epiweek=str(week),
                  observed=observed, threshold=1.0, severity=Severity(severity), detected_at=now,
                  emergence_date=onset)


class Scenario:
    def __init__(self, db, pyramid, diseases, *, policy=None, channels: Channels | None = None,
                 retry: RetryPolicy = RetryPolicy(max_attempts=3, base=dt.timedelta(minutes=1))):
        self.db, self.pyramid, self.diseases = db, pyramid, diseases
        self.clock = FakeClock(START)
        self.service = AlertService(pyramid, diseases=diseases, policy=policy)
        self.scheduler = EscalationScheduler(db, self.service)
        self.sms = LogSmsGateway()
        self.worker = OutboxWorker(db, channels or Channels(sms=self.sms), retry)
        self.users = UserRepository()
        self.subs = SubscriptionRepository()

    @property
    def now(self) -> dt.datetime:
        return self.clock.now()

    def at(self, minutes: float) -> "Scenario":
        target = START + dt.timedelta(minutes=minutes)
        assert target >= self.clock.now(), "a timeline only moves forward"
        self.clock.set(target)
        return self

    def signal(self, disease: str = "cholera", area: str = AREA, **kw) -> Alert:
        sig = make_signal(disease, area, now=self.now, pyramid=self.pyramid, **kw)
        with self.db.begin() as conn:
            return self.service.on_signal(conn, sig, self.now)

    def push(self, signal: Signal) -> Alert:
        with self.db.begin() as conn:
            return self.service.on_signal(conn, signal, self.now)

    def service_push(self, signal: Signal, at: dt.datetime) -> Alert:
        """``push`` at an explicit time (threads that share the scenario)."""
        with self.db.begin() as conn:
            return self.service.on_signal(conn, signal, at)

    def tick(self) -> int:
        return self.scheduler.tick(self.now)

    def deliver(self) -> dict[str, int]:
        return self.worker.run_once(self.now)

    def user(self, username: str, role: str, orgunit: str, phone: str | None = None, *,
             subscribe: str | None = None) -> User:
        with self.db.begin() as conn:
            u = self.users.create(conn, UserIn(username=username, password="correct-horse-battery", role=role,
                                               orgunit_id=orgunit, phone=phone), self.pyramid, self.now)
            if subscribe:
                self.subs.create(conn, SubscriptionIn(orgunit_id=orgunit, channel="sms", address=subscribe,
                                                      user_id=u.user_id), self.pyramid)
        return u

    def subscribe(self, orgunit: str, channel: str, address: str, disease: str | None = None, lang: str = "fr"):
        with self.db.begin() as conn:
            return self.subs.create(conn, SubscriptionIn(orgunit_id=orgunit, channel=channel, address=address,
                                                         disease=disease, lang=lang), self.pyramid)

    def act(self, alert_id: int, action: str, user: User, reason: str | None = None, **kw) -> Alert:
        with self.db.begin() as conn:
            return self.service.act(conn, alert_id, action, user, self.now, reason=reason, **kw)

    def alert(self, alert_id: int) -> Alert:
        with self.db.connect() as conn:
            return self.service.repo.get(conn, alert_id)

    def events(self, alert_id: int) -> list[AlertEvent]:
        with self.db.connect() as conn:
            return self.service.repo.events(conn, alert_id)

    def levels(self, alert_id: int) -> list[tuple[str, dt.datetime]]:
        """(level reached, when) for every escalation of the alert."""
        return [(e.level, e.at) for e in self.events(alert_id) if e.type == "escalated"]
