"""National weekly batch: vectorised results equal the per-cell path; evaluate-week on a database."""
from __future__ import annotations

from alerts.repository import AlertRepository

import datetime as dt

import numpy as np
import pytest
from typer.testing import CliRunner

from detectors.algorithms import registry
from detectors.algorithms.base import Series
from detectors.epiweek import EpiWeek
from detectors.national import CountMatrix, Job, evaluate_jobs, evaluate_matrix, last_closed_week
from detectors.rules.base import Scope
from detectors.statistical import FREQ, detectors_from_mapping, evaluate, fitted_params
from detectors.weekly import weeks_between
from ingest.history import HistoryRow, store_history
from ingest.repository import ReportRepository
from tests.detectors.stagekit import StageDriver

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
LAST = EpiWeek(2026, 47)
SITE, AREA, DISTRICT = "ML-MOP-DJENNE-MOUGNA-S1", "ML-MOP-DJENNE-MOUGNA", "ML-MOP-DJENNE"


def _cfg(diseases, algorithm, **extra):
    doc = {"detectors": [{"id": "d_" + algorithm.lower(), "disease": "malaria", "level": "district",
                          "algorithm": algorithm, "min_observed": 1, **extra}]}
    return detectors_from_mapping(doc, diseases, check_algorithms=False).configs[0]


def _matrix(n_weeks: int, firsts: list[int], seed: int = 11) -> CountMatrix:
    rng = np.random.default_rng(seed)
    S = len(firsts)
    t = np.arange(n_weeks)
    mu = rng.uniform(2, 25, S)[:, None] * np.exp(0.4 * np.cos(2 * np.pi * t / 52))[None, :]
    y = rng.negative_binomial(4, 4 / (4 + mu)).astype(float)
    y[:, -3:] += rng.integers(0, 3, (S, 1)) * mu[:, -3:]          # outbreaks in some rows: alarms to compare
    weeks = tuple(weeks_between(EpiWeek(2021, 1), LAST)[-n_weeks:])
    return CountMatrix("district", "malaria", tuple(f"OU{i}" for i in range(S)), weeks, y, np.array(firsts))


def _per_cell(cfg, m: CountMatrix, i: int, n_eval: int):
    """What DetectionStage._run gives for row ``i``: the series from its first observed week."""
    N = min(len(m.weeks), cfg.needed_history() + n_eval)
    f = max(int(m.first[i]), len(m.weeks) - N)
    weeks, counts = list(m.weeks[f:]), m.counts[i, f:]
    signals = evaluate(cfg, Scope(m.orgunits[i], "district", m.orgunits[i]), "malaria", weeks, counts,
                       min(n_eval, len(weeks)), {}, NOW) if len(weeks) else []
    ub = {}
    params = fitted_params(cfg, len(weeks)) if len(weeks) else None
    if params is not None:
        n = len(weeks)
        start = max(n - min(n_eval, n) + 1, registry.get(cfg.algorithm).start_rule(n, FREQ, params, False))
        det = registry.detector(cfg.algorithm)(Series(counts.copy(), FREQ, weeks[0].year, weeks[0].week),
                                               start, n, params)
        ub = {weeks[t - 1]: (float(u), bool(a)) for t, u, a in zip(det.t, det.upperbound, det.alarm)}
    return signals, ub


CASES = [  # algorithm, extra config, n_eval
    ("earsC_C2", {}, 1), ("earsC_C3", {}, 6), ("cusum", {}, 8), ("cusum_glm_rossi", {}, 4), ("bayes", {}, 3),
    ("rki", {}, 3), ("glrpois", {}, 5), ("ff_noufaily", {}, 3), ("farrington", {}, 2), ("ff_default", {}, 1),
    ("earsC_C1", {"history_weeks": 20}, 4),
]


@pytest.mark.parametrize("algorithm,extra,n_eval", CASES)
def test_batch_equals_per_cell_detect(diseases, algorithm, extra, n_eval):
    cfg = _cfg(diseases, algorithm, **extra)
    # rows: full history, 2 years only (Farrington b reduced), 14 weeks (warm-up for most), no data
    N = cfg.needed_history() + n_eval
    m = _matrix(N + 5, [0, N + 5 - 110, N + 5 - 14, N + 5, 3])
    res = evaluate_matrix(cfg, m, n_eval)
    assert [str(w) for w in res.weeks] == [str(w) for w in m.weeks[-n_eval:]]
    for i in range(len(m.orgunits)):
        signals, ub = _per_cell(cfg, m, i, n_eval)
        for j, week in enumerate(res.weeks):
            if week in ub:
                u, a = ub[week]
                assert res.evaluated[i, j]
                # GLM-based algorithms sum in another order when fitting many series: last-ulp noise
                np.testing.assert_allclose(res.upperbound[i, j], u, rtol=1e-9, equal_nan=True)
                assert bool(res.alarm[i, j]) == a
            else:
                assert not res.evaluated[i, j] and not res.alarm[i, j]
        batch = sorted((str(res.weeks[j]), float(res.observed[r, j])) for r, j in res.alarms() if r == i)
        assert batch == sorted((s.epiweek, s.observed) for s in signals)
    assert any(True for _ in res.alarms()) or algorithm in ("ff_default", "farrington", "earsC_C2")


def test_process_pool_gives_the_same_results(diseases):
    cfgs = [_cfg(diseases, "ff_noufaily"), _cfg(diseases, "earsC_C3")]
    m = _matrix(cfgs[0].needed_history() + 2, [0] * 9 + [200])
    one = evaluate_jobs([Job(c, m, 2) for c in cfgs])
    two = evaluate_jobs([Job(c, m, 2) for c in cfgs], workers=2, chunk_cost_us=100, min_pool_cost_us=0)
    for a, b in zip(one, two):
        assert a.orgunits == b.orgunits
        np.testing.assert_array_equal(a.upperbound, b.upperbound)
        np.testing.assert_array_equal(a.alarm, b.alarm)


def test_last_closed_week():
    assert last_closed_week(NOW) == EpiWeek(2026, 46)
    assert last_closed_week(dt.datetime(2027, 1, 4, tzinfo=UTC)) == EpiWeek(2026, 53)


# -- on the database -------------------------------------------------------------------------------------
def _ili_history(db, area=AREA):
    counts = [2, 3, 2, 4, 3, 2, 3, 2, 3, 2, 3, 2, 3, 4, 2, 3]
    rows = [HistoryRow(area, "ili", 2026, 46 - i, n) for i, n in enumerate(reversed(counts))]
    with db.begin() as conn:
        store_history(conn, rows, now=dt.datetime(2026, 11, 1, tzinfo=UTC), source="test")


def _events(pipeline, alert_id):
    with pipeline.db.connect() as conn:
        return len(pipeline.alerts.events(conn, alert_id))


def test_evaluate_week_raises_the_per_report_alert_and_is_idempotent(db, pipeline, clock):
    from sebac.commands.evaluate import evaluate_week

    _ili_history(db)
    res = pipeline.submit({"orgunit_id": SITE, "onset_date": "2026-11-18", "client_id": "i-1", "disease": "ili",
                           "cases": 12})
    [alert] = [a for a in res.alerts if a.detector == "earsC_C2"]
    with db.connect() as conn:
        [cell] = pipeline.detection.evaluate_detectors(conn, "ili", AREA, DISTRICT, dt.date(2026, 11, 18),
                                                       clock.now())
        batch, stats = pipeline.detection.evaluate_week(conn, clock.now(), week=LAST)
    [s] = [s for s in batch if s.orgunit_id == AREA]
    same = ("dedup_key", "rule_id", "detector", "observed", "threshold", "epiweek", "orgunit_level", "district_id",
            "emergence_date", "raised_late", "period_start", "period_end")
    assert {k: getattr(s, k) for k in same} == {k: getattr(cell, k) for k in same}
    assert stats["cells"] >= 1 and stats["signals"] == len(batch)
    n0 = _events(pipeline, alert.alert_id)
    first = evaluate_week(pipeline, week="2026-W47")
    assert first.signals >= 1 and first.alerts_after == first.alerts_before      # merged, not duplicated
    n1 = _events(pipeline, alert.alert_id)
    assert n1 == n0 + 1
    again = evaluate_week(pipeline, week="2026-W47")
    assert again.alerts_after == again.alerts_before and _events(pipeline, alert.alert_id) == n1


def test_evaluate_week_alone_raises_the_alert(db, pipeline, pyramid):
    from sebac.commands.evaluate import evaluate_week

    _ili_history(db)
    drive = StageDriver(db, pyramid, pipeline.detection)
    drive.store(SITE, "ili", 12, dt.date(2026, 11, 18))          # stored, never evaluated per report
    s = evaluate_week(pipeline, week="2026-W47", levels=["health_area"])
    assert (s.signals, s.alerts_after - s.alerts_before) == (1, 1)
    with db.connect() as conn:
        [a] = pipeline.alerts.list(conn)
    assert (a.detector, a.orgunit_id, a.cases) == ("earsC_C2", AREA, 12)
    assert evaluate_week(pipeline, week="2026-W47").alerts_after == 1


def test_district_rows_sum_area_history(db, pipeline, pyramid):
    from detectors.national_db import load_matrices

    _ili_history(db, "ML-MOP-DJENNE-MOUGNA")
    _ili_history(db, "ML-MOP-DJENNE-SOFARA")
    with db.begin() as conn:
        ReportRepository().insert(conn, StageDriver(db, pyramid, pipeline.detection).report(
            SITE, "ili", 5, dt.date(2026, 11, 17)))
        [m] = load_matrices(conn, pyramid, "district", ["ili"], EpiWeek(2026, 30), LAST).values()
    i = m.orgunits.index(DISTRICT)
    assert m.counts[i, -1] == 5 and m.counts[i, -2] == 6 and m.first[i] == 1     # history starts 2026-W31
    assert m.counts[:, -1].sum() == 5


def test_cli_evaluate_week_on_demo_pyramid(db, db_url, monkeypatch):
    from sebac.cli import app

    _ili_history(db)
    with db.begin() as conn:
        from ingest.pyramid import demo_pyramid_path, load_pyramid
        pyr = load_pyramid(demo_pyramid_path())
        ReportRepository().insert(conn, StageDriver(db, pyr, None).report(SITE, "ili", 12, dt.date(2026, 11, 18)))
    monkeypatch.setenv("SEBAC_DATABASE_URL", db_url)
    res = CliRunner().invoke(app, ["evaluate-week", "--week", "2026-W47"])  # a dry run by default
    assert res.exit_code == 0, res.output
    assert "2026-W47:" in res.output and "1 signals (" in res.output and "would fire: ili at" in res.output
    assert "dry run: nothing was written" in res.output
    with db.connect() as conn:
        assert AlertRepository().count(conn) == 0
    res = CliRunner().invoke(app, ["evaluate-week", "--week", "2026-W47", "--apply"])
    assert res.exit_code == 0, res.output
    assert "2026-W47:" in res.output and "1 signals, 1 new alerts" in res.output
    res = CliRunner().invoke(app, ["evaluate-week", "--week", "2026-W47", "--level", "health_area", "--apply"])
    assert res.exit_code == 0 and "0 new alerts" in res.output
    assert CliRunner().invoke(app, ["evaluate-week", "--week", "W47"]).exit_code == 2


def test_history_cache_is_refreshed_when_the_table_changes(db, pyramid):
    from detectors.national_db import load_levels

    _ili_history(db)
    cache: dict = {}
    wanted = {"health_area": ["ili"], "district": ["ili"]}
    with db.connect() as conn:
        a = load_levels(conn, pyramid, wanted, EpiWeek(2026, 30), LAST, cache=cache)
        b = load_levels(conn, pyramid, wanted, EpiWeek(2026, 30), LAST, cache=cache)
    i = a["health_area"]["ili"].orgunits.index(AREA)
    assert cache and b["health_area"]["ili"].counts[i, -2] == a["health_area"]["ili"].counts[i, -2] == 3
    with db.begin() as conn:
        store_history(conn, [HistoryRow(AREA, "ili", 2026, 46, 40)], now=NOW, source="fix")
    with db.connect() as conn:
        c = load_levels(conn, pyramid, wanted, EpiWeek(2026, 30), LAST, cache=cache)
    assert c["health_area"]["ili"].counts[i, -2] == 40
    assert c["district"]["ili"].counts[c["district"]["ili"].orgunits.index(DISTRICT), -2] == 40
