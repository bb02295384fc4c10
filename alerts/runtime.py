"""Running the alerts stage in a process: configuration from settings, and the two background loops.

* :func:`configure` loads the escalation policy named in the settings (strictly, cross-checked with
  the pyramid and diseases) and plugs SMS commands (``OK 12``) into the SMS webhook.
* :class:`AlertWorkers` runs the escalation scheduler and the notification outbox worker as daemon
  threads on the pipeline's ``alert_clock`` (the wall clock in the demo, while the week of reports
  is replayed on a catch-up clock: deadlines last as long as the policy says).

The settings object is duck-typed (``sebac.settings.Settings``) so this package does not import the
composition layer.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import Any

from alerts.channels import Channels, SmtpMailer, WebhookSender
from alerts.escalation import EscalationScheduler
from alerts.outbox import OutboxWorker, RetryPolicy
from alerts.policy import load_policy
from alerts.sms_commands import install as install_sms_commands
from alerts.sms_senders import sms_sender_from_settings

log = logging.getLogger("sebac.alerts.runtime")


def configure(pipeline: Any, settings: Any) -> None:
    service = pipeline.alerting
    if getattr(settings, "escalation_policy_path", None):
        service.policy = load_policy(settings.escalation_policy_path, pyramid_levels=pipeline.pyramid.levels,
                                     diseases=pipeline.diseases.codes())
        log.info("escalation policy: %s (%d rules)", settings.escalation_policy_path, len(service.policy.rule_names()))
    install_sms_commands(pipeline.db, service, getattr(settings, "sms_default_lang", "fr"),
                         clock=getattr(pipeline, "alert_clock", None))


def channels_from_settings(settings: Any) -> Channels:
    sms = sms_sender_from_settings(settings)
    mail = (SmtpMailer(settings.smtp_host, settings.smtp_port, settings.smtp_sender, settings.smtp_username,
                       settings.smtp_password, settings.smtp_starttls) if settings.smtp_host else None)
    return Channels(sms=sms, email=mail, webhook=WebhookSender())


def retry_from_settings(settings: Any) -> RetryPolicy:
    return RetryPolicy(max_attempts=settings.outbox_max_attempts,
                       base=dt.timedelta(seconds=settings.outbox_backoff_seconds),
                       lease=dt.timedelta(seconds=getattr(settings, "outbox_lease_seconds", 120.0)))


class _Loop(threading.Thread):
    def __init__(self, name: str, period: float, step: Any, stop: threading.Event):
        super().__init__(name=name, daemon=True)
        self.period, self.step, self.stop_event = period, step, stop

    def run(self) -> None:
        while not self.stop_event.is_set():
            try:
                self.step()
            except Exception:  # keep the loop alive; the error is in the log and retried next period
                log.exception("%s failed", self.name)
            self.stop_event.wait(self.period)


class AlertWorkers:
    """The escalation scheduler and the outbox worker, each in a daemon thread."""

    def __init__(self, pipeline: Any, channels: Channels, *, retry: RetryPolicy = RetryPolicy(),
                 tick_seconds: float = 5.0, poll_seconds: float = 2.0):
        self.pipeline = pipeline
        self.scheduler = EscalationScheduler(pipeline.db, pipeline.alerting)
        self.worker = OutboxWorker(pipeline.db, channels, retry)
        self.stop_event = threading.Event()
        clock = getattr(pipeline, "alert_clock", pipeline.clock)
        self.threads = [
            _Loop("sebac-escalation", tick_seconds, lambda: self.scheduler.tick(clock.now()), self.stop_event),
            _Loop("sebac-outbox", poll_seconds, lambda: self.worker.run_once(clock.now()), self.stop_event),
        ]

    @classmethod
    def from_settings(cls, pipeline: Any, settings: Any, **overrides: Any) -> "AlertWorkers":
        kw = dict(retry=retry_from_settings(settings), tick_seconds=settings.escalation_tick_seconds,
                  poll_seconds=settings.outbox_poll_seconds) | overrides
        return cls(pipeline, channels_from_settings(settings), **kw)

    def start(self) -> None:
        for t in self.threads:
            t.start()
        log.info("alert workers started: escalation every %.2fs, outbox every %.2fs",
                 self.threads[0].period, self.threads[1].period)

    def stop(self, timeout: float = 5.0) -> None:
        self.stop_event.set()
        for t in self.threads:
            if t.is_alive():
                t.join(timeout)
