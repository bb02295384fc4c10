"""The per-report detection path as it was before batching (commit 74d7a5d), kept as a test oracle.

``on_report`` now runs through ``on_reports`` (shared reads and evaluations): comparing the batch with
``on_report`` alone cannot catch a bug in the shared code. This module re-does one report the
original way — every read from the database, every rule and detector run with the trigger's own
input — using only the stage's configuration and small helpers (scope, records, week arithmetic).
"""
from __future__ import annotations

import datetime as dt

from detectors.contracts import Signal
from detectors.epiweek import EpiWeek, epiweek, week_end, week_start
from detectors.repository import DetectorRepository
from detectors.rules.base import CaseRecord, Scope
from detectors.stage import DetectionStage
from detectors.statistical import evaluate, fitted_params
from detectors.weekly import weekly_counts
from ingest.contracts import Report
from ingest.reevaluation import pop_due

_REPO = DetectorRepository()


def on_report(stage: DetectionStage, conn, report: Report, now: dt.datetime) -> list[Signal]:
    trigger = stage._record(report)
    signals = rules(stage, conn, report.disease, trigger, now)
    signals += detectors(stage, conn, report.disease, report.health_area_id, report.district_id, report.onset_date,
                         now, (report.report_id,))
    if stage.queue_batch:
        for item in pop_due(conn, now, settle=stage.queue_settle, limit=stage.queue_batch):
            signals += cell(stage, conn, item.area_id, item.disease, item.epiweek, now)
    return signals


def cell(stage: DetectionStage, conn, area_id: str, disease: str, week: str, now: dt.datetime) -> list[Signal]:
    if area_id not in stage.pyramid or disease not in stage.diseases:
        return []
    district = stage.pyramid.ancestor_at(area_id, "district")
    start = week_start(EpiWeek.parse(week), stage.start_day)
    trigger = CaseRecord(report_id="", onset_date=start, cases=0, received_at=now,
                         health_area_id=area_id, district_id=district.id if district else "")
    out = rules(stage, conn, disease, trigger, now, period_rules_only=True)
    return out + detectors(stage, conn, disease, area_id, trigger.district_id, start, now, ())


def rules(stage: DetectionStage, conn, disease: str, trigger: CaseRecord, now: dt.datetime, *,
          period_rules_only: bool = False) -> list[Signal]:
    out: list[Signal] = []
    for rule in stage.rules.for_disease(disease):
        if period_rules_only and rule.kind in ("immediate", "cluster"):
            continue
        if rule.kind == "cluster":
            since, until = rule.window(trigger.onset_date, stage.start_day)
            rows = _REPO.case_rows(conn, disease, since, until)
            records = tuple(stage._row_record(r) for r in rows if r["report_id"] != trigger.report_id)
            out += rule.evaluate(stage._input(disease, stage._scope("district", trigger), trigger, records, now))
            continue
        for level in rule.levels:
            scope = stage._scope(level, trigger)
            if scope is None:
                continue
            if rule.kind == "immediate":
                records = (trigger,)
            else:
                since, until = rule.window(trigger.onset_date, stage.start_day)
                records = tuple(stage._row_record(r) for r in _REPO.case_rows(
                    conn, disease, since, until, level=level, orgunit_id=scope.orgunit_id))
            since = _REPO.first_onset(conn, level, scope.orgunit_id) if rule.kind == "trend" else None
            out += rule.evaluate(stage._input(disease, scope, trigger, records, now, since))
    return out


def detectors(stage: DetectionStage, conn, disease: str, health_area_id: str, district_id: str, onset: dt.date,
              now: dt.datetime, report_ids: tuple[str, ...]) -> list[Signal]:
    out: list[Signal] = []
    onset_week = epiweek(onset, stage.start_day)
    current = epiweek(now.date(), stage.start_day)
    for cfg in stage.detectors.for_disease(disease):
        orgunit = health_area_id if cfg.level == "health_area" else district_id
        last = onset_week
        if current > onset_week and cfg.reevaluate_weeks:
            last = min(current, stage._shift(onset_week, cfg.reevaluate_weeks))
        out += _run(stage, conn, cfg, disease, orgunit, district_id, last, stage._weeks(onset_week, last), now,
                    {onset_week: report_ids})
    return out


def _run(stage: DetectionStage, conn, cfg, disease, orgunit, district_id, last, n_eval, now, report_ids):
    history = _REPO.history(conn, orgunit, disease)
    if not history and cfg.level == "district":
        areas = [u.id for u in stage.pyramid.descendants(orgunit) if u.level == "health_area"] \
            if orgunit in stage.pyramid else []
        history = _REPO.history_sum(conn, areas, disease)
    first_seen = [d for d in (_REPO.first_onset(conn, cfg.level, orgunit),) if d is not None]
    if history:
        first_seen.append(week_start(min(history), stage.start_day))
    if not first_seen:
        return []
    first = max(epiweek(min(first_seen), stage.start_day), stage._shift(last, -(cfg.needed_history() + n_eval - 1)))
    if first > last or fitted_params(cfg, stage._weeks(first, last)) is None:
        return []
    daily = _REPO.daily_cases(conn, cfg.level, orgunit, disease, week_start(first, stage.start_day),
                              week_end(last, stage.start_day))
    weeks, counts = weekly_counts(daily, history, first, last, stage.start_day)
    unit = stage.pyramid.units.get(orgunit)
    scope = Scope(orgunit, cfg.level, district_id, unit.population if unit else None)
    return evaluate(cfg, scope, disease, weeks, counts, min(n_eval, len(weeks)), daily, now,
                    start_day=stage.start_day, typical_delay=stage.typical_delay,
                    closed_after_days=stage.closed_after_days, report_ids=report_ids)
