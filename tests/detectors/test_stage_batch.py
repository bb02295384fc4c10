"""DetectionStage.on_reports: the signals of a stored batch, equal report by report to on_report's.

Each scenario stores a baseline (reports of past weeks, optionally 5 years of weekly history, due
re-evaluation cells), then draws a batch of reports from a seeded generator, and runs the stage in
a transaction rolled back afterwards, once as a worker does — store the whole batch, then
``on_reports(conn, batch, now)`` — and once as the embedded engine does — store a report, then
``on_report(conn, r, now)``, report after report. Signal ids are random uuids in both paths:
everything else is compared field by field.
"""
from __future__ import annotations

import datetime as dt
import random
import uuid
from dataclasses import dataclass

import numpy as np
import pytest
import sqlalchemy as sa

from detectors.stage import DetectionStage
from ingest.contracts import Channel, Report
from ingest.history import HistoryRow, store_history
from ingest.reevaluation import mark_for_reevaluation, pending
from ingest.repository import ReportRepository
from tests.detectors import _reference_stage as reference

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 11, 20, 9, tzinfo=UTC)  # Friday of 2026-W47, as the clock fixture
DJENNE, SAN, KITA = "ML-MOP-DJENNE", "ML-SEG-SAN", "ML-KAY-KITA"


@dataclass(frozen=True)
class Scenario:
    name: str
    seed: int
    districts: tuple[str, ...]
    diseases: tuple[str, ...]
    reports: int
    days_back: int = 0           # onsets drawn in [now - days_back, now]
    history: bool = False        # 5 years of weekly malaria (district) and ILI (health areas) counts
    queue_cells: int = 0         # due re-evaluation cells queued before the batch
    queue_batch: int = 10
    repeats: int = 0             # the first reports of the batch again at its end (stream duplicates)
    expect: frozenset[str] = frozenset()  # detectors (rule kinds, algorithms) that must fire in the batch
    area_malaria: bool = False   # malaria history in the health areas only: the district sums them


SCENARIOS = [
    Scenario("one district, current week", 1, (DJENNE,), ("cholera", "meningitis", "malaria"), 40,
             expect=frozenset({"immediate", "rate", "ratio"})),
    Scenario("two districts, onsets over three past weeks", 2, (DJENNE, SAN),
             ("cholera", "meningitis", "malaria", "measles"), 60, days_back=20,
             expect=frozenset({"immediate", "rate", "ratio", "count"})),
    Scenario("five years of history, statistical detectors", 3, (DJENNE, SAN),
             ("malaria", "ili", "meningitis", "cholera"), 50, days_back=12, history=True,
             expect=frozenset({"immediate", "rate", "ff_noufaily", "earsC_C2"})),
    Scenario("queue holds more cells than the batch drains", 4, (DJENNE, KITA),
             ("malaria", "ili", "meningitis"), 12, days_back=6, history=True, queue_cells=50, queue_batch=3,
             expect=frozenset({"rate", "ff_noufaily"})),
    Scenario("queue holds fewer cells than the batch could drain", 5, (SAN,), ("malaria", "meningitis"), 10,
             days_back=9, queue_cells=7, queue_batch=4, expect=frozenset({"rate"})),
    Scenario("batch repeats reports, clusters and trends", 6, (DJENNE,),
             ("unexplained_death", "bloody_diarrhoea", "meningitis", "cholera"), 30, days_back=10, repeats=8,
             expect=frozenset({"cluster", "immediate", "rate"})),
    # onsets up to ~14 months back: evaluations reaching before the history window the stage reads
    # for recent weeks (it then reads the whole history), and a district series summed from its areas
    Scenario("old onsets, district history from its health areas", 7, (DJENNE, KITA),
             ("malaria", "ili", "acute_diarrhoea"), 60, days_back=420, history=True, area_malaria=True,
             expect=frozenset({"ff_noufaily", "earsC_C2"})),
]


def _sites(pyramid, district: str) -> list[str]:
    return sorted(u.id for u in pyramid.descendants(district) if u.level == "site")


def _areas(pyramid, district: str) -> list[str]:
    return sorted(u.id for u in pyramid.descendants(district) if u.level == "health_area")


def _report(pyramid, rng: random.Random, key: str, site: str, disease: str, cases: int, onset: dt.date) -> Report:
    return Report(report_id=str(uuid.UUID(int=rng.getrandbits(128))), idempotency_key=key, channel=Channel.http,
                  orgunit_id=site, health_area_id=pyramid.ancestor_at(site, "health_area").id,
                  district_id=pyramid.ancestor_at(site, "district").id, disease=disease, cases=cases,
                  onset_date=onset, report_date=NOW.date(), received_at=NOW - dt.timedelta(minutes=rng.randint(0, 600)))


def _store_history(db, pyramid, districts, seed: int, area_malaria: bool = False) -> None:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(5 * 52 + 30):
        y, w, _ = (NOW.date() - dt.timedelta(weeks=3 + i)).isocalendar()  # up to 2026-W44
        for d in districts:
            if area_malaria:
                rows += [HistoryRow(a, "malaria", y, w, int(rng.poisson(4))) for a in _areas(pyramid, d)]
            else:
                rows.append(HistoryRow(d, "malaria", y, w, int(rng.poisson(20))))
            rows += [HistoryRow(a, "ili", y, w, int(rng.poisson(2))) for a in _areas(pyramid, d)]
    with db.begin() as conn:
        store_history(conn, rows, now=NOW - dt.timedelta(days=30), source="test")


def build(db, pyramid, sc: Scenario) -> list[Report]:
    """Store the scenario's baseline; return the batch (not stored, in stream order)."""
    rng = random.Random(sc.seed)
    repo = ReportRepository()
    if sc.history:
        _store_history(db, pyramid, sc.districts, sc.seed, sc.area_malaria)
    sites = [s for d in sc.districts for s in _sites(pyramid, d)]
    big = {"malaria": (4, 40), "ili": (2, 12)}
    with db.begin() as conn:
        for i, site in enumerate(sites):  # last weeks' malaria: ratio rules have a previous week
            for back in (1, 2):
                repo.insert(conn, _report(pyramid, rng, f"{sc.name}:base:{i}:{back}", site, "malaria",
                                          rng.randint(2, 6), NOW.date() - dt.timedelta(weeks=back)))
        batch = []
        for i in range(sc.reports):
            disease = rng.choice(sc.diseases)
            lo, hi = big.get(disease, (1, 3))
            r = _report(pyramid, rng, f"{sc.name}:batch:{i}", rng.choice(sites), disease, rng.randint(lo, hi),
                        NOW.date() - dt.timedelta(days=rng.randint(0, sc.days_back)))
            batch.append(r)
        areas = [a for d in sc.districts for a in _areas(pyramid, d)]
        weeks = [(NOW.date() - dt.timedelta(weeks=k)).isocalendar()[:2] for k in range(1, 5)]
        cells = [(a, d, f"{y}-W{w:02d}") for a in areas for d in dict.fromkeys(sc.diseases + ("ili",))
                 for y, w in weeks]
        for i, (area, disease, week) in enumerate(rng.sample(cells, sc.queue_cells)):
            # distinct cells, distinct marked_at: the queue's order is total
            mark_for_reevaluation(conn, area, disease, week, now=NOW - dt.timedelta(hours=2, minutes=i),
                                  reason="test")
    return batch + batch[:sc.repeats]


def comparable(per_report):
    return [[s.model_dump(exclude={"signal_id"}) for s in signals] for signals in per_report]


def run_rolled_back(db, fn):
    with db.connect() as conn:
        tx = conn.begin()
        try:
            return fn(conn), len(pending(conn, limit=10_000))
        finally:
            tx.rollback()


def batched(stage, batch):
    """A worker: the whole batch stored, then evaluated in one call (each path stores the batch on
    its own copy of the database: SQLite's savepoints release into the connection, not the rollback)."""
    return lambda conn: _stored(conn, batch) and stage.on_reports(conn, batch, NOW)


def one_by_one(evaluate, batch):
    """The embedded engine: each report stored, then evaluated."""
    return lambda conn: [_stored(conn, [r]) and evaluate(conn, r) for r in batch]


def _stored(conn, reports) -> bool:
    for r in reports:
        ReportRepository().insert(conn, r)
    return True


def run_on_copy(db, tmp_path, fn, on_statement=None):
    """``run_rolled_back`` on a copy of the database (the paths that store the batch)."""
    import sqlite3

    from sebac.db import make_engine

    copy = tmp_path / f"copy-{uuid.uuid4().hex[:8]}.db"
    src, dst = sqlite3.connect(db.url.database), sqlite3.connect(copy)
    src.backup(dst)
    src.close()
    dst.close()
    engine = make_engine(f"sqlite:///{copy}")
    if on_statement is not None:
        sa.event.listen(engine, "before_cursor_execute", on_statement)
    try:
        return run_rolled_back(engine, fn)
    finally:
        engine.dispose()


@pytest.mark.parametrize("sc", SCENARIOS, ids=lambda sc: sc.name)
def test_on_reports_equals_the_per_report_loop_report_by_report(db, pyramid, diseases, sc, tmp_path):
    stage = DetectionStage(pyramid, diseases, queue_batch=sc.queue_batch)
    batch = build(db, pyramid, sc)
    with db.connect() as conn:
        queued = len(pending(conn, limit=10_000))
    assert queued == sc.queue_cells

    at_once, left_batched = run_on_copy(db, tmp_path, batched(stage, batch))
    looped, left_looped = run_on_copy(db, tmp_path, one_by_one(lambda conn, r: stage.on_report(conn, r, NOW), batch))
    # the pre-batch per-report path, no shared code with on_reports beyond the rules and detectors
    oracle, left_oracle = run_on_copy(db, tmp_path, one_by_one(lambda conn, r: reference.on_report(stage, conn, r, NOW),
                                                         batch))

    assert len(at_once) == len(batch)
    assert comparable(at_once) == comparable(looped) == comparable(oracle)
    assert left_batched == left_looped == left_oracle == max(0, sc.queue_cells - sc.queue_batch * len(batch))
    fired = {s.detector for signals in at_once for s in signals}
    assert sc.expect <= fired, f"scenario too weak: {sorted(fired)}"
    ids = [s.signal_id for signals in at_once for s in signals]
    assert len(ids) == len(set(ids))  # shared evaluations hand out copies with ids of their own


@pytest.mark.parametrize("queue_cells, queue_batch, reports, expected_per_report", [
    (7, 3, 4, [3, 3, 1, 0]),     # the first reports take the oldest cells, queue_batch at a time
    (20, 2, 3, [2, 2, 2]),       # more cells than the batch drains: the rest stays queued
    (5, 0, 2, [0, 0]),           # queue_batch 0: on_report does not drain, neither does the batch
])
def test_queue_cells_are_handed_out_in_report_order(db, pyramid, diseases, queue_cells, queue_batch, reports,
                                                    expected_per_report, tmp_path):
    # Mougna has ILI history: each re-evaluated cell raises one EARS C2 signal for its week
    sc = Scenario("queue", 7, (DJENNE,), ("cholera",), reports)
    batch = build(db, pyramid, sc)
    area = "ML-MOP-DJENNE-MOUGNA"
    with db.begin() as conn:
        store_history(conn, [HistoryRow(area, "ili", y, w, 1) for y, w in
                             [(NOW.date() - dt.timedelta(weeks=k)).isocalendar()[:2] for k in range(1, 40)]],
                      now=NOW, source="test")
        weeks = [(NOW.date() - dt.timedelta(weeks=k)).isocalendar()[:2] for k in range(1, queue_cells + 1)]
        for i, (y, w) in enumerate(weeks):  # cell i is the i-th oldest
            mark_for_reevaluation(conn, area, "ili", f"{y}-W{w:02d}", now=NOW - dt.timedelta(hours=5, minutes=-i),
                                  reason="test")
    stage = DetectionStage(pyramid, diseases, queue_batch=queue_batch)
    # per cell, which (week, signals) the cell gives: evaluate them one by one on the same state
    at_once, _ = run_on_copy(db, tmp_path, batched(stage, batch))
    oracle, _ = run_on_copy(db, tmp_path, one_by_one(lambda conn, r: reference.on_report(stage, conn, r, NOW), batch))
    assert comparable(at_once) == comparable(oracle)
    drained = [[s for s in signals if s.rule_id != "immediate"] for signals in at_once]
    cells, _ = run_rolled_back(db, lambda conn: [reference.cell(stage, conn, area, "ili", f"{y}-W{w:02d}", NOW)
                                                 for y, w in weeks])
    counts = [len(c) for c in cells]
    expected_signals = [sum(counts[sum(expected_per_report[:i]):sum(expected_per_report[:i + 1])])
                        for i in range(reports)]
    assert [len(d) for d in drained] == expected_signals


def test_batch_issues_far_fewer_sql_statements_than_the_loop(db, pyramid, diseases, tmp_path):
    sc = Scenario("sql count", 8, (DJENNE, SAN, KITA), ("malaria", "ili", "meningitis", "cholera", "measles"),
                  200, days_back=13, history=True, queue_cells=30)
    batch = build(db, pyramid, sc)
    stage = DetectionStage(pyramid, diseases)
    statements: list[str] = []

    def detection_only(conn, cursor, statement, *args):  # the stores are the same in both paths
        if not statement.lstrip().upper().startswith(("INSERT", "SAVEPOINT", "RELEASE")) \
                and "idempotency_key = " not in statement:
            statements.append(statement)

    at_once, _ = run_on_copy(db, tmp_path, batched(stage, batch), detection_only)
    n_batch = len(statements)
    statements.clear()
    looped, _ = run_on_copy(db, tmp_path, one_by_one(lambda conn, r: stage.on_report(conn, r, NOW), batch),
                            detection_only)
    n_loop = len(statements)
    assert comparable(at_once) == comparable(looped)
    # the loop: ~9 reads per report plus a queue poll each; the batch: one read per distinct query
    # the loop: each report's own reads plus a queue poll; the batch: one read per distinct query, one poll
    assert n_loop >= 3 * len(batch)
    assert n_batch * 3 <= n_loop, (n_batch, n_loop)


def test_nothing_is_remembered_between_calls(db, pyramid, diseases):
    # Mougna (12,350 inhabitants): meningitis alerts from 2 cases in a week (count fallback)
    stage = DetectionStage(pyramid, diseases)
    rng, repo = random.Random(9), ReportRepository()
    site = "ML-MOP-DJENNE-MOUGNA-S1"
    first = _report(pyramid, rng, "m-1", site, "meningitis", 1, NOW.date())
    second = _report(pyramid, rng, "m-2", site, "meningitis", 1, NOW.date())
    with db.begin() as conn:
        repo.insert(conn, first)
        assert stage.on_reports(conn, [first], NOW) == [[]]
        repo.insert(conn, second)
        [[signal]] = stage.on_reports(conn, [second], NOW)
    assert (signal.rule_id, signal.orgunit_id, signal.observed) == ("meningitis_rate", "ML-MOP-DJENNE-MOUGNA", 2)
    assert set(signal.report_ids) == {first.report_id, second.report_id}


def test_empty_batch_drains_nothing(db, pyramid, diseases):
    with db.begin() as conn:
        mark_for_reevaluation(conn, "ML-MOP-DJENNE-MOUGNA", "ili", "2026-W45", now=NOW - dt.timedelta(days=1),
                              reason="test")
        assert DetectionStage(pyramid, diseases).on_reports(conn, [], NOW) == []
        assert len(pending(conn)) == 1
