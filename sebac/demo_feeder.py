"""The demo's feeder: delivers each simulated item through the intake its channel uses, and sums up.

SMS items go through the SMS intake as a gateway webhook would (the reply is logged), tablet items
through the DHIS2 tracker import with the shipped mapping, app items through ``Pipeline.submit``.
The summary's counts are read from the database with the same queries the API answers with.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import sqlalchemy as sa

from ingest.clock import Clock
from ingest.contracts import Channel
from ingest.pyramid import Pyramid
from sebac.demo import DHIS2_PROGRAM, DHIS2_STAGE, TABLET_DISEASES, DemoReport

log = logging.getLogger("sebac.demo")


def dhis2_event(report: DemoReport, pyramid: Pyramid, mapping: Any) -> dict[str, Any]:
    """The DHIS2 tracker event a tablet would sync for a demo report, written with the mapping in force
    (data elements and option codes reversed): what ``POST /api/v1/dhis2/tracker`` receives."""
    p = report.payload
    prog = mapping.find(DHIS2_PROGRAM, DHIS2_STAGE)
    unit = pyramid.get(p["orgunit_id"]) if p["orgunit_id"] in pyramid else None
    values = []
    for fld, de in prog.dataElements.items():
        if p.get(fld) in (None, ""):
            continue
        reverse = {v: k for k, v in prog.options.get(fld, {}).items()}
        values.append({"dataElement": de, "value": reverse.get(str(p[fld]), str(p[fld]))})
    uid = "Dm" + "".join(c for c in p["client_id"] if c.isalnum())[-9:].rjust(9, "0")
    return {"event": uid, "program": DHIS2_PROGRAM, "programStage": DHIS2_STAGE,
            "orgUnit": (unit.dhis2_uid if unit and unit.dhis2_uid else p["orgunit_id"]),
            "occurredAt": p["onset_date"], "completedAt": p.get("report_date"), "status": "COMPLETED",
            "storedBy": p.get("reporter"), "dataValues": values}


@dataclass
class DemoTally:
    """What the replay did, for the summary."""
    items: Counter = field(default_factory=Counter)      # channel -> items
    outcomes: Counter = field(default_factory=Counter)   # (channel, status) -> items
    rejected: Counter = field(default_factory=Counter)   # error key -> items


class DemoFeeder(threading.Thread):
    """Delivers each demo item when the (catch-up) clock passes its receipt time, through the intake
    the real channel uses (SMS intake, DHIS2 import, pipeline submit), then logs a summary."""

    def __init__(self, pipeline: Any, reports: list[DemoReport], clock: Clock, stop: threading.Event, *,
                 channels: Any = None, users: Sequence[Any] = ()):
        super().__init__(name="sebac-demo-feeder", daemon=True)
        self.pipeline = pipeline
        self.reports = reports
        self.clock = clock
        self.stop_event = stop
        self.users = list(users)
        self.tally = DemoTally()
        self.finished = threading.Event()
        self._channels = channels
        self._phones: dict[str, str] | None = None
        self._seen_alert = 0

    @property
    def channels(self) -> Any:
        if self._channels is None:
            from ingest.channels import build_channels

            self._channels = build_channels(self.pipeline)
        return self._channels

    def phone_of(self, site: str) -> str | None:
        if self._phones is None:
            self._phones = {}
            for c in self.channels.registry.by_id.values():
                self._phones.setdefault(c.site_id, c.phone)
        return self._phones.get(site)

    def run(self) -> None:
        by = Counter(r.channel.value for r in self.reports)
        log.info("demo: replaying %d CHW reports of the past week (%s)", len(self.reports),
                 ", ".join(f"{n} {c}" for c, n in sorted(by.items())))
        for r in self.reports:
            while self.clock.now() < r.received_at:
                if self.stop_event.wait(0.02):
                    return
            if r.live:
                self._wait_until_live()
                log.info("demo: the week is replayed and the clock has caught up with real time; the engine "
                         "runs live now (POST /api/v1/reports, or an SMS gateway once its secret is set)")
            self.feed(r)
        log.info("demo: replay finished; see GET /api/v1/alerts")
        for line in self.summary():
            log.info("demo: %s", line)
        self.finished.set()

    def _wait_until_live(self, limit: float = 5.0) -> None:
        """Until the clock reads real time (a CatchUpClock that caught up), at most ``limit`` seconds:
        a live item's processing time is then measured in real seconds (``sebac_pipeline_lag_seconds``),
        not in demo seconds, which run ~15,000 times faster."""
        deadline = time.monotonic() + limit
        while (dt.datetime.now(dt.timezone.utc) - self.clock.now() > dt.timedelta(seconds=0.5)
               and time.monotonic() < deadline):
            if self.stop_event.wait(0.02):
                return

    def feed(self, r: DemoReport) -> str:
        try:
            status = self.deliver(r)
        except Exception:  # keep the demo alive; the error is in the log
            log.exception("demo report failed")
            status = "error"
        self.tally.items[r.channel.value] += 1
        self.tally.outcomes[(r.channel.value, status)] += 1
        self._log_new_alerts()
        return status

    def deliver(self, r: DemoReport) -> str:
        if r.channel is Channel.sms and r.sms_text is not None and (phone := self.phone_of(r.payload["orgunit_id"])):
            return self._sms(r, phone, r.sms_text)
        if r.channel is Channel.dhis2 and r.payload.get("disease") in TABLET_DISEASES:
            return self._dhis2(r)
        res = self.pipeline.submit(r.payload, Channel.http)
        self._count_rejected(res.errors)
        if res.status == "rejected":
            log.info("demo: app report rejected (%s)", ", ".join(e.key for e in res.errors))
        return res.status

    def _sms(self, r: DemoReport, phone: str, text: str) -> str:
        """As ``POST /api/v1/sms/generic`` does: the gateway's message → SMS intake → reply."""
        from ingest.sms.gateways import InboundSms
        from ingest.sms.metrics import SMS_WEBHOOK_REQUESTS

        sms = InboundSms("generic", phone, text, f"demo-{r.payload['client_id']}", r.received_at)
        outcome = self.channels.sms.handle(sms)
        SMS_WEBHOOK_REQUESTS.labels("generic", outcome.status).inc()
        self._count_rejected(outcome.errors)
        (log.warning if outcome.status in ("rejected", "unregistered") else log.info)(
            "demo: SMS from %s %r → %s; reply: %s", phone, text, outcome.status, outcome.reply)
        return outcome.status

    def _dhis2(self, r: DemoReport) -> str:
        """As ``POST /api/v1/dhis2/tracker`` does: the tablet's event → DHIS2 import with the mapping."""
        from ingest.dhis2 import import_events

        event = dhis2_event(r, self.pipeline.pyramid, self.channels.dhis2_mapping)
        report = import_events(self.pipeline, self.channels.dhis2_mapping, {"events": [event]})
        stats = report["stats"]
        errors = report["validationReport"]["errorReports"]
        for e in errors:
            self.tally.rejected[e["errorCode"]] += 1
        status = "accepted" if stats["created"] else "duplicate" if stats["ignored"] and not errors else "rejected"
        log.info("demo: DHIS2 tracker event %s (%s) → import %s", event["event"], r.story or r.payload["disease"],
                 report["status"])
        return status

    def _count_rejected(self, errors: Iterable[Any]) -> None:
        for e in list(errors)[:1]:
            self.tally.rejected[e.key] += 1

    def _log_new_alerts(self) -> None:
        from alerts.tables import alerts

        with self.pipeline.db.connect() as conn:
            rows = conn.execute(sa.select(alerts.c.alert_id, alerts.c.disease, alerts.c.orgunit_id,
                                          alerts.c.raised_late).where(alerts.c.alert_id > self._seen_alert)
                                .order_by(alerts.c.alert_id)).all()
        for alert_id, disease, orgunit, late in rows:
            self._seen_alert = max(self._seen_alert, alert_id)
            if late:
                log.warning("demo: ALERT #%d (%s at %s) was RAISED LATE: its epi week had closed when the "
                            "data arrived (GET /api/v1/alerts/%d shows would_have_fired_at)",
                            alert_id, disease, orgunit, alert_id)

    def summary(self) -> list[str]:
        """Reports by channel, rejected items, alerts by disease and level, escalations, users."""
        from alerts.tables import alert_events, alert_signals, alerts

        t = self.tally
        lines = ["reports by channel: " + ", ".join(
            f"{c} {n} (" + ", ".join(f"{s} {k}" for (cc, s), k in sorted(t.outcomes.items()) if cc == c) + ")"
            for c, n in sorted(t.items.items()))]
        lines.append(f"rejected: {sum(t.rejected.values())} (" + ", ".join(
            f"{k} {n}" for k, n in sorted(t.rejected.items())) + ")")
        with self.pipeline.db.connect() as conn:
            rows = conn.execute(sa.select(alerts.c.alert_id, alerts.c.disease, alerts.c.level, alerts.c.orgunit_id,
                                          alerts.c.raised_late)).all()
            detectors: dict[int, set[str]] = {}
            for alert_id, key in conn.execute(sa.select(alert_signals.c.alert_id, alert_signals.c.dedup_key)):
                detectors.setdefault(alert_id, set()).add(key.split(":")[2])
            escalations = conn.execute(sa.select(alert_events.c.data).where(alert_events.c.type == "escalated")).all()
        by_disease: dict[str, Counter] = {}
        for _, disease, level, _, _ in rows:
            by_disease.setdefault(disease, Counter())[level] += 1
        lines.append(f"alerts: {len(rows)}: " + "; ".join(
            f"{d} {sum(c.values())} (" + ", ".join(f"{lvl} {n}" for lvl, n in sorted(c.items())) + ")"
            for d, c in sorted(by_disease.items())))
        raised_by = Counter(det for a, *_ in rows for det in detectors.get(a, ()))
        lines.append("alerts by rule/detector: " + ", ".join(f"{d} {n}" for d, n in sorted(raised_by.items())))
        late = [f"#{a} {d} at {o}" for a, d, _, o, is_late in rows if is_late]
        lines.append("raised late: " + (", ".join(late) or "none"))
        causes = Counter((e[0] or {}).get("cause", "?") for e in escalations)
        lines.append(f"escalations: {len(escalations)} (" + ", ".join(f"{c} {n}" for c, n in sorted(causes.items()))
                     + ")")
        if self.users:
            lines.append("demo users (log in with POST /api/v1/auth/token): " + ", ".join(
                f"{u.username}/{u.password}" for u in self.users))
        return lines


