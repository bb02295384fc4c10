r"""Simulated weekly series with outbreaks, for backtesting the detectors (Noufaily et al. 2013 design).

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

References
----------
Noufaily A, Enki DG, Farrington P, Garthwaite P, Andrews N, Charlett A (2013). An improved algorithm
for outbreak detection in multiple surveillance systems. *Stat Med* 32(7):1206-1222.
Salmon M, Schumacher D, Höhle M (2016). Monitoring count time series in R: aberration detection in
public health surveillance. *J Stat Softw* 70(10) (``sts_creation``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import lognorm

__all__ = ["BASELINE_OUTBREAKS", "DMAX", "FREQ", "SCENARIOS", "Scenario", "Simulation", "nb_counts",
           "simulate", "spread_density"]

FREQ = 52
DMAX = 20
BASELINE_OUTBREAKS = 4


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
