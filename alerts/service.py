"""The alerts stage of the pipeline: a signal in, an alert (new or merged) out, events appended."""
from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy.engine import Connection

from alerts.contracts import Alert
from alerts.intake import merge_signal, open_alert
from alerts.metrics import ALERTS_RAISED, SIGNALS_MERGED
from alerts.repository import AlertRepository
from detectors.contracts import Signal
from ingest.pyramid import Pyramid

log = logging.getLogger("sebac.alerts")


class AlertService:
    def __init__(self, pyramid: Pyramid, repository: AlertRepository | None = None):
        self.pyramid = pyramid
        self.repo = repository or AlertRepository()

    def on_signal(self, conn: Connection, signal: Signal, now: dt.datetime) -> Alert:
        current = self.repo.active_by_dedup_key(conn, signal.dedup_key)
        if current is None:
            alert, events = open_alert(signal, self.pyramid, now)
            alert = self.repo.insert(conn, alert)
            events = [e.model_copy(update={"alert_id": alert.alert_id}) for e in events]
            self.repo.append_events(conn, alert.alert_id, events)
            ALERTS_RAISED.labels(alert.disease, alert.level).inc()
            log.warning("ALERT #%d raised: %s at %s (%s), %g case(s)", alert.alert_id, alert.disease,
                        alert.orgunit_id, signal.detector, alert.cases)
        else:
            alert, events = merge_signal(current, signal, now, self.repo.next_seq(conn, current.alert_id))
            self.repo.update(conn, alert)
            self.repo.append_events(conn, alert.alert_id, events)
            SIGNALS_MERGED.labels(alert.disease).inc()
            log.info("signal merged into alert #%d (%s at %s)", alert.alert_id, alert.disease, alert.orgunit_id)
        self.repo.add_signal(conn, alert.alert_id, signal)
        return alert
