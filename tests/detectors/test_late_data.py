"""Late data: a report for a closed week re-evaluates it; the signal says it was raised late and when it
would have fired (crossing report's onset + typical delay, capped at the end of the period)."""
from __future__ import annotations

import datetime as dt

import pytest

from detectors.rules.catalogue import rules_from_mapping
from detectors.stage import DetectionStage
from detectors.statistical import detectors_from_mapping
from ingest.reevaluation import mark_for_reevaluation, pending
from tests.detectors.stagekit import StageDriver
from tests.detectors.test_stage import AREA, SITE, _history, wk

UTC = dt.timezone.utc


def at(d: dt.date, hour: int = 0) -> dt.datetime:
    return dt.datetime.combine(d, dt.time(hour), UTC)


@pytest.fixture
def drive(db, pyramid, diseases):
    return StageDriver(db, pyramid, DetectionStage(pyramid, diseases))


@pytest.mark.parametrize("received, late", [
    (at(wk(1, 6), 20), False),                     # Sunday of the week itself
    (at(wk(2, 1), 9), False),                      # Tuesday after: inside the 2-day grace
    (at(wk(2, 2), 9), True),                       # Wednesday after: the week had closed
    (at(wk(3, 4), 9), True),
])
def test_meningitis_area_signal_lateness(drive, received, late):
    # 2 cases in Mougna (fallback count 2) with onsets Tue and Thu of 2026-W45
    drive.store(SITE, "meningitis", 1, wk(1, 1))
    [s] = [s for s in drive.post(SITE, "meningitis", 1, wk(1, 3), received) if s.orgunit_id == AREA]
    assert s.raised_late is late
    assert s.would_have_fired_at == (at(wk(1, 4)) if late else None)   # Thursday's case + 1 day


def test_would_have_fired_at_is_capped_at_end_of_week(drive):
    drive.store(SITE, "meningitis", 1, wk(1, 5))
    [s] = [s for s in drive.post(SITE, "meningitis", 1, wk(1, 6), at(wk(3))) if s.orgunit_id == AREA]
    assert s.would_have_fired_at == at(wk(2, 0))   # Sunday's case + 1 day = Monday 00:00 = end of the week


def test_late_report_re_evaluates_statistical_weeks(db, pyramid, diseases):
    cfg = detectors_from_mapping({"detectors": [{"id": "ili_c1_area", "disease": "ili", "level": "health_area",
                                                 "algorithm": "earsC_C1", "min_observed": 3}]}, diseases)
    stage = DetectionStage(pyramid, diseases, rules=rules_from_mapping({"rules": []}, diseases), detectors=cfg)
    drive = StageDriver(db, pyramid, stage)
    _history(db, AREA, "ili", [2, 3] * 8, last_week=44)
    # the W45 tablet syncs on Friday of W47: 14 cases with onset Tuesday of W45
    signals = drive.post(SITE, "ili", 14, wk(1, 1), at(wk(3, 4), 10))
    [s] = signals
    assert (s.epiweek, s.raised_late, s.observed) == ("2026-W45", True, 14)
    assert s.would_have_fired_at == at(wk(1, 2))       # Tuesday onset + 1 day
    assert s.detector == "earsC_C1" and s.report_ids


def test_reevaluation_queue_cell_is_popped_and_evaluated(db, pyramid, diseases, drive):
    # a backlog import stored two meningitis cases for W45 without running the stage, and queued the cell
    drive.store(SITE, "meningitis", 1, wk(1, 1))
    drive.store(SITE, "meningitis", 1, wk(1, 2))
    now = at(wk(3, 2), 12)
    with db.begin() as conn:
        mark_for_reevaluation(conn, AREA, "meningitis", "2026-W45", now=now - dt.timedelta(hours=1),
                              reason="late report")
        assert drive.stage.reevaluate_due(conn, now, settle=dt.timedelta(minutes=30)) != []
    with db.begin() as conn:
        assert pending(conn) == []
        assert drive.stage.reevaluate_due(conn, now) == []   # popped: nothing left


def test_queue_settles_before_re_evaluation(db, drive):
    drive.store(SITE, "meningitis", 2, wk(1, 1))
    now = at(wk(3, 2), 12)
    with db.begin() as conn:
        mark_for_reevaluation(conn, AREA, "meningitis", "2026-W45", now=now - dt.timedelta(minutes=5), reason="late")
        assert drive.stage.reevaluate_due(conn, now, settle=dt.timedelta(minutes=15)) == []
        [s, *_] = drive.stage.reevaluate_due(conn, now + dt.timedelta(minutes=15), settle=dt.timedelta(minutes=15))
    assert s.raised_late and s.epiweek == "2026-W45" and s.orgunit_id == AREA


def test_reevaluation_skips_immediate_rules(db, drive):
    # immediate signals are per report: re-running a queued cell must not count the case again
    drive.store(SITE, "cholera", 1, wk(1, 1))
    with db.begin() as conn:
        mark_for_reevaluation(conn, AREA, "cholera", "2026-W45", now=at(wk(3)), reason="late")
        assert drive.stage.reevaluate_due(conn, at(wk(3, 1)), settle=dt.timedelta(0)) == []


def test_week_close_hook_evaluates_the_closed_week(db, drive):
    # streaming closes 2026-W45 for Mougna: the period rules run on the complete week once more
    drive.store(SITE, "meningitis", 2, wk(1, 1))
    with db.begin() as conn:
        signals = drive.stage.on_week_closed(conn, AREA, "meningitis", "2026-W45", 2, at(wk(2, 1), 1))
    [s] = [s for s in signals if s.orgunit_id == AREA]
    assert s.epiweek == "2026-W45" and not s.raised_late   # closing on time is not late


def test_late_count_carries_into_later_weeks_of_a_cumulative_detector(db, pyramid, diseases):
    # CUSUM accumulates: 15 late cases in W45 keep S_t above h in W46 (4 cases, about the mean) too
    cfg = detectors_from_mapping({"detectors": [{"id": "ili_cusum_area", "disease": "ili", "level": "health_area",
                                                 "algorithm": "cusum", "min_observed": 1}]}, diseases)
    stage = DetectionStage(pyramid, diseases, rules=rules_from_mapping({"rules": []}, diseases), detectors=cfg)
    drive = StageDriver(db, pyramid, stage)
    _history(db, AREA, "ili", [3, 2, 4, 3, 3, 2, 4, 3] * 8, last_week=44)
    assert drive.post(SITE, "ili", 4, wk(2, 2), at(wk(2, 3))) == []          # W46 on time: no alarm
    signals = drive.post(SITE, "ili", 15, wk(1, 1), at(wk(3, 2), 10))        # W45 synced on Wed of W47
    assert [(s.epiweek, s.observed, s.raised_late) for s in signals] == [
        ("2026-W45", 15, True), ("2026-W46", 4, True)]
    assert signals[0].report_ids and not signals[1].report_ids
