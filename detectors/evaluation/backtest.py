"""Backtesting the statistical detectors on simulated outbreaks (Noufaily et al. 2013 design): the
series come from :mod:`detectors.evaluation.outbreaks`, the tables and the plot from
:mod:`detectors.evaluation.backtest_report`.

Measures per detector, scenario and ``k`` (over ``replicates`` series):

* **sensitivity** — probability of detection: share of replicates with at least one alarm in a week
  of the evaluation outbreak (a week where it added cases);
* **false-positive rate** — alarms in evaluation weeks without outbreak cases / such weeks;
* **timeliness** — mean weeks from the outbreak's first week to its first alarm (detected only).

Detectors run with the registry's default parameters (the R oracle configuration) unless given.
Detectors whose module is not importable are skipped with a note. ``rule:<id>`` runs a weekly rule of
the IDSR catalogue (count, rate, ratio, trend; the production rule code) on the same series, so the
IDSR thresholds can be compared with the statistical detectors.

References
----------
Noufaily A, Enki DG, Farrington P, Garthwaite P, Andrews N, Charlett A (2013). An improved algorithm
for outbreak detection in multiple surveillance systems. *Stat Med* 32(7):1206-1222.
Salmon M, Schumacher D, Höhle M (2016). Monitoring count time series in R: aberration detection in
public health surveillance. *J Stat Softw* 70(10) (``sts_creation``).
"""
from __future__ import annotations

import datetime as dt
import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from detectors.algorithms import registry
from detectors.algorithms.base import Series
from detectors.evaluation.outbreaks import FREQ, SCENARIOS, Scenario, Simulation, simulate

DEFAULT_DETECTORS = ("earsC_C1", "earsC_C2", "earsC_C3", "cusum", "bayes", "rki", "glrpois", "farrington",
                     "ff_default", "ff_noufaily", "rule:malaria_ratio", "rule:pneumonia_u5_trend")
RULE_PREFIX = "rule:"       # "rule:<id>": a weekly case-definition rule of the IDSR catalogue
RULE_KINDS = ("count", "rate", "ratio", "trend")
_EPOCH = dt.date(2001, 1, 1)  # a Monday: week t of a simulated series starts _EPOCH + 7(t-1) days


def idsr_rule(rule_id: str) -> Any:
    """A weekly rule (count, rate, ratio, trend) of the shipped IDSR catalogue, by id."""
    from detectors.rules.catalogue import load_rules
    from ingest.diseases import load_diseases

    rule = load_rules(None, load_diseases()).by_id.get(rule_id)
    if rule is None:
        raise KeyError(f"unknown rule {rule_id!r}")
    if rule.kind not in RULE_KINDS:
        raise ValueError(f"rule {rule_id!r} of kind {rule.kind!r} does not work on weekly counts")
    return rule


def rule_alarms(rule: Any, observed: np.ndarray, eval_start: int) -> np.ndarray:
    """Run a case-definition rule (the production code) on weekly counts: week ``t`` becomes one
    report of ``y_t`` cases with onset on its Monday; the rule is evaluated at each evaluated week."""
    from detectors.rules.base import CaseRecord, RuleInput, Scope

    n = observed.shape[1]
    days = [_EPOCH + dt.timedelta(weeks=t) for t in range(n)]
    now = dt.datetime.combine(days[-1], dt.time(), dt.timezone.utc) + dt.timedelta(days=7)
    scope = Scope("sim", rule.levels[0], "sim")
    out = np.zeros((observed.shape[0], n - eval_start + 1), dtype=bool)
    for r, row in enumerate(observed):
        recs = [CaseRecord(f"w{t}", days[t], int(c), now) for t, c in enumerate(row)]
        for j, t in enumerate(range(eval_start - 1, n)):
            window = tuple(x for x in recs[max(0, t - 9): t + 1] if x.cases > 0)
            trigger = recs[t]
            out[r, j] = bool(rule.evaluate(RuleInput(rule.diseases[0], scope, trigger, window, now)))
    return out


def run_detector(algorithm: str, sim: Simulation, params: Mapping[str, Any] | None = None) -> np.ndarray:
    """Alarms (R, eval_weeks) of ``algorithm`` on the evaluation weeks of every replicate."""
    if algorithm.startswith(RULE_PREFIX):
        rule = idsr_rule(algorithm[len(RULE_PREFIX):])
        if params:
            rule = rule.model_validate({**rule.model_dump(), **dict(params)})
        return rule_alarms(rule, sim.observed, sim.eval_start)
    n = sim.observed.shape[1]
    y = sim.observed.astype(float)
    batch = registry.batch_detector(algorithm)   # every replicate in one call (the Farrington GLMs too)
    if batch is not None:
        res = batch(y, sim.eval_start, n, dict(params or {}), freq=FREQ)
        return np.asarray(res.alarm, dtype=bool)
    detect = registry.detector(algorithm)
    return np.vstack([np.asarray(detect(Series(row, FREQ), sim.eval_start, n, dict(params or {})).alarm, dtype=bool)
                      for row in y])


@dataclass(frozen=True)
class Score:
    sensitivity: float
    false_positive_rate: float
    timeliness_weeks: float   # NaN when nothing was detected
    detected: int
    replicates: int


def score(alarms: np.ndarray, sim: Simulation) -> Score:
    """Sensitivity, false-positive rate and timeliness of ``alarms`` on ``sim``'s evaluation weeks.

    >>> sim = Simulation(np.zeros((2, 6), int), np.array([[0, 0, 0, 1, 1, 0], [0, 0, 0, 0, 1, 0]], bool),
    ...                  np.array([3, 4]), eval_start=3)
    >>> score(np.array([[1, 0, 1, 0], [0, 0, 0, 0]], bool), sim)
    Score(sensitivity=0.5, false_positive_rate=0.2, timeliness_weeks=1.0, detected=1, replicates=2)
    """
    ob = sim.outbreak[:, sim.eval_start - 1:]
    hits = alarms & ob
    detected = hits.any(axis=1)
    quiet = ~ob
    fpr = float((alarms & quiet).sum() / max(1, quiet.sum()))
    delays = [int(np.argmax(hits[r])) - int(sim.start[r] - (sim.eval_start - 1))
              for r in np.nonzero(detected)[0]]
    return Score(float(detected.mean()), fpr, float(np.mean(delays)) if delays else math.nan,
                 int(detected.sum()), int(alarms.shape[0]))


@dataclass
class Row:
    detector: str
    scenario: str
    k: float
    sensitivity: float
    false_positive_rate: float
    timeliness_weeks: float
    replicates: int
    seconds: float


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)


def available(algorithms: Iterable[str]) -> tuple[list[str], list[str]]:
    """(usable ids, notes about the skipped ones)."""
    ok, notes = [], []
    for a in algorithms:
        if a.startswith(RULE_PREFIX):
            try:
                idsr_rule(a[len(RULE_PREFIX):])
            except (KeyError, ValueError) as exc:
                notes.append(f"{a}: {exc}, skipped")
                continue
            ok.append(a)
            continue
        try:
            registry.detector(a)
        except KeyError:
            notes.append(f"{a}: unknown algorithm, skipped")
            continue
        except registry.AlgorithmUnavailable as exc:
            notes.append(f"{a}: not available yet, skipped ({exc})")
            continue
        ok.append(a)
    return ok, notes


def backtest(detectors: Sequence[str] = DEFAULT_DETECTORS, scenarios: Sequence[Scenario] | None = None,
             ks: Sequence[float] = (2, 5, 10), replicates: int = 20, years: int = 7, eval_weeks: int = 49,
             seed: int = 1, params: Mapping[str, Mapping[str, Any]] | None = None,
             progress: Callable[[str], None] | None = None) -> Report:
    """Simulate and score every (detector, scenario, k); the same simulated series for all detectors."""
    if replicates < 1 or not ks:
        raise ValueError("need at least one replicate and one k")
    n = years * FREQ
    if eval_weeks < 5 or eval_weeks > n - FREQ:
        raise ValueError(f"eval_weeks must be between 5 and {n - FREQ} for {years} years")
    scenarios = list(scenarios or SCENARIOS.values())
    usable, notes = available(detectors)
    report = Report(notes=notes, config={"years": years, "weeks": n, "eval_weeks": eval_weeks,
                                         "replicates": replicates, "seed": seed, "ks": list(ks),
                                         "scenarios": [asdict(s) for s in scenarios]})
    rng = np.random.default_rng(seed)
    for scn in scenarios:
        for k in ks:
            sim = simulate(scn, k, replicates, n, eval_weeks, rng)
            for alg in usable:
                user = dict((params or {}).get(alg) or {})
                if alg.startswith(RULE_PREFIX):
                    t0 = time.perf_counter()
                    s = score(run_detector(alg, sim, user), sim)
                    report.rows.append(Row(alg, scn.name, float(k), s.sensitivity, s.false_positive_rate,
                                           s.timeliness_weeks, s.replicates, time.perf_counter() - t0))
                    continue
                plan = registry.plan_range(alg, n, FREQ, params=user)
                if plan is None or plan[0] > sim.eval_start:
                    _note(report, f"{alg}: {years} years are too short for its baseline, skipped")
                    continue
                run_params = {**user, **({"b": plan[2]["b"]} if "b" in plan[2] else {})}
                if "b" in plan[2] and plan[2]["b"] != registry.get(alg).defaults.get("b", plan[2]["b"]) \
                        and "b" not in user:
                    _note(report, f"{alg}: b reduced to {plan[2]['b']} to fit {years} years")
                t0 = time.perf_counter()
                alarms = run_detector(alg, sim, run_params)
                s = score(alarms, sim)
                report.rows.append(Row(alg, scn.name, float(k), s.sensitivity, s.false_positive_rate,
                                       s.timeliness_weeks, s.replicates, time.perf_counter() - t0))
                if progress:
                    progress(f"{scn.name} k={k:g} {alg}: sensitivity {s.sensitivity:.2f}")
    return report


def _note(report: Report, text: str) -> None:
    if text not in report.notes:
        report.notes.append(text)
