"""The Farrington fit: the stacked ("long") problem set and the quasi-Poisson GLM with
Anscombe-residual reweighting (Farrington et al. 1996, section 3.3)::

    s_i = 3/2 (y_i^(2/3) mu_i^(-1/6) - mu_i^(1/2)) / sqrt(phi (1 - h_ii))
    omega_i = gamma s_i^-2 if s_i > threshold else gamma,  sum(omega) = n
    phi = max(1, sum(W r^2) / (n - p))

plus the trend test, the "5 cases in the last 4 weeks" rule (``limit54``) and the items of a batch
laid end to end (:class:`Concatenated`).

References
----------
Farrington CP, Andrews NJ, Beale AD, Catchpole MA (1996). A statistical algorithm for the early
detection of outbreaks of infectious disease. J R Stat Soc A 159:547-563.
Noufaily A, Enki DG, Farrington P, Garthwaite P, Andrews N, Charlett A (2013). An improved
algorithm for outbreak detection in multiple surveillance systems. Stat Med 32:1206-1222.
Salmon M, Schumacher D, Hoehle M (2016). Monitoring count time series in R: aberration detection
in public health surveillance. J Stat Softw 70(10).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy import special

from .base import Series
from .glm import DenseGlmFit, fit_poisson_glm_dense

__all__ = ["Concatenated", "ProblemBlock", "ReweightedFit", "anscombe_residuals", "assign_weights",
           "enough_cases", "fit_reweighted", "trend_pvalue"]

_HAT_ONE = 1.0 - 10.0 * np.finfo(float).eps


# --------------------------------------------------------------------------- problem blocks
@dataclass(frozen=True)
class ProblemBlock:
    """``K`` GLM problems (one per monitored point) sharing one row layout of ``L`` slots.

    ``valid`` marks rows that exist (reference point present, count not NA); absent rows get
    prior weight 0 and are ignored, as R never sees them.
    """

    y: np.ndarray       # (K, L)
    t: np.ndarray       # (K, L) time covariate (R's wtime, any origin)
    valid: np.ndarray   # (K, L) bool
    levels: np.ndarray  # (L,) factor level 0..G-1 of each slot
    n_groups: int

    @classmethod
    def build(cls, y: np.ndarray, t: np.ndarray, valid: np.ndarray, levels: np.ndarray,
              n_groups: int) -> "ProblemBlock":
        valid = valid & ~np.isnan(y)
        return cls(np.where(valid, y, 0.0), np.broadcast_to(t, y.shape).astype(float), valid,
                   np.asarray(levels, dtype=np.int64), int(n_groups))

    def subset(self, keep: np.ndarray) -> "ProblemBlock":
        return ProblemBlock(self.y[keep], self.t[keep], self.valid[keep], self.levels, self.n_groups)

    @property
    def n_problems(self) -> int:
        return int(self.y.shape[0])

    def max_y(self) -> np.ndarray:
        return np.max(np.where(self.valid, self.y, -np.inf), axis=1)

    def n_rows(self) -> np.ndarray:
        return self.valid.sum(axis=1)


def anscombe_residuals(y: np.ndarray, mu: np.ndarray, hat: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """Standardised Anscombe residuals ``3/2 (y^(2/3) mu^(-1/6) - mu^(1/2)) / sqrt(phi (1-h))``.

    Hat values above ``1 - 10 eps`` count as 1 (R ``lm.influence``).
    """
    h = np.where(hat > _HAT_ONE, 1.0, hat)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = 1.5 * (y ** (2.0 / 3.0) * mu ** (-1.0 / 6.0) - np.sqrt(mu))
        return a / np.sqrt(phi * (1.0 - h))


def assign_weights(s: np.ndarray, valid: np.ndarray, threshold: float) -> np.ndarray:
    """``omega = gamma s^-2`` where ``s > threshold`` else ``gamma``, ``sum(omega) = n`` per problem.

    ``s`` and ``valid`` have shape ``(K, L)``; absent rows get weight 0.
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        raw = np.where(valid, np.where(s > threshold, 1.0 / (s * s), 1.0), 0.0)
        gamma = valid.sum(axis=1) / raw.sum(axis=1)
    return gamma[:, None] * raw


@dataclass(frozen=True)
class ReweightedFit:
    """Final quasi-Poisson fit of each problem after the optional reweighting step."""

    fit: DenseGlmFit
    initial_converged: np.ndarray  # (K,) convergence of the first (unweighted) fit
    phi: np.ndarray                # (K,) max(1, Pearson dispersion of the final fit)
    pearson: np.ndarray            # (K,) Pearson dispersion of the final fit (unfloored)
    omega_dispersion: np.ndarray   # (K,) sum(omega r^2)/df: what summary() sees in farringtonFlexible


def fit_reweighted(pb: ProblemBlock, *, trend: bool, reweight: bool, threshold: float) -> ReweightedFit:
    """Initial quasi-Poisson fit, then (``reweight``) a refit with Anscombe-residual weights."""
    w1 = pb.valid.astype(float)
    fit1 = fit_poisson_glm_dense(pb.y, pb.t, pb.levels, pb.n_groups, w1, trend=trend)
    disp1 = fit1.pearson_dispersion(pb.y)
    if not reweight:
        return ReweightedFit(fit1, fit1.converged, np.fmax(disp1, 1.0), disp1, disp1)
    phi1 = np.fmax(disp1, 1.0)
    s = anscombe_residuals(pb.y, fit1.mu, fit1.hat, phi1[:, None])
    omega = assign_weights(s, pb.valid, threshold)
    fit2 = fit_poisson_glm_dense(pb.y, pb.t, pb.levels, pb.n_groups, omega, trend=trend)
    pearson = fit2.pearson_dispersion(pb.y)
    r = (pb.y - fit2.mu) / fit2.mu
    with np.errstate(divide="ignore", invalid="ignore"):
        omega_disp = np.sum(np.where(omega > 0, omega * r * r, 0.0), axis=1) / fit2.df_residual
    return ReweightedFit(fit2, fit1.converged, np.fmax(pearson, 1.0), pearson, omega_disp)


def trend_pvalue(fit: DenseGlmFit, dispersion: np.ndarray) -> np.ndarray:
    """Two-sided t-test p-value of the slope, as ``summary.glm`` for quasi families."""
    with np.errstate(divide="ignore", invalid="ignore"):
        tval = fit.slope / np.sqrt(dispersion / fit.within_ss)
        p = 2.0 * special.stdtr(fit.df_residual, -np.abs(tval))
    return np.where(fit.df_residual > 0, p, np.nan)


# ------------------------------------------------------------------- the 5-cases rule (limit54)
def enough_cases(observed: np.ndarray, ks: np.ndarray, limit54: tuple[float, float],
                 base: np.ndarray | int = 0) -> tuple[np.ndarray, np.ndarray]:
    """limit54 rule: at least ``limit54[0]`` cases in the last ``limit54[1]`` points (k included).

    Returns ``(enough, na)``: ``na`` where a count in the window is NA (R's rule is then NA).
    ``base``: offset of each point's series in ``observed`` (several series end to end).
    """
    cases, period = float(limit54[0]), int(limit54[1])
    if not (cases >= 0 and period > 0):
        raise ValueError("farrington.limit54.out_of_bounds: cases >= 0 and period > 0")
    obs = np.asarray(observed, dtype=float)
    c = np.concatenate([[0.0], np.cumsum(np.nan_to_num(obs, nan=0.0))])
    nas = np.concatenate([[0], np.cumsum(np.isnan(obs))])
    hi = base + ks
    lo = base + np.maximum(ks - period, 0)
    na = (nas[hi] - nas[lo]) > 0
    return ((c[hi] - c[lo]) >= cases) & ~na, na



class Concatenated:
    """All items' counts (and day numbers) end to end, with per-item bases and ranges."""

    def __init__(self, items: Sequence[tuple[Series, int, int]], name: str) -> None:
        self.ranges, obs, days, self.n, self.step, self.dated = [], [], [], [], [], []
        for series, start, end in items:
            n = series.n
            if not (1 <= start <= end <= n):
                raise ValueError(f"{name}.range.out_of_bounds: 1..{n}")
            self.ranges.append(np.arange(start, end + 1, dtype=np.int64))
            obs.append(np.asarray(series.observed, dtype=float))
            self.n.append(n)
            if series.dates is None:
                days.append(np.zeros(n))
                self.step.append(1.0)
                self.dated.append(False)
            else:
                d = np.asarray(series.dates, dtype="datetime64[D]").astype(np.int64).astype(float)
                days.append(d)
                self.step.append(d[1] - d[0] if n > 1 else 1.0)
                self.dated.append(True)
        self.n = np.asarray(self.n, dtype=np.int64)
        self.step = np.asarray(self.step)
        self.dated = np.asarray(self.dated, dtype=bool)
        self.base = np.concatenate([[0], np.cumsum(self.n)[:-1]]).astype(np.int64)
        self.obs = np.concatenate(obs) if obs else np.zeros(0)
        self.days = np.concatenate(days) if days else np.zeros(0)
        sizes = np.array([r.shape[0] for r in self.ranges], dtype=np.int64)
        self.point_base = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        self.first_k = np.array([int(r[0]) for r in self.ranges], dtype=np.int64)
        self.n_points = int(sizes.sum())

    def enough_cases(self, limit54) -> tuple[np.ndarray, np.ndarray]:
        """limit54 rule for every monitored point of every item (see ``enough_cases``)."""
        if not self.ranges:
            return np.zeros(0, dtype=bool), np.zeros(0, dtype=bool)
        its = np.repeat(np.arange(len(self.ranges)), [r.shape[0] for r in self.ranges])
        ks = np.concatenate(self.ranges)
        return enough_cases(self.obs, ks, limit54, base=self.base[its])
