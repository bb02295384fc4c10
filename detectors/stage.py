"""The detectors stage of the pipeline: a stored report in, signals out.

Composition calls :meth:`DetectionStage.on_report` inside the transaction that stored the report.
For the report's disease it runs

1. the case-definition rules (:mod:`detectors.rules`, default: the IDSR catalogue) for the report's
   onset period, at the health area and/or district the rule names (cluster rules over every report
   of the disease nearby in space and time);
2. the statistical detectors configured for the disease (:mod:`detectors.statistical`) on the
   weekly series of the report's health area or district: the onset week only when it is the
   current week (one point: cheap), else the onset week up to the current week (at most
   ``reevaluate_weeks`` later) — a count added to a past week changes the baselines and cumulative
   statistics (CUSUM, EARS C3) of the weeks after it.

Signals about a period that had already closed when they were raised say so (``raised_late``) and
when they would have fired (``would_have_fired_at``); see :mod:`detectors.rules.base`.

Re-evaluation queue: ingest queues (health area, disease, week) cells that late reports changed
(:mod:`ingest.reevaluation`). :meth:`reevaluate_due` pops the due cells and re-runs the period rules
and statistical detectors on them (not immediate or cluster rules: those are about one report and
already ran when it arrived). It is idempotent by dedup key; :meth:`on_report` also drains a few due
cells, so an embedded engine without a timer still empties the queue.

Batches: :meth:`on_reports` evaluates reports that are all stored already (one transaction) and
returns, for each, exactly what :meth:`on_report` returns for it right after it was stored: on the
data stored up to it, the batch's later reports left out (signal ids aside: random uuids either
way) — what the embedded engine, which stores and evaluates one report at a time, gives for the
same reports in the same order. (On the whole batch instead, the rules comparing periods would give
alerts that depend on where the batches fall: :mod:`detectors.memo`.) It shares the work across the
batch (:mod:`detectors.memo`):

* each distinct SQL read is made once (memoised by its arguments for the call), and the later
  reports are taken out of its answer in memory;
* period rules (``count``, ``rate``, ``ratio``, ``trend``: they read the trigger only through its
  onset date) are run once per (rule, level, scope, onset date, data) — those counting epi weeks on
  the weekly cube, not on the window's reports (:mod:`detectors.stage_rules`); statistical detectors once per
  (config, org unit, district, evaluated weeks, data), the trigger's report id then put on the signal of
  its onset week, as the per-report run does; immediate and cluster rules stay per report (they
  read the trigger's cases, id and place), over memoised rows;
* the queue is popped once, ``queue_batch × len(reports)`` due cells oldest first, and the cells
  are handed out ``queue_batch`` at a time in report order: report ``i`` gets the signals of cells
  ``i·queue_batch … (i+1)·queue_batch − 1``, the cells its own :meth:`on_report` call would have
  popped in a loop over the batch (the stage reads nothing else of the queue). :meth:`on_report` is
  ``on_reports(conn, [report], now)[0]``.

Metrics: every (rule or detector, report) still counts as one evaluation (alarm counters as with
the per-report loop); the duration histogram observes the runs actually made.
"""
from __future__ import annotations

import datetime as dt
import logging
import time
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from sqlalchemy.engine import Connection

from detectors import metrics
from detectors.contracts import Signal
from detectors.epiweek import EpiWeek, epiweek, week_end, week_start
from detectors.memo import BatchMemo, MemoRepository, for_trigger
from detectors.repository import DetectorRepository
from detectors.rules.base import DEFAULT_CLOSED_AFTER_DAYS, DEFAULT_TYPICAL_DELAY, CaseRecord, Scope
from detectors.rules.catalogue import RuleCatalogue, load_rules
from detectors.stage_rules import RuleEvaluation
from detectors.statistical import DetectorConfig, DetectorSet, evaluate, fitted_params, load_detectors
from detectors.weekly import history_array, weekly_counts_by_week
from ingest.contracts import Report
from ingest.diseases import DiseaseCatalogue
from ingest.pyramid import Pyramid
from ingest.reevaluation import ReevaluationItem, pop_due

if TYPE_CHECKING:  # pragma: no cover
    from detectors.session import DetectionSession

log = logging.getLogger("sebac.detectors")
_DEFAULTS: dict[tuple[Any, ...], Any] = {}


def _default(kind: str, diseases: DiseaseCatalogue, levels: tuple[str, ...]):
    """The shipped rule set / detector config, loaded once per disease catalogue (start-up cost)."""
    key = (kind, tuple(diseases.codes()), levels)
    if key not in _DEFAULTS:
        _DEFAULTS[key] = (load_rules(None, diseases, levels) if kind == "rules"
                          else load_detectors(None, diseases, levels))
    return _DEFAULTS[key]


class DetectionStage(RuleEvaluation):
    def __init__(self, pyramid: Pyramid, diseases: DiseaseCatalogue, *, epiweek_start_day: int = 0,
                 rules: RuleCatalogue | None = None, detectors: DetectorSet | None = None,
                 typical_delay: dt.timedelta = DEFAULT_TYPICAL_DELAY,
                 closed_after_days: int = DEFAULT_CLOSED_AFTER_DAYS,
                 queue_settle: dt.timedelta = dt.timedelta(minutes=15), queue_batch: int = 10):
        self.pyramid = pyramid
        self.diseases = diseases
        self.start_day = epiweek_start_day
        self.rules = rules if rules is not None else _default("rules", diseases, pyramid.levels)
        self.detectors = detectors if detectors is not None else _default("detectors", diseases, pyramid.levels)
        self.typical_delay = typical_delay
        self.closed_after_days = closed_after_days
        self.queue_settle = queue_settle
        self.queue_batch = queue_batch
        self.repo = DetectorRepository(epiweek_start_day)
        metrics.precreate({r.kind for r in self.rules} | {c.algorithm for c in self.detectors},
                          diseases.codes())

    # -- entry points ------------------------------------------------------------------------------
    def on_report(self, conn: Connection, report: Report, now: dt.datetime) -> list[Signal]:
        return self.on_reports(conn, [report], now)[0]

    def on_reports(self, conn: Connection, reports: Sequence[Report], now: dt.datetime) -> list[list[Signal]]:
        """Signals for each of ``reports`` (all stored already, same transaction), in order: what
        :meth:`on_report` gives for each on this database state, with the work shared (module doc)."""
        memo = self._memo()
        due = pop_due(conn, now, settle=self.queue_settle, limit=self.queue_batch * len(reports)) \
            if self.queue_batch and reports else []
        later: dict[str, Report] = {}  # reports stored after the current one (a repeat was stored before)
        for report in reports:
            later.setdefault(report.report_id, report)
        out = []
        for i, report in enumerate(reports):
            later.pop(report.report_id, None)
            memo.reads.stored_after(later.values())  # evaluated on the data stored up to this report
            trigger = self._record(report)
            signals = self.evaluate_rules(conn, report.disease, trigger, now, memo=memo)
            signals += self.evaluate_detectors(conn, report.disease, report.health_area_id, report.district_id,
                                               report.onset_date, now, report_ids=(report.report_id,), memo=memo)
            cells = due[i * self.queue_batch:(i + 1) * self.queue_batch]
            out.append(signals + self._reevaluate_items(conn, cells, now, memo))
        return out

    def session(self, conn: Connection, now: dt.datetime, expected: int = 1) -> DetectionSession:
        """Evaluate ``expected`` reports one after the other, each as :meth:`on_report` with it and
        the reports before it stored, while none is written yet (:mod:`detectors.session`)."""
        from detectors.session import DetectionSession

        return DetectionSession(self, conn, now, expected)

    def reevaluate_due(self, conn: Connection, now: dt.datetime, *, settle: dt.timedelta | None = None,
                       limit: int = 1000) -> list[Signal]:
        """Pop the re-evaluation cells due at ``now`` and re-run period rules and detectors on them."""
        due = pop_due(conn, now, settle=self.queue_settle if settle is None else settle, limit=limit)
        return self._reevaluate_items(conn, due, now, self._memo())

    def _reevaluate_items(self, conn: Connection, items: Iterable[ReevaluationItem], now: dt.datetime,
                          memo: BatchMemo) -> list[Signal]:
        out: list[Signal] = []
        for item in items:
            out += self.reevaluate_cell(conn, item.area_id, item.disease, item.epiweek, now, memo=memo)
        return out

    def reevaluate_cell(self, conn: Connection, area_id: str, disease: str, week: str,
                        now: dt.datetime, *, memo: BatchMemo | None = None) -> list[Signal]:
        """Period rules and statistical detectors for one (health area, disease, epi week) and the
        area's district; immediate and cluster rules are per report and are not re-run."""
        if area_id not in self.pyramid or disease not in self.diseases:
            return []
        memo = memo if memo is not None else self._memo()
        district = self.pyramid.ancestor_at(area_id, "district")
        start = week_start(EpiWeek.parse(week), self.start_day)
        trigger = CaseRecord(report_id="", onset_date=start, cases=0, received_at=now,
                             health_area_id=area_id, district_id=district.id if district else "")
        out = self.evaluate_rules(conn, disease, trigger, now, period_rules_only=True, memo=memo)
        return out + self.evaluate_detectors(conn, disease, area_id, trigger.district_id, start, now, memo=memo)

    def on_week_closed(self, conn: Connection, area_id: str, disease: str, week: str, cases: int,
                       now: dt.datetime) -> list[Signal]:
        """Streaming hook: an epi week closed for (area, disease); evaluate it once more, complete."""
        return self.reevaluate_cell(conn, area_id, disease, week, now)

    def evaluate_week(self, conn: Connection, now: dt.datetime, *, week: EpiWeek | None = None,
                      levels: Iterable[str] | None = None, n_eval: int = 1, workers: int = 1
                      ) -> tuple[list[Signal], dict[str, int]]:
        """Scheduler hook when an epi week closes: the national batch (:mod:`detectors.national`) runs
        every statistical detector on every org unit of its level for ``week`` (default: the last
        closed week) and the ``n_eval - 1`` weeks before, vectorised; same signals and dedup keys
        as the per-report path, deterministic signal ids (a re-run changes nothing downstream)."""
        from detectors.national import last_closed_week
        from detectors.national_db import evaluate_national

        return evaluate_national(conn, self.pyramid, self.detectors, week or last_closed_week(now, self.start_day),
                                 now, start_day=self.start_day, n_eval=n_eval, levels=levels, workers=workers,
                                 typical_delay=self.typical_delay, closed_after_days=self.closed_after_days,
                                 cache=self.__dict__.setdefault("_national_history", {}))

    # -- statistical detectors ---------------------------------------------------------------------
    def evaluate_detectors(self, conn: Connection, disease: str, health_area_id: str, district_id: str,
                           onset: dt.date, now: dt.datetime, *, report_ids: Iterable[str] = (),
                           memo: BatchMemo | None = None) -> list[Signal]:
        memo = memo if memo is not None else self._memo()
        out: list[Signal] = []
        onset_week = epiweek(onset, self.start_day)
        current = epiweek(now.date(), self.start_day)
        report_ids = tuple(report_ids)
        for cfg in self.detectors.for_disease(disease):
            orgunit = health_area_id if cfg.level == "health_area" else district_id
            last = onset_week
            if current > onset_week and cfg.reevaluate_weeks:
                last = min(current, self._shift(onset_week, cfg.reevaluate_weeks))
            n_eval = self._weeks(onset_week, last)
            # the trigger only adds its report id to the onset week's signal: run once per cell, without ids
            # … on the same data: the batch's later reports left out of the unit (its disease, and any
            # disease for its first onset) shrink as the trigger advances, so equal counts are equal sets
            key = (cfg.id, orgunit, district_id, onset_week, last, n_eval,
                   memo.reads.hidden(cfg.level, orgunit, disease), memo.reads.hidden(cfg.level, orgunit))
            if key not in memo.detectors:
                t0 = time.perf_counter()
                memo.detectors[key] = self._run(conn, memo.reads, cfg, disease, orgunit, district_id, last,
                                                n_eval, now, {})
                metrics.observe_duration(cfg.algorithm, time.perf_counter() - t0)
            signals = for_trigger(memo.detectors[key], onset_week, report_ids)
            metrics.observe_evaluation(cfg.algorithm, disease, bool(signals))
            out += signals
        return out

    def _run(self, conn: Connection, reads: MemoRepository, cfg: DetectorConfig, disease: str, orgunit: str,
             district_id: str, last: EpiWeek, n_eval: int, now: dt.datetime,
             report_ids: dict[EpiWeek, tuple[str, ...]]) -> list[Signal]:
        # history: its first week and the weeks an evaluation up to ``now`` may read (``lo`` on), not
        # all of it (20 years of weekly counts cost as much to read as the rest of the report)
        this_week = week_start(epiweek(now.date(), self.start_day), self.start_day)
        lo = this_week - dt.timedelta(weeks=cfg.needed_history() + cfg.reevaluate_weeks + 1)
        lo_week = epiweek(lo, self.start_day)
        areas = None
        start, history = reads.history_since(conn, orgunit, disease, lo_week)
        if start is None and cfg.level == "district":
            areas = [u.id for u in self.pyramid.descendants(orgunit) if u.level == "health_area"] \
                if orgunit in self.pyramid else []
            start, history = reads.history_sum_since(conn, areas, disease, lo_week)
        first_seen = [d for d in (reads.observed_since(conn, cfg.level, orgunit),) if d is not None]
        if start is not None:
            first_seen.append(week_start(start, self.start_day))
        if not first_seen:
            return []
        wanted = self._shift(last, -(cfg.needed_history() + n_eval - 1))
        first = max(epiweek(min(first_seen), self.start_day), wanted)
        if first > last or fitted_params(cfg, self._weeks(first, last)) is None:
            return []  # warm-up: not enough weeks observed yet (no need to read the counts)
        since, until = week_start(first, self.start_day), week_start(last, self.start_day)
        if since < lo:  # an old onset: weeks before the window read above
            history = reads.history(conn, orgunit, disease) if areas is None else reads.history_sum(conn, areas,
                                                                                                    disease)
        # one cube read per series and call: the weeks any evaluation up to ``now`` may ask for (the
        # counts are looked up by week start, so a wider read gives the same series)
        if lo <= since and until <= this_week:
            since, until = lo, this_week
        by_week = reads.weekly_cases(conn, cfg.level, orgunit, disease, since, until)
        hkey = ("history_array", orgunit, disease, first, last, since < lo)  # the history's weeks, once per call
        if hkey not in reads.derived:
            reads.derived[hkey] = history_array(history, first, last, self.start_day)
        weeks, counts = weekly_counts_by_week(by_week, history, first, last, self.start_day,
                                              from_history=reads.derived[hkey])

        def daily(week: EpiWeek) -> dict[dt.date, int]:  # the days of a week that alarmed (signal fields)
            return reads.daily_cases(conn, cfg.level, orgunit, disease, week_start(week, self.start_day),
                                     week_end(week, self.start_day))

        unit = self.pyramid.units.get(orgunit)
        scope = Scope(orgunit, cfg.level, district_id, unit.population if unit else None)
        return evaluate(cfg, scope, disease, weeks, counts, min(n_eval, len(weeks)), daily, now,
                        start_day=self.start_day, typical_delay=self.typical_delay,
                        closed_after_days=self.closed_after_days, report_ids=report_ids)

    # -- helpers -----------------------------------------------------------------------------------
    def _shift(self, week: EpiWeek, n: int) -> EpiWeek:
        return epiweek(week_start(week, self.start_day) + dt.timedelta(weeks=n), self.start_day)

    def _weeks(self, a: EpiWeek, b: EpiWeek) -> int:
        return (week_start(b, self.start_day) - week_start(a, self.start_day)).days // 7 + 1
