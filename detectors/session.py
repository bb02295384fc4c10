"""Reports of a batch evaluated in order, exactly as one per transaction, with the rows written once.

:meth:`detectors.stage.DetectionStage.on_report` sees the database with the report stored. A batch
replayed in order (``sebac replay``, an HTTP batch) should give each report exactly the signals it
would have had alone — report ``i`` sees reports ``0..i`` and not ``i+1..`` — while storing the rows
with one ``executemany`` at the end. :class:`DetectionSession` does that:

* the batch's reports are *not* in the database while it runs (the caller inserts them after);
* :class:`OverlayReads` answers every read of the stage (case rows, a signal's first rows, daily
  cases, the weekly cube, observed-since) from the database once, memoised, with the reports
  already :meth:`added <DetectionSession.add>` folded in — a read made before an add is patched by
  it, a read made after one folds it in when it is first made. The folded value is what the same SQL would return
  with those rows stored (rows of one org unit in index order: onset date, then insertion);
* rule and detector results are not shared between reports (each report changes its own cells);
* when the caller writes the rows added so far before the batch ends (a report to be held as a
  cross-channel possible duplicate needs its row), :meth:`DetectionSession.written` drops the
  memoised reads: the database answers for those reports from then on.

The re-evaluation queue is popped once for the batch (``queue_batch`` cells per report, handed out
in report order, as :meth:`~detectors.stage.DetectionStage.on_reports`): marks made during the
batch are not due yet at the batch's ``now`` when the settle delay is positive; with no settle
delay the session pops before each report instead, as the per-report path does.
"""
from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

from detectors.contracts import Signal
from detectors.memo import BatchMemo, MemoRepository
from detectors.repository import SIGNAL_ORDER
from ingest.contracts import Report
from ingest.cube import week_start_of
from ingest.reevaluation import ReevaluationItem, pop_due

if TYPE_CHECKING:  # pragma: no cover
    from detectors.stage import DetectionStage

_UNIT = {"health_area": "health_area_id", "district": "district_id"}


def _unit(report: Report, level: str | None) -> str | None:
    return getattr(report, _UNIT[level]) if level in _UNIT else None


def _row(r: Report) -> dict[str, Any]:
    return {"report_id": r.report_id, "orgunit_id": r.orgunit_id, "health_area_id": r.health_area_id,
            "district_id": r.district_id, "onset_date": r.onset_date, "cases": r.cases, "received_at": r.received_at}


def _add(counts: dict, key: Any, n: int) -> dict:
    out = dict(counts)
    out[key] = out.get(key, 0) + n
    return out


def fold(key: tuple[Any, ...], value: Any, r: Report, start_day: int) -> Any:
    """``value`` of the memoised read ``key`` with report ``r`` stored too (the same object if ``r``
    is outside the read)."""
    kind = key[0]
    if kind == "case_rows":
        _, disease, since, until, level, orgunit = key
        if r.disease != disease or not since <= r.onset_date <= until:
            return value
        if level is None:  # a scan of the disease: rows in insertion order
            return value + [_row(r)]
        if _unit(r, level) != orgunit:
            return value
        return sorted(value + [_row(r)], key=lambda row: row["onset_date"])  # index order (stable)
    if kind == "first_case_rows":  # the first ``limit`` rows in a signal's order
        _, disease, since, until, level, orgunit, limit = key
        if r.disease != disease or _unit(r, level) != orgunit or not since <= r.onset_date <= until:
            return value
        return sorted(value + [_row(r)], key=operator.itemgetter(*SIGNAL_ORDER))[:limit]
    if kind in ("daily_cases", "weekly_cases"):
        _, level, orgunit, disease, since, until = key
        day = r.onset_date if kind == "daily_cases" else week_start_of(r.onset_date, start_day)
        if r.disease != disease or _unit(r, level) != orgunit or not since <= day <= until:
            return value
        return _add(value, day, int(r.cases))
    if kind in ("first_onset", "observed_since"):
        _, level, orgunit = key
        if _unit(r, level) != orgunit:
            return value
        return r.onset_date if value is None else min(value, r.onset_date)
    return value  # history: not from reports


class OverlayReads(MemoRepository):
    """Memoised reads of the database state before the batch, with the added reports folded in."""

    def __init__(self, start_day: int = 0) -> None:
        super().__init__(start_day)
        self.added: list[Report] = []
        # the added reports, in order, by the slots of the reads they may change (as ``_index``)
        self._added_at: dict[tuple[str | None, str | None], list[Report]] = {}
        # the reads a report may change, by (disease, org unit) (org unit None: a scan of the disease)
        self._index: dict[tuple[str | None, str | None], list[tuple[Any, ...]]] = {}

    def _slot(self, key: tuple[Any, ...]) -> tuple[str | None, str | None] | None:
        kind = key[0]
        if kind == "case_rows":
            return key[1], key[5] if key[4] is not None else None
        if kind == "first_case_rows":
            return key[1], key[5]
        if kind in ("daily_cases", "weekly_cases"):
            return key[3], key[2]
        if kind in ("first_onset", "observed_since"):
            return None, key[2]
        return None

    def _cached(self, key: tuple[Any, ...], read: Callable[[], Any]) -> Any:
        if key not in self._memo:
            self.reads += 1
            value = read()
            slot = self._slot(key)
            if slot is not None:  # fold the added reports that may change it (a superset: fold checks)
                for r in self._added_at.get(slot, ()):
                    value = fold(key, value, r, self.start_day)
                self._index.setdefault(slot, []).append(key)
            self._memo[key] = value
        return self._memo[key]

    def add(self, r: Report) -> list[tuple[Any, ...]]:
        """Fold ``r`` into every read made so far; returns the keys whose value changed."""
        self.added.append(r)
        slots = tuple(dict.fromkeys(((r.disease, None), (r.disease, r.health_area_id), (r.disease, r.district_id),
                                     (None, r.health_area_id), (None, r.district_id))))  # once each
        for slot in slots:
            self._added_at.setdefault(slot, []).append(r)
        changed = []
        get = self._index.get
        keys = [k for slot in slots for k in get(slot, ())]
        for key in dict.fromkeys(keys):  # once each (a read is indexed under one slot only)
            old = self._memo[key]
            new = fold(key, old, r, self.start_day)
            if new is not old:
                self._memo[key] = new
                changed.append(key)
        return changed


class DetectionSession:
    """One batch, in order: ``add(report)`` then ``on_report(report)`` for each (module doc)."""

    def __init__(self, stage: DetectionStage, conn: Connection, now: dt.datetime, expected: int):
        self.stage, self.conn, self.now = stage, conn, now
        self.reads = OverlayReads(stage.start_day)
        self.memo = BatchMemo(reads=self.reads)
        self._due: list[ReevaluationItem] = []
        self._per_report_pop = stage.queue_settle <= dt.timedelta(0)
        if stage.queue_batch and expected and not self._per_report_pop:
            self._due = pop_due(conn, now, settle=stage.queue_settle, limit=stage.queue_batch * expected)

    @property
    def pops_per_report(self) -> bool:
        """The queue is popped before each report (no settle delay): the marks of the batch's reports
        must be queued as they come."""
        return self._per_report_pop

    def add(self, report: Report) -> None:
        """``report`` is stored (for every read of the session) from now on."""
        for key in self.reads.add(report):
            if key[0] == "case_rows":
                self.memo.records.pop(key[1:], None)
        self.memo.rules.clear()
        self.memo.detectors.clear()

    def written(self) -> None:
        """The reports added so far are in the table now: reads start again from the database."""
        self.reads = OverlayReads(self.stage.start_day)
        self.memo = BatchMemo(reads=self.reads)

    def on_report(self, report: Report) -> list[Signal]:
        """What ``stage.on_report`` gives for ``report`` with it and the reports added before stored."""
        stage, conn, now = self.stage, self.conn, self.now
        trigger = stage._record(report)
        signals = stage.evaluate_rules(conn, report.disease, trigger, now, memo=self.memo)
        signals += stage.evaluate_detectors(conn, report.disease, report.health_area_id, report.district_id,
                                            report.onset_date, now, report_ids=(report.report_id,), memo=self.memo)
        if stage.queue_batch:
            if self._per_report_pop:
                due = pop_due(conn, now, settle=stage.queue_settle, limit=stage.queue_batch)
            else:
                due, self._due = self._due[:stage.queue_batch], self._due[stage.queue_batch:]
            if due:
                signals += stage._reevaluate_items(conn, due, now, self.memo)
                self.memo.rules.clear()
                self.memo.detectors.clear()
        return signals
