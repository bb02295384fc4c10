"""What a worker does with a batch of messages, without faust: decode, call the stages, return outputs.

The stages are the embedded pipeline's own objects (``Pipeline.intake``, ``Pipeline.detection``,
``Pipeline.alerting``); this module only batches their calls into one database transaction per
batch and makes every effect idempotent so that at-least-once delivery gives an exactly-once effect:

* reports: ``INSERT … ON CONFLICT (idempotency_key) DO NOTHING``; ingest's intake notes are recorded
  for new reports only; the case-definition rules run on new *and* redelivered reports (a crash may
  have happened after the commit but before the signals were sent) with stable signal ids;
* signals: an inbox row ``signal:<id>`` is written in the transaction that applies the signal; a
  redelivered signal re-emits the outputs recorded with it and changes nothing;
* poison messages (undecodable, unknown org unit, a rule that raises) become rejected records with
  a stable reason key; database errors are not poison: they propagate and the worker retries the
  batch (:mod:`sebac.streaming.agents`);
* no record is skipped: :meth:`WorkerStages.run` puts back what the consumer skipped before the
  work, and :meth:`WorkerStages.note_handled` advances the consumed marks once the outputs are
  acknowledged (:mod:`sebac.streaming.gaps`).
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
import uuid
from typing import Any, Callable, Sequence, TypeVar

import sqlalchemy as sa
from pydantic import ValidationError

from alerts.contracts import AlertEvent
from detectors.contracts import Signal
from ingest.contracts import Report
from ingest.metrics import observe_report_duplicate, observe_report_received
from sebac.metrics import observe_report_processed, precreate_worker
from sebac.pipeline import Pipeline
from sebac.streaming.codec import RejectedRecord, WeekCount, raw_text, with_stable_signal_id
from sebac.streaming.gaps import RangeReader, holes, offsets_of, ranges_of, read_skipped, skipped_below
from sebac.streaming.metrics import READ_BACK
from sebac.streaming.records import (  # noqa: F401 - WeekCell: the stages' callers import it from here
    Message,
    Output,
    ReportsDone,
    WeekCell,
    poison,
)
from sebac.streaming.records import offset_of as _offset
from sebac.streaming.records import rejected_output as _rejected_output
from sebac.streaming.repository import StreamRepository

log = logging.getLogger("sebac.streaming.worker")

T = TypeVar("T")

#: alert event types that ask for someone to be told (the notifications topic)
NOTIFY_ON = ("created", "escalated")


STREAM_WORKER = "stream"  # the metrics' worker label; Prometheus's instance label tells workers apart


class WorkerStages:
    def __init__(self, pipeline: Pipeline, repository: StreamRepository | None = None,
                 reader: RangeReader | None = None):
        self.pipeline = pipeline
        self.db: sa.Engine = pipeline.db
        self.repo = repository or StreamRepository(pipeline.start_day)
        #: reads skipped records back by offset; None: skips are not checked (unit tests, benchmarks)
        self.reader = reader
        self._local: dict[tuple[str, int], int] = {}  # partition → every offset below it handled here
        self._unsaved: dict[tuple[str, int], tuple[int, int]] = {}  # handled ranges not in the database yet
        self._marks_lock = threading.Lock()  # noted on the event loop, saved from worker threads
        self._last_step: dict[tuple[str, int], float] = {}  # partition → when a batch of it last started
        self._born = time.monotonic()
        precreate_worker(STREAM_WORKER, ("reports",))

    # -- no record skipped -------------------------------------------------------------------------
    # Marks are noted in memory when a batch is done (outputs acked) and saved to the database by a
    # timer (every second): no round trip on the hot path. A mark saved late only makes a crash
    # followed by a takeover read the last batches back for nothing.
    def run(self, kind: str, batch: Sequence[Message], now: dt.datetime,
            work: Callable[[list[Message], dt.datetime], T]) -> tuple[list[Message], T]:
        """One worker step in one thread: put back what the consumer skipped, do ``work`` on the
        whole; returns (the messages handled, the result)."""
        full = self.with_skipped(batch, kind)
        started = time.monotonic()
        for tp in ranges_of(full):
            self._last_step[tp] = started
        return full, work(full, now)

    def with_skipped(self, batch: Sequence[Message], kind: str = "reports") -> list[Message]:
        """The batch with the records its consumer skipped: since each partition's mark, and between
        the batch's own offsets."""
        if self.reader is None or not batch:
            return list(batch)
        offsets = offsets_of(batch)
        with self._marks_lock:
            marks = {tp: self._local[tp] for tp in offsets if tp in self._local}
        unsure = [tp for tp, offs in offsets.items() if tp not in marks or offs[0] > marks[tp]]
        if unsure:  # not the usual case (the batch continuing what this worker handled): ask the database
            stored = self._marks(unsure)
            for tp, mark in stored.items():
                marks[tp] = max(mark, marks.get(tp, -1))
            new = {tp: offsets[tp][0] for tp in unsure if tp not in marks}
            if new:  # never consumed with this database: the marks start here, at once (not with the timer)
                with self.db.begin() as conn:
                    for topic in sorted({t for t, _ in new}):
                        self.repo.start_marks(conn, topic, {p: f for (t, p), f in new.items() if t == topic},
                                              dt.datetime.now(dt.timezone.utc))
        gaps = holes(offsets, marks)
        if not gaps:
            return list(batch)
        back = read_skipped(self.reader, gaps, Message)
        READ_BACK.labels(kind).inc(len(back))
        return back + list(batch)

    def note_handled(self, batch: Sequence[Message]) -> None:
        """``batch`` is done: its effects committed and its outputs acknowledged by the broker."""
        if self.reader is None or not batch:
            return
        with self._marks_lock:
            for tp, (first, last) in ranges_of(batch).items():
                self._local[tp] = max(self._local.get(tp, -1), last + 1)
                self._keep_unsaved(tp, first, last)

    def _keep_unsaved(self, tp: tuple[str, int], first: int, last: int) -> None:
        seen = self._unsaved.get(tp)
        self._unsaved[tp] = (first, last) if seen is None else (min(seen[0], first), max(seen[1], last))

    def save_marks(self, now: dt.datetime) -> None:
        with self._marks_lock:
            unsaved, self._unsaved = self._unsaved, {}
        if not unsaved:
            return
        try:
            with self.db.begin() as conn:
                for topic in sorted({t for t, _ in unsaved}):
                    self.repo.advance_marks(conn, topic, {p: r for (t, p), r in unsaved.items() if t == topic}, now)
        except Exception:
            with self._marks_lock:  # keep them for the next attempt
                for tp, (first, last) in unsaved.items():
                    self._keep_unsaved(tp, first, last)
            raise

    def _marks(self, tps) -> dict[tuple[str, int], int]:
        marks: dict[tuple[str, int], int] = {}
        with self.db.connect() as conn:
            for topic in {t for t, _ in tps}:
                got = self.repo.marks(conn, topic, [p for t, p in tps if t == topic])
                marks.update({(topic, p): n for p, n in got.items()})
        return marks

    def read_back_below(self, ends: dict[tuple[str, int], int], kind: str,
                        idle_for: float | None = None) -> list[Message]:
        """Records between each partition's mark and ``ends`` — the group's committed offsets
        (skipped at the end of a partition), or with ``idle_for`` the end of the log of partitions
        that had no batch for that many seconds (records never delivered). Records gone with
        retention are passed over: the mark moves past them."""
        if self.reader is None or not ends:
            return []
        if idle_for is not None:
            clock = time.monotonic()
            ends = {tp: e for tp, e in ends.items() if clock - self._last_step.get(tp, self._born) >= idle_for}
        if not ends:
            return []
        now = dt.datetime.now(dt.timezone.utc)
        self.save_marks(now)
        with self._marks_lock:
            marks = {tp: self._local[tp] for tp in ends if tp in self._local}
        for tp, mark in self._marks(list(ends)).items():
            marks[tp] = max(mark, marks.get(tp, -1))
        gaps = skipped_below(ends, marks)
        back = read_skipped(self.reader, gaps, Message) if gaps else []
        READ_BACK.labels(kind).inc(len(back))
        gone = {tp: (start, end - 1) for tp, start, end in gaps
                if not any(m.source.startswith(f"{tp[0]}:{tp[1]}:") for m in back)}
        if gone:
            log.error("records gone before they were handled (retention?): %s", gone)
            with self.db.begin() as conn:
                for (topic, partition), r in gone.items():
                    self.repo.advance_marks(conn, topic, {partition: r}, now)
        return back

    # -- reports ---------------------------------------------------------------------------------
    def decode_reports(self, batch: Sequence[Message], now: dt.datetime) -> tuple[list[tuple[Report, Message]],
                                                                                 list[RejectedRecord]]:
        good, bad = [], []
        pyramid, diseases = self.pipeline.pyramid, self.pipeline.diseases
        for msg in batch:
            try:
                report = Report.model_validate_json(msg.value or b"")
            except ValidationError as exc:
                bad.append(poison(msg, "stream.message.undecodable", now, detail=str(exc.errors()[0]["msg"])[:200]))
                continue
            if report.health_area_id not in pyramid or report.orgunit_id not in pyramid:
                bad.append(poison(msg, "report.orgunit.unknown", now, orgunit_id=report.orgunit_id))
            elif report.disease not in diseases:
                bad.append(poison(msg, "report.disease.unknown", now, disease=report.disease))
            else:
                good.append((report, msg))
        return good, bad

    def process_reports(self, batch: Sequence[Message], now: dt.datetime) -> ReportsDone:
        """Decode, store (exactly once), record intake notes, run the case-definition rules."""
        good, bad = self.decode_reports(batch, now)
        done = self._with_fallback(good, lambda items: self._store_reports(items, now), now)
        done.outputs.extend(_rejected_output(r) for r in bad)
        for report in done.new:  # counted after the commit, once per stored report
            observe_report_received(report, self.pipeline.pyramid)
            observe_report_processed(report.received_at, now, worker=STREAM_WORKER)
        for report in done.duplicates:
            observe_report_duplicate(report, self.pipeline.pyramid)
        return done

    def _store_reports(self, items: Sequence[tuple[Report, Message]], now: dt.datetime) -> ReportsDone:
        p = self.pipeline
        done = ReportsDone()
        first: dict[str, Message] = {}
        for report, msg in items:
            first.setdefault(report.idempotency_key, msg)
        with self.db.begin() as conn:
            done.new, done.duplicates = self.repo.insert_reports(conn, [r for r, _ in items])
            # which message stored each report: a redelivery of that message may still have to be
            # counted (crash between the commit and the table's changelog), a client resend never
            self.repo.record_sources(conn, {r.idempotency_key: first[r.idempotency_key].source for r in done.new},
                                     now)
            sources = self.repo.sources(conn, [r.idempotency_key for r in done.duplicates])
            done.first_time = {r.report_id for r in done.new}
            done.counted = [(r, _offset(first[r.idempotency_key].source)) for r in done.new] + [
                (r, _offset(first[r.idempotency_key].source)) for r in done.duplicates
                if sources.get(r.idempotency_key) == first[r.idempotency_key].source]
            intake = getattr(p, "intake", None)
            held = set()  # cross-channel possible duplicates: out of the counts until decided
            for report in done.new:
                if intake is not None and intake.on_stored(conn, report, now).held:
                    held.add(report.report_id)
            # all stored: one batch evaluation shares reads and runs, each report on the data stored up
            # to it, in the order of the messages (as the embedded engine evaluates them one by one);
            # a client's resend is not evaluated (nor is it by the embedded engine), a redelivery is
            # (the crash may have come before its signals were sent: stable ids make it harmless)
            redelivered = {r.report_id for r, _ in done.counted} - done.first_time
            order = {key: i for i, key in enumerate(first)}
            evaluated = sorted((r for r in done.new + done.duplicates if r.counted and r.report_id not in held
                                and (r.report_id in done.first_time or r.report_id in redelivered)),
                               key=lambda r: order[r.idempotency_key])
            for report, signals in zip(evaluated, p.detection.on_reports(conn, evaluated, now)):
                for signal in signals:
                    signal = with_stable_signal_id(signal, f"report:{report.report_id}")
                    done.outputs.append(Output("signals", signal.orgunit_id, signal.model_dump_json().encode()))
        return done

    def _with_fallback(self, items: Sequence[tuple[Any, Message]], run: Callable[[Sequence], ReportsDone],
                       now: dt.datetime) -> ReportsDone:
        """Run the batch in one transaction; if a non-database error breaks it, isolate the culprit."""
        if not items:
            return ReportsDone()
        try:
            return run(items)
        except sa.exc.DBAPIError:
            raise  # the database is down or refused: redeliver, never reject
        except Exception:  # noqa: BLE001 - a bug in a rule must not stop the stream: find the culprit
            log.exception("batch of %d messages failed; retrying them one by one to isolate the culprit",
                          len(items))
        total = ReportsDone()
        for item in items:
            try:
                part = run([item])
            except sa.exc.DBAPIError:
                raise
            except Exception as exc:  # noqa: BLE001
                log.exception("poison message %s", item[1].source)
                total.outputs.append(_rejected_output(poison(item[1], "stream.processing.failed", now,
                                                             error=type(exc).__name__)))
                continue
            total.new += part.new
            total.duplicates += part.duplicates
            total.outputs += part.outputs
            total.counted += part.counted
            total.first_time |= part.first_time
        return total

    # -- signals → alerts ------------------------------------------------------------------------
    def apply_signals(self, batch: Sequence[Message], now: dt.datetime) -> tuple[list[Output], int, int]:
        """Feed the alert lifecycle; returns (outputs, applied, redelivered)."""
        items, outputs = [], []
        for msg in batch:
            try:
                items.append((Signal.model_validate_json(msg.value or b""), msg))
            except ValidationError as exc:
                outputs.append(_rejected_output(poison(msg, "stream.message.undecodable", now,
                                                       detail=str(exc.errors()[0]["msg"])[:200])))
        counts = [0, 0]

        def run(part):
            out: list[Output] = []
            applied = redelivered = 0
            with self.db.begin() as conn:
                for signal, _ in part:
                    got, new = self._apply_signal(conn, signal, now)
                    out += got
                    applied += new
                    redelivered += not new
            counts[0] += applied
            counts[1] += redelivered
            return ReportsDone(outputs=out)

        outputs += self._with_fallback(items, run, now).outputs
        return outputs, counts[0], counts[1]

    def _apply_signal(self, conn: sa.Connection, signal: Signal, now: dt.datetime) -> tuple[list[Output], bool]:
        key = f"signal:{signal.signal_id}"
        if not self.repo.claim(conn, key, now):
            return [Output.from_dict(d) for d in self.repo.outputs(conn, key)], False
        before = self.repo.last_event_id(conn)
        alert = self.pipeline.alerting.on_signal(conn, signal, now)
        events = self.repo.events_after(conn, alert.alert_id, before)
        out = [Output("alert-events", alert.orgunit_id, e.model_dump_json().encode()) for e in events]
        out += [Output("notifications", alert.orgunit_id, _notification(alert, e)) for e in events
                if e.type in NOTIFY_ON]
        self.repo.set_outputs(conn, key, [o.as_dict() for o in out])
        return out, True

    # -- rejected ----------------------------------------------------------------------------------
    def store_rejected(self, batch: Sequence[Message], now: dt.datetime) -> int:
        records = []
        for msg in batch:
            try:
                record = RejectedRecord.model_validate_json(msg.value or b"")
                records.append(record.model_copy(update={"raw": raw_text(record.raw)}))
            except ValidationError:
                records.append(poison(msg, "stream.message.undecodable", now))
        with self.db.begin() as conn:
            return self.repo.insert_rejected(conn, records)

    # -- epi-week close (timer) --------------------------------------------------------------------
    def close_weeks(self, cells: Sequence[WeekCell], now: dt.datetime) -> list[Output]:
        """Closed weeks go to ``weekly-counts``; weekly detectors, when the detectors stage has them,
        run on each closed week (``DetectionStage.on_week_closed(conn, area, disease, week, cases, now)``)."""
        outputs: list[Output] = []
        hook = getattr(self.pipeline.detection, "on_week_closed", None)
        with self.db.begin() as conn:
            for c in cells:
                count = WeekCount(health_area_id=c.health_area_id, disease=c.disease, epiweek=c.epiweek,
                                  cases=c.cases, reports=c.reports, closed_at=now, reclosed=c.reclosed)
                outputs.append(Output("weekly-counts", c.health_area_id, count.model_dump_json().encode()))
                if hook is None:
                    continue
                for signal in hook(conn, c.health_area_id, c.disease, c.epiweek, c.cases, now):
                    signal = with_stable_signal_id(signal, f"week:{c.epiweek}:{c.cases}:{c.reports}")
                    outputs.append(Output("signals", signal.orgunit_id, signal.model_dump_json().encode()))
        return outputs


def _notification(alert: Any, event: AlertEvent) -> bytes:
    """A request to tell the people at ``level`` about the alert; consumers dedup by ``dedup_key``."""
    return json.dumps({
        "dedup_key": f"notify:v1:{alert.alert_id}:{event.seq}", "alert_id": alert.alert_id, "event": event.type,
        "level": event.level, "disease": alert.disease, "orgunit_id": alert.orgunit_id,
        "district_id": alert.district_id, "region_id": alert.region_id, "at": event.at.isoformat(),
        "reason": event.reason, "notification_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"sebac:{alert.alert_id}:{event.seq}")),
    }, ensure_ascii=False).encode()
