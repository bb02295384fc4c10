r"""Backtesting the statistical detectors on simulated outbreaks (Noufaily et al. 2013 design).

Baselines. Weekly counts ``y_t`` (``t = 1..n``) are negative binomial with mean

.. math:: \mu_t = \exp\Bigl(\theta + \beta t + \sum_{j=1}^{m} \bigl(\gamma_1 \cos\tfrac{2\pi j t}{52}
          + \gamma_2 \sin\tfrac{2\pi j t}{52}\bigr)\Bigr)

and variance :math:`\phi\mu_t` (dispersion :math:`\phi \ge 1`; Poisson when :math:`\phi = 1`; NB size
:math:`\mu_t/(\phi-1)`).

Outbreaks. An outbreak starting in week ``s`` has ``Poisson(k · sd_s)`` cases, ``sd_s = √(φ μ_s)``
the baseline standard deviation in that week; each case falls ``d − 1`` weeks after ``s`` with
probability ``P(d−1 < X ≤ d)/P(X ≤ 20)``, ``X ~ LogNormal(0, 0.5)`` (the discretised log-normal of
Noufaily et al. and R ``surveillance::sts_creation``): most cases in the first two weeks. Four
outbreaks (``k`` uniform in 2..10) are put in the baseline years, as in the paper, to test robustness
to past outbreaks; one outbreak of the chosen ``k`` starts in a random week of the evaluation period
(the last ``eval_weeks`` weeks, 49 by default).

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

import csv
import datetime as dt
import importlib
import io
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
from scipy.stats import lognorm

from detectors.algorithms import registry
from detectors.algorithms.base import Series

FREQ = 52
DMAX = 20
BASELINE_OUTBREAKS = 4
DEFAULT_DETECTORS = ("earsC_C1", "earsC_C2", "earsC_C3", "cusum", "bayes", "rki", "glrpois", "farrington",
                     "ff_default", "ff_noufaily", "rule:malaria_ratio", "rule:pneumonia_u5_trend")
RULE_PREFIX = "rule:"       # "rule:<id>": a weekly case-definition rule of the IDSR catalogue
RULE_KINDS = ("count", "rate", "ratio", "trend")
_EPOCH = dt.date(2001, 1, 1)  # a Monday: week t of a simulated series starts _EPOCH + 7(t-1) days


@dataclass(frozen=True)
class Scenario:
    """One baseline model (a row of the design); ``phi`` is the dispersion (variance = φ μ)."""

    name: str
    theta: float
    beta: float = 0.0
    gamma1: float = 0.0
    gamma2: float = 0.0
    m: int = 0
    phi: float = 1.0

    def __post_init__(self) -> None:
        if self.phi < 1:
            raise ValueError("phi (dispersion) must be >= 1")
        if self.m not in (0, 1, 2):
            raise ValueError("m (harmonics) must be 0, 1 or 2")

    def mean(self, n: int) -> np.ndarray:
        t = np.arange(1, n + 1, dtype=float)
        season = sum(self.gamma1 * np.cos(2 * np.pi * j * t / FREQ) + self.gamma2 * np.sin(2 * np.pi * j * t / FREQ)
                     for j in range(1, self.m + 1)) if self.m else 0.0
        return np.exp(self.theta + self.beta * t + season)


# Baselines spanning the paper's range of frequencies, trend, seasonality and dispersion.
SCENARIOS: dict[str, Scenario] = {s.name: s for s in [
    Scenario("rare", theta=0.0, phi=1.0),                                             # μ ≈ 1, Poisson
    Scenario("low_seasonal", theta=0.5, gamma1=0.2, gamma2=-0.4, m=1, phi=1.5),     # μ ≈ 1–3
    Scenario("medium_trend", theta=2.0, beta=0.002, gamma1=0.6, gamma2=0.6, m=1, phi=2.0),
    Scenario("high_2harm", theta=3.5, gamma1=0.4, gamma2=0.3, m=2, phi=3.0),        # μ ≈ 20–60
]}


def spread_density(dmax: int = DMAX) -> np.ndarray:
    """P(case falls in week offset d−1), d = 1..dmax: the discretised LogNormal(0, 0.5)."""
    cdf = lognorm.cdf(np.arange(0, dmax + 1), s=0.5, scale=1.0)
    return np.diff(cdf) / cdf[-1]


def nb_counts(rng: np.random.Generator, mu: np.ndarray, phi: float) -> np.ndarray:
    if phi <= 1.0:
        return rng.poisson(mu)
    size = mu / (phi - 1.0)
    return rng.negative_binomial(size, size / (size + mu))


@dataclass
class Simulation:
    """``observed`` (R, n); ``outbreak`` (R, n) weeks with cases of the evaluation outbreak;
    ``start`` (R,) its first week (0-based); evaluation weeks are ``eval_start..n`` (1-based)."""

    observed: np.ndarray
    outbreak: np.ndarray
    start: np.ndarray
    eval_start: int


def _inject(rng, y, mu, phi, s, k, dens):
    n_cases = rng.poisson(k * math.sqrt(phi * mu[s]))
    offsets = rng.choice(len(dens), size=n_cases, p=dens)
    added = np.bincount(offsets, minlength=len(dens))
    end = min(len(y), s + len(added))
    y[s:end] += added[: end - s]
    return s + np.nonzero(added[: end - s])[0]


def simulate(scenario: Scenario, k: float, replicates: int, n: int, eval_weeks: int,
             rng: np.random.Generator) -> Simulation:
    mu = scenario.mean(n)
    dens = spread_density()
    eval_start = n - eval_weeks + 1
    obs = np.zeros((replicates, n), dtype=np.int64)
    outbreak = np.zeros((replicates, n), dtype=bool)
    start = np.zeros(replicates, dtype=np.int64)
    for r in range(replicates):
        y = nb_counts(rng, mu, scenario.phi)
        for _ in range(BASELINE_OUTBREAKS):   # past outbreaks, finished before the evaluation period
            s = int(rng.integers(0, max(1, eval_start - 1 - DMAX)))
            _inject(rng, y, mu, scenario.phi, s, rng.uniform(2, 10), dens)
        s = int(rng.integers(eval_start - 1, n - 4))  # current outbreak, at least 5 weeks before the end
        weeks = _inject(rng, y, mu, scenario.phi, s, k, dens)
        outbreak[r, weeks] = True
        start[r] = s
        obs[r] = y
    return Simulation(obs, outbreak, start, eval_start)


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
    spec = registry.get(algorithm)
    n = sim.observed.shape[1]
    y = sim.observed.astype(float)
    merged = {**spec.defaults, **dict(params or {})}
    if spec.batch_function == "detect_batch":   # Farrington family: one batch of GLMs for all series
        fn = getattr(importlib.import_module(spec.module), "detect_batch")
        dets = fn([(Series(row, FREQ), sim.eval_start, n) for row in y], merged)
        return np.vstack([np.asarray(d.alarm, dtype=bool) for d in dets])
    batch = None if spec.farrington_family else registry.batch_detector(algorithm)
    if batch is not None:
        res = batch(y, sim.eval_start, n, dict(params or {}))
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


# -- output ------------------------------------------------------------------------------------------
def summary(report: Report) -> list[dict[str, Any]]:
    """One line per detector: means over scenarios and k."""
    out = []
    for det in dict.fromkeys(r.detector for r in report.rows):
        rows = [r for r in report.rows if r.detector == det]
        tl = [r.timeliness_weeks for r in rows if not math.isnan(r.timeliness_weeks)]
        out.append({"detector": det, "sensitivity": float(np.mean([r.sensitivity for r in rows])),
                    "false_positive_rate": float(np.mean([r.false_positive_rate for r in rows])),
                    "timeliness_weeks": float(np.mean(tl)) if tl else math.nan,
                    "seconds": float(sum(r.seconds for r in rows))})
    return out


def _fmt(v: float, digits: int = 3) -> str:
    return "–" if isinstance(v, float) and math.isnan(v) else f"{v:.{digits}f}"


def to_markdown(report: Report, detail: bool = False) -> str:
    lines = ["| detector | sensitivity | false-positive rate | timeliness (weeks) | run time (s) |",
             "|---|---:|---:|---:|---:|"]
    for s in summary(report):
        lines.append(f"| {s['detector']} | {_fmt(s['sensitivity'], 2)} | {_fmt(s['false_positive_rate'], 4)} | "
                     f"{_fmt(s['timeliness_weeks'], 2)} | {_fmt(s['seconds'], 2)} |")
    if detail:
        lines += ["", "| detector | scenario | k | sensitivity | false-positive rate | timeliness (weeks) |",
                  "|---|---|---:|---:|---:|---:|"]
        for r in report.rows:
            lines.append(f"| {r.detector} | {r.scenario} | {r.k:g} | {_fmt(r.sensitivity, 2)} | "
                         f"{_fmt(r.false_positive_rate, 4)} | {_fmt(r.timeliness_weeks, 2)} |")
    if report.notes:
        lines += ["", *(f"- {n}" for n in report.notes)]
    return "\n".join(lines) + "\n"


def to_csv(report: Report) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["detector", "scenario", "k", "sensitivity", "false_positive_rate", "timeliness_weeks",
                "replicates", "seconds"])
    for r in report.rows:
        w.writerow([r.detector, r.scenario, f"{r.k:g}", f"{r.sensitivity:.4f}", f"{r.false_positive_rate:.5f}",
                    "" if math.isnan(r.timeliness_weeks) else f"{r.timeliness_weeks:.3f}", r.replicates,
                    f"{r.seconds:.3f}"])
    return buf.getvalue()


def plot(report: Report, path: str | Path) -> Path:
    """Sensitivity and timeliness against k, false-positive rate per detector (PNG, Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dets = list(dict.fromkeys(r.detector for r in report.rows))
    ks = sorted({r.k for r in report.rows})
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    # up to 20 distinguishable colours, and line styles/markers cycling apart from them, so no two
    # detectors share a look when more than ten are compared
    colours = plt.get_cmap("tab20").colors
    styles, markers = ("-", "--", ":"), ("o", "s", "^", "D")
    for i, det in enumerate(dets):
        rows = [r for r in report.rows if r.detector == det]
        sens = [np.mean([r.sensitivity for r in rows if r.k == k]) for k in ks]
        tl = [np.nanmean([r.timeliness_weeks for r in rows if r.k == k] or [np.nan]) for k in ks]
        look = dict(color=colours[i % 20], linestyle=styles[i % 3], marker=markers[i % 4], label=det)
        axes[0].plot(ks, sens, **look)
        axes[2].plot(ks, tl, **look)
    summ = summary(report)
    axes[1].barh([s["detector"] for s in summ], [s["false_positive_rate"] for s in summ], color="tab:red")
    axes[0].set(title="Sensitivity (probability of detection)", xlabel="outbreak size k (× baseline sd)",
                ylabel="share of outbreaks detected", ylim=(0, 1.02))
    axes[1].set(title="False-positive rate", xlabel="alarms per outbreak-free week")
    axes[2].set(title="Timeliness", xlabel="outbreak size k (× baseline sd)", ylabel="weeks to first alarm")
    axes[0].legend(fontsize=7, ncol=2)
    c = report.config
    fig.suptitle(f"SEBAC backtest: {c.get('replicates')} replicates × {len(c.get('scenarios', []))} scenarios, "
                 f"{c.get('weeks')} weeks, last {c.get('eval_weeks')} evaluated (Noufaily et al. 2013 design)",
                 fontsize=10)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
