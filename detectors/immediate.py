"""Case definition "1 suspected case = alert" for immediately notifiable diseases (IDSR 3rd ed.).

Rule: a report of ``cases ≥ 1`` of a disease flagged ``immediate`` in the catalogue raises a signal
at its health area for the epi week of onset. Reference: WHO AFRO, *Technical Guidelines for
Integrated Disease Surveillance and Response*, 3rd ed. (2019), section 2 (action thresholds).
"""
from __future__ import annotations

import datetime as dt
import uuid

from detectors.contracts import Severity, Signal
from detectors.epiweek import epiweek, week_end, week_start
from ingest.contracts import Report
from ingest.diseases import DiseaseCatalogue

RULE_ID = "immediate"
RULE_VERSION = 1


def evaluate_immediate(report: Report, diseases: DiseaseCatalogue, now: dt.datetime,
                       start_day: int = 0) -> list[Signal]:
    """Signals raised by one report (0 or 1)."""
    if report.disease not in diseases or not diseases.get(report.disease).immediate or report.cases < 1:
        return []
    week = epiweek(report.onset_date, start_day)
    key = f"rule:v{RULE_VERSION}:{RULE_ID}:{report.disease}:{report.health_area_id}:{week}"
    return [Signal(
        signal_id=str(uuid.uuid4()),
        dedup_key=key,
        rule_id=RULE_ID,
        detector=RULE_ID,
        disease=report.disease,
        orgunit_id=report.health_area_id,
        orgunit_level="health_area",
        district_id=report.district_id,
        period_start=week_start(week, start_day),
        period_end=week_end(week, start_day),
        epiweek=str(week),
        observed=float(report.cases),
        threshold=1.0,
        severity=Severity.alert,
        detected_at=now,
        emergence_date=report.onset_date,
        report_ids=(report.report_id,),
    )]
