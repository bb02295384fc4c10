"""Case-definition rules as the detectors stage runs them: the reads each rule kind needs, shared
across a batch (:mod:`detectors.memo`), and the rules counting epi weeks decided from the weekly cube.

A rule counting whole epi weeks (``count`` by week, ``rate``, ``ratio``, ``trend``:
``counts_whole_weeks()``) is evaluated on its scope's cases per week from the weekly cube
(:mod:`ingest.cube`, a few rows) instead of every report of its window. Only when it fires does the
stage read what the signal names: the first ``MAX_REPORT_IDS`` reports of the signal's week in signal
order (onset, receipt, id — the ids and the emergence date) and, when the signal is late, the week's
cases per onset day (*would have fired at*, :func:`detectors.rules.base.would_have_fired_on_days`).
So no read of a report grows with the reports already stored in its cell; the signals equal a run
on every report (``tests/detectors/test_rules_by_weeks.py``). Immediate rules read the trigger only;
monthly counts, cluster rules and other levels read the window's reports.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import time
from typing import Any

from sqlalchemy.engine import Connection

from detectors import metrics
from detectors.contracts import Signal
from detectors.memo import BatchMemo, MemoRepository, fresh
from detectors.repository import SUPPORTED_LEVELS
from detectors.rules.base import MAX_REPORT_IDS, CaseRecord, RuleInput, Scope, raised_late
from detectors.rules.catalogue import RuleCatalogue
from detectors.rules.periods import week_of
from ingest.contracts import Report
from ingest.cube import week_start_of
from ingest.pyramid import Pyramid

# rule kinds whose evaluation reads the trigger only through its onset date (and the scope built from
# its health area and district): one run serves every report with that onset in that scope
_SHARED_RULE_KINDS = frozenset({"count", "rate", "ratio", "trend"})


class RuleEvaluation:
    """The rules part of :class:`detectors.stage.DetectionStage` (its attributes are the stage's)."""

    pyramid: Pyramid
    rules: RuleCatalogue
    start_day: int
    typical_delay: dt.timedelta
    closed_after_days: int

    def _memo(self) -> BatchMemo:
        return BatchMemo(reads=MemoRepository(self.start_day))

    def evaluate_rules(self, conn: Connection, disease: str, trigger: CaseRecord, now: dt.datetime,
                       *, period_rules_only: bool = False, memo: BatchMemo | None = None) -> list[Signal]:
        memo = memo if memo is not None else self._memo()
        out: list[Signal] = []
        for rule in self.rules.for_disease(disease):
            if period_rules_only and rule.kind in ("immediate", "cluster"):
                continue
            t0, ran = time.perf_counter(), False
            if rule.kind == "cluster":
                since, until = rule.window(trigger.onset_date, self.start_day)
                records = tuple(r for r in self._records(conn, memo, disease, since, until)
                                if r.report_id != trigger.report_id)
                # every stored report names its district, so the district scope is never None here
                signals = rule.evaluate(self._input(disease, self._scope("district", trigger),  # type: ignore[arg-type]
                                                    trigger, records, now))
                ran = True
            else:
                signals = []
                for level in rule.levels:
                    scope = self._scope(level, trigger)
                    if scope is None:
                        continue
                    if self._by_weeks(rule, level):
                        signals += self._rule_by_weeks(conn, memo, rule, disease, scope, trigger, now)
                        ran = True
                        continue
                    if rule.kind == "immediate":
                        records = (trigger,)
                    else:
                        since, until = rule.window(trigger.onset_date, self.start_day)
                        records = self._records(conn, memo, disease, since, until, level, scope.orgunit_id)
                    since = memo.reads.observed_since(conn, level, scope.orgunit_id) if rule.kind == "trend" else None
                    # the same records (the later reports of the batch left out shrink as the trigger
                    # advances: the same number means the same records) and the same first onset
                    key = ((rule.id, level, scope, trigger.onset_date, len(records), since)
                           if rule.kind in _SHARED_RULE_KINDS else None)
                    if key is not None and key in memo.rules:
                        signals += fresh(memo.rules[key])
                        continue
                    found = rule.evaluate(self._input(disease, scope, trigger, records, now, since))
                    if key is not None:
                        memo.rules[key] = found
                    signals += found
                    ran = True
            if ran:
                metrics.observe_duration(rule.kind, time.perf_counter() - t0)
            metrics.observe_evaluation(rule.kind, disease, bool(signals))
            out += signals
        return out

    @staticmethod
    def _by_weeks(rule: Any, level: str) -> bool:
        """A rule counting epi weeks decides from the weekly cube (its cells, not the window's reports)."""
        return rule.counts_whole_weeks() and level in SUPPORTED_LEVELS

    def _rule_by_weeks(self, conn: Connection, memo: BatchMemo, rule: Any, disease: str, scope: Scope,
                       trigger: CaseRecord, now: dt.datetime) -> list[Signal]:
        """One rule on the scope's weekly cases; when it fires, again on the first reports of the
        signal's week (the ids and the emergence date a signal names) and, when the signal is late,
        its cases per day (*would have fired at*): the same signal as a run on every report of the
        window, with no read that returns more rows as reports are stored."""
        since, until = rule.window(trigger.onset_date, self.start_day)
        level, unit = scope.level, scope.orgunit_id
        weekly = memo.reads.weekly_cases(conn, level, unit, disease, since, week_start_of(until, self.start_day))
        observed = memo.reads.observed_since(conn, level, unit) if rule.kind == "trend" else None
        # the batch's later reports left out shrink as the trigger advances: equal weeks, equal data
        key = (rule.id, level, scope, trigger.onset_date, tuple(sorted(weekly.items())), observed)
        if key in memo.rules:
            return fresh(memo.rules[key])
        ctx = self._input(disease, scope, trigger, (), now, observed, weekly)
        found = rule.evaluate(ctx)
        if found:
            week = week_of(trigger.onset_date, self.start_day)
            rows = memo.reads.first_case_rows(conn, disease, week.start, week.end, level=level, orgunit_id=unit,
                                              limit=MAX_REPORT_IDS)
            late = raised_late(now, week.end, self.closed_after_days)
            daily = memo.reads.daily_cases(conn, level, unit, disease, week.start, week.end) if late else None
            found = rule.evaluate(dataclasses.replace(ctx, records=tuple(self._row_record(r) for r in rows),
                                                      daily=daily))
        memo.rules[key] = found
        return found

    def _records(self, conn: Connection, memo: BatchMemo, disease: str, since: dt.date, until: dt.date,
                 level: str | None = None, orgunit_id: str | None = None) -> tuple[CaseRecord, ...]:
        """The case records of one case-rows read (in the read's row order), built once per call."""
        key = (disease, since, until, level, orgunit_id)
        if key not in memo.records:
            rows = memo.reads.all_case_rows(conn, disease, since, until, level=level, orgunit_id=orgunit_id)
            built = memo.record_of  # one record per report and call, whatever the reads it is in
            out = []
            for r in rows:
                rec = built.get(r["report_id"])
                if rec is None:
                    rec = built[r["report_id"]] = self._row_record(r)
                out.append(rec)
            memo.records[key] = tuple(out)
        later = memo.reads.later
        if later:  # the batch's reports stored after the trigger
            return tuple(r for r in memo.records[key] if r.report_id not in later)
        return memo.records[key]

    def _input(self, disease: str, scope: Scope, trigger: CaseRecord, records: tuple[CaseRecord, ...],
               now: dt.datetime, observed_since: dt.date | None = None,
               weekly: dict[dt.date, int] | None = None) -> RuleInput:
        return RuleInput(disease=disease, scope=scope, trigger=trigger, records=records, now=now,
                         start_day=self.start_day, typical_delay=self.typical_delay,
                         closed_after_days=self.closed_after_days, observed_since=observed_since, weekly=weekly)

    def _scope(self, level: str, trigger: CaseRecord) -> Scope | None:
        if level == "health_area":
            oid = trigger.health_area_id
        elif level == "district":
            oid = trigger.district_id
        else:
            unit = self.pyramid.ancestor_at(trigger.health_area_id, level) \
                if trigger.health_area_id in self.pyramid else None
            oid = unit.id if unit else ""
        if not oid:
            return None
        unit = self.pyramid.units.get(oid)
        return Scope(oid, level, trigger.district_id, unit.population if unit else None)

    def _coords(self, orgunit_id: str) -> tuple[float | None, float | None]:
        if orgunit_id not in self.pyramid:
            return None, None
        for u in self.pyramid.ancestors(orgunit_id):
            if u.lat is not None and u.lon is not None:
                return u.lat, u.lon
        return None, None

    def _record(self, report: Report) -> CaseRecord:
        lat, lon = self._coords(report.orgunit_id)
        return CaseRecord(report.report_id, report.onset_date, report.cases, report.received_at,
                          report.orgunit_id, report.health_area_id, report.district_id, lat, lon)

    def _row_record(self, row: dict[str, Any]) -> CaseRecord:
        lat, lon = self._coords(row["orgunit_id"])
        return CaseRecord(row["report_id"], row["onset_date"], int(row["cases"]), row["received_at"],
                          row["orgunit_id"], row["health_area_id"], row["district_id"], lat, lon)
