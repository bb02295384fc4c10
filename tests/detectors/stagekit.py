"""Drive the detection stage on a real (SQLite) database: store a report, run the stage, get signals."""
from __future__ import annotations

import datetime as dt
import itertools
import uuid

from detectors.stage import DetectionStage
from ingest.contracts import Channel, Report
from ingest.repository import ReportRepository

UTC = dt.timezone.utc
_seq = itertools.count(1)


class StageDriver:
    def __init__(self, db, pyramid, stage: DetectionStage):
        self.db, self.pyramid, self.stage = db, pyramid, stage
        self.repo = ReportRepository()

    def report(self, site: str, disease: str, cases: int, onset: dt.date, received: dt.datetime | None = None
               ) -> Report:
        received = received or dt.datetime.combine(onset, dt.time(15), UTC)
        area = self.pyramid.ancestor_at(site, "health_area")
        district = self.pyramid.ancestor_at(site, "district")
        n = next(_seq)
        return Report(report_id=str(uuid.uuid4()), idempotency_key=f"test:{n}", channel=Channel.http,
                      orgunit_id=site, health_area_id=area.id, district_id=district.id, disease=disease,
                      cases=cases, onset_date=onset, report_date=received.date(), received_at=received)

    def post(self, site: str, disease: str, cases: int, onset: dt.date, received: dt.datetime | None = None,
             now: dt.datetime | None = None):
        """Store one report and run the stage on it at ``now`` (default: its receipt time)."""
        report = self.report(site, disease, cases, onset, received)
        with self.db.begin() as conn:
            self.repo.insert(conn, report)
            return self.stage.on_report(conn, report, now or report.received_at)

    def store(self, site: str, disease: str, cases: int, onset: dt.date) -> None:
        """Store a report without running the stage (baseline data)."""
        with self.db.begin() as conn:
            self.repo.insert(conn, self.report(site, disease, cases, onset))
