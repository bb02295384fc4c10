"""What one call of the detectors stage may share across the reports of a batch.

:meth:`detectors.stage.DetectionStage.on_reports` evaluates a batch of reports that are all stored
before it starts, in the transaction that stored them. Every read of the stage is then a function of
its arguments for the whole call: the stage writes nothing it reads back (its only write is popping
the re-evaluation queue, which only :func:`ingest.reevaluation.pop_due` reads, once per call). So

* :class:`MemoRepository` answers each distinct read (case rows, first onset, weekly history,
  daily cases) from the database once and from memory afterwards: the same query on the same
  database state returns the same rows in the same order, so callers see exactly what the
  un-memoised repository would have returned;
* :class:`BatchMemo` also keeps the case records built from those rows and the results of
  evaluations that do not depend on which report triggered them (see the stage for the keys), so
  reports of the same org unit and period share one rule or detector run.

Each report is evaluated on the data stored *up to it*, as the per-report loop of the embedded
engine sees it, not on the whole batch: :meth:`MemoRepository.stored_after` names the reports of
the batch stored after the trigger, and every read leaves them out (case rows without them, daily
cases and the weekly cube's cases minus theirs, the first onset without them). Rules that compare
periods (``ratio``, ``trend``)
are not monotone in the data — a report of the comparison week can make a condition that held
false again, and an alert once raised stays — so evaluated on the whole batch they would give other
alerts than the same reports evaluated one by one, depending on where the batches fall.

A memo lives for one call and is never stored on the stage (no state between calls: the next batch
sees the reports committed since). Shared signals are handed out as copies with a fresh
``signal_id`` (a random uuid, as for an evaluation of their own) and, for statistical detectors, the
trigger's report id on the onset week (:func:`for_trigger`).
"""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

from sqlalchemy.engine import Connection

from detectors.contracts import Signal
from detectors.epiweek import EpiWeek
from detectors.repository import DetectorRepository
from detectors.rules.base import MAX_REPORT_IDS, CaseRecord
from ingest.cube import week_start_of


class MemoRepository(DetectorRepository):
    """:class:`DetectorRepository` with every read memoised by its arguments (one connection, one
    database state). Results are shared objects: callers read them, never mutate them."""

    def __init__(self, start_day: int = 0) -> None:
        super().__init__(start_day)
        self._memo: dict[tuple[Any, ...], Any] = {}
        self.reads = 0  # reads that went to the database (for tests and benchmarks)
        # values computed from history reads only (never from reports): the stage's, for one call
        self.derived: dict[tuple[Any, ...], Any] = {}
        #: reports of the batch stored after the current trigger (by id): left out of every read
        self.later: dict[str, Any] = {}

    def stored_after(self, reports: Iterable[Any]) -> None:
        """Reads leave ``reports`` out from now on (the batch's reports after the trigger)."""
        self.later = {r.report_id: r for r in reports}

    def hidden(self, level: str | None, orgunit_id: str | None, disease: str | None = None) -> int:
        """How many left-out reports fall in one org unit (and disease): with the batch's later
        reports shrinking as the trigger advances, the same count means the same left-out set."""
        return sum(1 for r in self.later.values() if (disease is None or r.disease == disease)
                   and (level is None or _unit(r, level) == orgunit_id))

    def _later_in(self, level: str, orgunit_id: str, disease: str, since: dt.date, until: dt.date) -> list[Any]:
        """The left-out reports of one org unit and disease with onset in ``[since, until]``."""
        return [r for r in self.later.values() if r.disease == disease and _unit(r, level) == orgunit_id
                and since <= r.onset_date <= until]

    def _cached(self, key: tuple[Any, ...], read: Callable[[], Any]) -> Any:
        if key not in self._memo:
            self.reads += 1
            self._memo[key] = read()
        return self._memo[key]

    def case_rows(self, conn: Connection, disease: str, since: dt.date, until: dt.date, *,
                  level: str | None = None, orgunit_id: str | None = None) -> list[dict[str, Any]]:
        rows = self.all_case_rows(conn, disease, since, until, level=level, orgunit_id=orgunit_id)
        return [r for r in rows if r["report_id"] not in self.later] if self.later else rows

    def all_case_rows(self, conn: Connection, disease: str, since: dt.date, until: dt.date, *,
                      level: str | None = None, orgunit_id: str | None = None) -> list[dict[str, Any]]:
        """:meth:`case_rows` on the whole batch (the later reports included)."""
        return self._cached(("case_rows", disease, since, until, level, orgunit_id),
                            lambda: DetectorRepository.case_rows(self, conn, disease, since, until, level=level,
                                                                 orgunit_id=orgunit_id))

    def first_case_rows(self, conn: Connection, disease: str, since: dt.date, until: dt.date, *, level: str,
                        orgunit_id: str, limit: int) -> list[dict[str, Any]]:
        """The first ``limit`` rows without the batch's later reports (read with as many more)."""
        later = self._later_in(level, orgunit_id, disease, since, until)
        rows = self._cached(("first_case_rows", disease, since, until, level, orgunit_id, limit + len(later)),
                            lambda: DetectorRepository.first_case_rows(self, conn, disease, since, until, level=level,
                                                                       orgunit_id=orgunit_id, limit=limit + len(later)))
        return [r for r in rows if r["report_id"] not in self.later][:limit] if later else rows

    def daily_cases(self, conn: Connection, level: str, orgunit_id: str, disease: str,
                    since: dt.date, until: dt.date) -> dict[dt.date, int]:
        daily = self._cached(("daily_cases", level, orgunit_id, disease, since, until),
                             lambda: DetectorRepository.daily_cases(self, conn, level, orgunit_id, disease,
                                                                    since, until))
        later = self._later_in(level, orgunit_id, disease, since, until)
        if not later:
            return daily
        daily = dict(daily)
        for r in later:
            daily[r.onset_date] -= r.cases
        return daily

    def first_onset(self, conn: Connection, level: str, orgunit_id: str,
                    without: Sequence[str] = ()) -> dt.date | None:
        if without:
            ids = tuple(sorted(without))
            return self._cached(("first_onset", level, orgunit_id, ids),
                                lambda: DetectorRepository.first_onset(self, conn, level, orgunit_id, ids))
        first = self._cached(("first_onset", level, orgunit_id),
                             lambda: DetectorRepository.first_onset(self, conn, level, orgunit_id))
        return self._before_later(conn, level, orgunit_id, first)

    def _before_later(self, conn: Connection, level: str, orgunit_id: str, first: dt.date | None) -> dt.date | None:
        """``first`` (an earliest onset read with the whole batch), or — when it may be a later
        report's — the earliest onset of the reports without them (rare: a new earliest onset)."""
        hidden = tuple(sorted(r.report_id for r in self.later.values()
                              if _unit(r, level) == orgunit_id and r.onset_date == first))
        return self.first_onset(conn, level, orgunit_id, hidden) if hidden else first

    def weekly_cases(self, conn: Connection, level: str, orgunit_id: str, disease: str,
                     since: dt.date, until: dt.date) -> dict[dt.date, int]:
        weekly = self._cached(("weekly_cases", level, orgunit_id, disease, since, until),
                              lambda: DetectorRepository.weekly_cases(self, conn, level, orgunit_id, disease,
                                                                      since, until))
        later = [(w, r) for r in self.later.values() if r.disease == disease and _unit(r, level) == orgunit_id
                 for w in (week_start_of(r.onset_date, self.start_day),) if since <= w <= until]
        if not later:
            return weekly
        weekly = dict(weekly)
        for w, r in later:
            weekly[w] -= r.cases
        return weekly

    def observed_since(self, conn: Connection, level: str, orgunit_id: str) -> dt.date | None:
        first = self._cached(("observed_since", level, orgunit_id),
                             lambda: DetectorRepository.observed_since(self, conn, level, orgunit_id))
        return self._before_later(conn, level, orgunit_id, first)

    def history(self, conn: Connection, orgunit_id: str, disease: str) -> dict[EpiWeek, int]:
        return self._cached(("history", orgunit_id, disease),
                            lambda: DetectorRepository.history(self, conn, orgunit_id, disease))

    def history_since(self, conn: Connection, orgunit_id: str, disease: str, since: EpiWeek
                      ) -> tuple[EpiWeek | None, dict[EpiWeek, int]]:
        return self._cached(("history_since", orgunit_id, disease, since),
                            lambda: DetectorRepository.history_since(self, conn, orgunit_id, disease, since))

    def history_sum_since(self, conn: Connection, orgunit_ids: Iterable[str], disease: str, since: EpiWeek
                          ) -> tuple[EpiWeek | None, dict[EpiWeek, int]]:
        ids = tuple(orgunit_ids)  # the inherited sum reads each area through the memoised read
        return self._cached(("history_sum_since", ids, disease, since),
                            lambda: DetectorRepository.history_sum_since(self, conn, ids, disease, since))

    def history_sum(self, conn: Connection, orgunit_ids: Iterable[str], disease: str) -> dict[EpiWeek, int]:
        ids = tuple(orgunit_ids)  # the inherited sum reads each area through the memoised history
        return self._cached(("history_sum", ids, disease),
                            lambda: DetectorRepository.history_sum(self, conn, ids, disease))


def _unit(report: Any, level: str) -> str:
    return report.health_area_id if level == "health_area" else report.district_id


@dataclass
class BatchMemo:
    """Reads and trigger-independent results shared by the evaluations of one stage call."""

    reads: MemoRepository = field(default_factory=MemoRepository)
    records: dict[tuple[Any, ...], tuple[CaseRecord, ...]] = field(default_factory=dict)
    record_of: dict[str, CaseRecord] = field(default_factory=dict)  # by report id (rows never change in a call)
    rules: dict[tuple[Any, ...], list[Signal]] = field(default_factory=dict)
    detectors: dict[tuple[Any, ...], list[Signal]] = field(default_factory=dict)


def fresh(signals: Sequence[Signal]) -> list[Signal]:
    """Copies of shared signals with new random ids (what a separate evaluation would have given)."""
    return [s.model_copy(update={"signal_id": str(uuid.uuid4())}) for s in signals]


def for_trigger(signals: Sequence[Signal], onset_week: EpiWeek, report_ids: Sequence[str]) -> list[Signal]:
    """Statistical detector signals evaluated without report ids, as :func:`detectors.statistical.evaluate`
    would have returned them with ``report_ids={onset_week: report_ids}``: the ids go on the signal
    of the onset week (capped at ``MAX_REPORT_IDS``), every signal gets a new random id."""
    ids, week = tuple(report_ids)[:MAX_REPORT_IDS], str(onset_week)
    return [s.model_copy(update={"signal_id": str(uuid.uuid4()),
                                 "report_ids": ids if s.epiweek == week else s.report_ids})
            for s in signals]
