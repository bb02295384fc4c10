"""The detectors stage of the pipeline: a stored report in, signals out.

Composition calls :meth:`DetectionStage.on_report` inside the transaction that stored the report.
Today: the immediate case definitions; the rule catalogue and statistical detectors plug in here.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy.engine import Connection

from detectors.contracts import Signal
from detectors.immediate import evaluate_immediate
from ingest.contracts import Report
from ingest.diseases import DiseaseCatalogue
from ingest.pyramid import Pyramid


class DetectionStage:
    def __init__(self, pyramid: Pyramid, diseases: DiseaseCatalogue, *, epiweek_start_day: int = 0):
        self.pyramid = pyramid
        self.diseases = diseases
        self.start_day = epiweek_start_day

    def on_report(self, conn: Connection, report: Report, now: dt.datetime) -> list[Signal]:
        return evaluate_immediate(report, self.diseases, now, self.start_day)
