"""Backtesting: the simulation follows the Noufaily et al. (2013) design; scores are computed right."""
from __future__ import annotations

import math

import numpy as np
import pytest
from typer.testing import CliRunner

from detectors.evaluation import backtest as bt
from detectors.evaluation import backtest_report as report_of
from detectors.evaluation import outbreaks as ob


def test_lognormal_spread_puts_most_cases_in_the_first_weeks():
    dens = ob.spread_density()
    assert dens.sum() == pytest.approx(1.0)
    assert len(dens) == 20 and dens[0] + dens[1] > 0.9 and np.all(np.diff(dens[1:]) < 0)


@pytest.mark.parametrize("scn, t, expected", [
    (ob.Scenario("flat", theta=1.0), 10, math.exp(1.0)),
    (ob.Scenario("trend", theta=1.0, beta=0.01), 10, math.exp(1.1)),
    (ob.Scenario("one", theta=0.0, gamma1=0.5, gamma2=0.2, m=1), 13,
     math.exp(0.5 * math.cos(math.pi / 2) + 0.2 * math.sin(math.pi / 2))),
    (ob.Scenario("two", theta=0.0, gamma1=0.5, gamma2=0.2, m=2), 13,
     math.exp(0.5 * (math.cos(math.pi / 2) + math.cos(math.pi)) + 0.2 * (math.sin(math.pi / 2) + math.sin(math.pi)))),
])
def test_baseline_mean_formula(scn, t, expected):
    assert scn.mean(52)[t - 1] == pytest.approx(expected)


@pytest.mark.parametrize("phi", [1.0, 3.0])
def test_negative_binomial_variance_is_phi_mu(phi):
    y = ob.nb_counts(np.random.default_rng(0), np.full(200_000, 10.0), phi)
    assert y.mean() == pytest.approx(10, rel=0.02) and y.var() == pytest.approx(phi * 10, rel=0.05)


def test_bad_scenarios_are_refused():
    with pytest.raises(ValueError):
        ob.Scenario("x", theta=1, phi=0.5)
    with pytest.raises(ValueError):
        ob.Scenario("x", theta=1, m=3)


def test_simulated_outbreak_lies_in_the_evaluation_period():
    rng = np.random.default_rng(4)
    scn = ob.SCENARIOS["medium_trend"]
    sim = ob.simulate(scn, 10, 30, 364, 49, rng)
    assert sim.observed.shape == (30, 364) and sim.eval_start == 316
    assert not sim.outbreak[:, :315].any() and sim.outbreak.any(axis=1).mean() > 0.9
    assert np.all(sim.start >= 315) and np.all(sim.start <= 364 - 5)
    for r in np.nonzero(sim.outbreak.any(axis=1))[0]:
        assert np.nonzero(sim.outbreak[r])[0][0] >= sim.start[r]


@pytest.mark.parametrize("alarms, sensitivity, fpr, timeliness", [
    ([[0, 0, 0, 0], [0, 0, 0, 0]], 0.0, 0.0, math.nan),
    ([[0, 1, 0, 0], [0, 0, 1, 0]], 1.0, 0.0, 0.0),     # both alarm in the outbreak's first week
    ([[0, 0, 1, 0], [0, 0, 0, 0]], 0.5, 0.0, 1.0),     # one week late
    ([[1, 0, 0, 1], [1, 1, 0, 1]], 0.0, 5 / 5, math.nan),
])
def test_score(alarms, sensitivity, fpr, timeliness):
    outbreak = np.zeros((2, 8), bool)
    outbreak[0, [5, 6]] = True
    outbreak[1, [6]] = True
    sim = ob.Simulation(np.zeros((2, 8), int), outbreak, np.array([5, 6]), eval_start=5)
    s = bt.score(np.array(alarms, bool), sim)
    assert s.sensitivity == sensitivity and s.false_positive_rate == pytest.approx(fpr)
    assert (math.isnan(s.timeliness_weeks) and math.isnan(timeliness)) or s.timeliness_weeks == timeliness


def test_backtest_bigger_outbreaks_are_detected_more_often():
    rep = bt.backtest(["earsC_C1", "ff_noufaily", "no_such_algo"], [ob.SCENARIOS["medium_trend"]], ks=(2, 10),
                      replicates=15, seed=3)
    by = {(r.detector, r.k): r for r in rep.rows}
    for det in ("earsC_C1", "ff_noufaily"):
        assert by[(det, 10.0)].sensitivity > by[(det, 2.0)].sensitivity
        assert by[(det, 10.0)].sensitivity >= 0.8
        assert by[(det, 2.0)].false_positive_rate < 0.15
    assert any("no_such_algo" in n for n in rep.notes)
    md = report_of.to_markdown(rep)
    assert md.startswith("| detector |") and "| ff_noufaily |" in md
    assert len(report_of.to_csv(rep).strip().splitlines()) == 1 + 4


@pytest.mark.parametrize("years, eval_weeks, note", [
    (3, 20, "ff_noufaily: b reduced to 2 to fit 3 years"),   # as the oracle: reduce b until 26 points fit
    (2, 52, "ff_noufaily: 2 years are too short for its baseline, skipped"),
])
def test_short_series_reduce_b_or_skip_with_a_note(years, eval_weeks, note):
    rep = bt.backtest(["ff_noufaily", "earsC_C2"], [ob.SCENARIOS["medium_trend"]], ks=(10,), replicates=3,
                      years=years, eval_weeks=eval_weeks)
    assert note in rep.notes
    assert ("ff_noufaily" in {r.detector for r in rep.rows}) is ("reduced" in note)


def test_same_seed_same_results():
    a = bt.backtest(["earsC_C2"], [ob.SCENARIOS["rare"]], ks=(5,), replicates=5, seed=9)
    b = bt.backtest(["earsC_C2"], [ob.SCENARIOS["rare"]], ks=(5,), replicates=5, seed=9)
    assert [r.sensitivity for r in a.rows] == [r.sensitivity for r in b.rows]


def test_cli_writes_table_csv_and_png(tmp_path):
    from sebac.cli import app

    res = CliRunner().invoke(app, ["backtest", "--detectors", "earsC_C1,bayes", "--scenarios", "rare", "--k", "5",
                                   "--replicates", "4", "--out", str(tmp_path), "--quiet"])
    assert res.exit_code == 0, res.output
    assert "| earsC_C1 |" in res.output and "| bayes |" in res.output
    assert (tmp_path / "backtest.csv").read_text().startswith("detector,scenario,k,")
    assert (tmp_path / "backtest.png").read_bytes()[:4] == b"\x89PNG"
    bad = CliRunner().invoke(app, ["backtest", "--scenarios", "nowhere", "--out", str(tmp_path)])
    assert bad.exit_code == 2


@pytest.mark.parametrize("rule_id, series, expected", [
    # malaria_ratio: y_t ≥ 1.5 y_{t−1}, y_{t−1} ≥ 5, y_t ≥ 10
    ("malaria_ratio", [8, 12, 12, 20, 4, 3], [True, False, True, False, False]),
    # pneumonia_u5_trend: y_t > y_{t−1} and y_t ≥ 5
    ("pneumonia_u5_trend", [1, 5, 4, 6, 6, 9], [True, False, True, False, True]),
])
def test_idsr_rules_run_on_simulated_weeks(rule_id, series, expected):
    alarms = bt.rule_alarms(bt.idsr_rule(rule_id), np.array([series]), eval_start=2)
    assert alarms[0].tolist() == expected


def test_rules_that_need_reports_are_not_backtested():
    rep = bt.backtest(["rule:immediate", "rule:nope", "rule:malaria_ratio"], [ob.SCENARIOS["high_2harm"]],
                      ks=(5,), replicates=3)
    assert [r.detector for r in rep.rows] == ["rule:malaria_ratio"]
    assert any("rule:immediate" in n and "weekly counts" in n for n in rep.notes)
    assert any("rule:nope" in n for n in rep.notes)
