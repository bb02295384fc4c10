"""Pieces shared by :mod:`farrington` (``algo.farrington``) and :mod:`farrington_flexible`.

* reference-week selection, by index (``t - freq*i + (-w..w)``) or, for dated series, by date as
  R ``surveillance`` does it (``seq(date, by = "-1 year")``, windows of +-w weeks/months, weekly
  points moved to the closest day with the weekday of the current week);
* the ``blocks()`` layout of ``farringtonFlexible`` (``noPeriods`` seasonal factor levels,
  ``pastWeeksNotIncluded``), emulated with R's ``a:b`` semantics (a descending range when
  ``b < a``, which happens for monthly data with ``noPeriods = 10``);
* the stacked ("long") problem set and the quasi-Poisson fit with Anscombe-residual reweighting
  (Farrington et al. 1996, section 3.3)::

      s_i = 3/2 (y_i^(2/3) mu_i^(-1/6) - mu_i^(1/2)) / sqrt(phi (1 - h_ii))
      omega_i = gamma s_i^-2 if s_i > threshold else gamma,  sum(omega) = n
      phi = max(1, sum(W r^2) / (n - p))

* R-compatible discrete quantiles (``qnbinom``/``qpois`` search with R's ``1 - 64 eps`` fuzz).

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
from functools import lru_cache
from typing import Any, Collection, Mapping, Sequence, TypeVar

import numpy as np
from scipy import special

from .base import Series
from .glm import DenseGlmFit, fit_poisson_glm_dense

__all__ = [
    "EPS",
    "POWERS",
    "Concatenated",
    "ProblemBlock",
    "ReweightedFit",
    "anscombe_residuals",
    "assign_weights",
    "fit_reweighted",
    "params_from_mapping",
    "flexible_layout",
    "flexible_reference_positions",
    "farrington_reference_rows",
    "enough_cases",
    "r_qnbinom",
    "r_qpois",
    "r_pnbinom_upper",
    "r_ppois_upper",
    "trend_pvalue",
]

_HAT_ONE = 1.0 - 10.0 * np.finfo(float).eps
EPS = float(np.finfo(float).eps)
POWERS = {"2/3": 2.0 / 3.0, "1/2": 0.5, "none": 1.0}   # powertrans -> exponent

_P = TypeVar("_P")


def params_from_mapping(cls: type[_P], params: Mapping[str, Any], *, key: str,
                        ignored: Collection[str]) -> _P:
    """The params dataclass ``cls`` from R-named ``params``: a name that is neither a field nor in
    ``ignored`` raises ``ValueError("<key>.params.unknown: [...]")``; ``limit54`` becomes a float pair.
    Each algorithm then checks its own values."""
    known = set(cls.__dataclass_fields__)  # type: ignore[attr-defined]
    unknown = set(params) - known - set(ignored)
    if unknown:
        raise ValueError(f"{key}.params.unknown: {sorted(unknown)}")
    kw = {k: v for k, v in params.items() if k in known}
    if "limit54" in kw:
        kw["limit54"] = tuple(float(x) for x in kw["limit54"])
    return cls(**kw)


# --------------------------------------------------------------------------- dates (R seq.Date)
def _ymd(d: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    months = d.astype("datetime64[M]")
    y = months.astype(np.int64) // 12 + 1970
    m = months.astype(np.int64) % 12 + 1
    day = (d - months.astype("datetime64[D]")).astype(np.int64) + 1
    return y, m, day


def _from_ymd(y: np.ndarray, m: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Like ``as.Date(POSIXlt)``: month and day overflow roll forward (2011-02-29 -> 03-01)."""
    mm = (np.asarray(y) - 1970) * 12 + (np.asarray(m) - 1)
    return mm.astype("datetime64[M]").astype("datetime64[D]") + (np.asarray(day) - 1)


def _shift(d: np.ndarray, years: int = 0, months: int = 0) -> np.ndarray:
    y, m, day = _ymd(d)
    return _from_ymd(y + years, m + months, day)


def _weekday(d: np.ndarray) -> np.ndarray:
    return (d.astype(np.int64) + 4) % 7  # R format(d, "%w"): 0 = Sunday; 1970-01-01 was Thursday


def _closest_same_weekday(d: np.ndarray, d0: np.ndarray) -> np.ndarray:
    fwd = (_weekday(d0) - _weekday(d)) % 7
    bwd = (_weekday(d) - _weekday(d0)) % 7
    return d + np.where(fwd < bwd, fwd, -bwd)


def _match(dates: np.ndarray, query: np.ndarray) -> np.ndarray:
    """1-based positions of ``query`` in sorted ``dates``; 0 where absent (R ``match`` -> NA)."""
    pos = np.searchsorted(dates, query)
    pos_c = np.minimum(pos, dates.shape[0] - 1)
    return np.where(dates[pos_c] == query, pos_c + 1, 0)


def _epoch_unit(freq: int) -> str:
    return {12: "month", 52: "week", 365: "day"}.get(int(freq), "none")


# ---------------------------------------------------------------- algo.farrington reference rows
def farrington_reference_rows(series: Series, ks: np.ndarray, b: int, w: int) -> np.ndarray:
    """Reference rows of ``algo.farrington`` (1-based, 0 = missing), shape ``(len(ks), b*(2w+1))``.

    Undated: ``k - freq*i + j`` for ``i = b..1``, ``j = -w..w`` (rows < 1 are missing).
    Dated (R ``refvalIdxByDate``): ``date_k`` minus ``i`` years, then ``j`` weeks (months, days);
    weekly points move to the closest day with the weekday of ``date_k``; monthly points to the
    day of month of ``date_k``; points not among the series' dates are missing.
    """
    ks = np.asarray(ks, dtype=np.int64)
    js = np.arange(-w, w + 1)
    i_s = np.arange(b, 0, -1)
    if series.dates is None:
        rows = ks[:, None, None] - series.freq * i_s[None, :, None] + js[None, None, :]
        return np.where(rows >= 1, rows, 0).reshape(ks.shape[0], -1)
    dates = np.asarray(series.dates, dtype="datetime64[D]")
    t0 = dates[ks - 1]
    unit = _epoch_unit(series.freq)
    out = np.zeros((ks.shape[0], b, 2 * w + 1), dtype=np.int64)
    for ii, i in enumerate(i_s):
        ref = _shift(t0, years=-int(i))
        for jj, j in enumerate(js):
            if unit == "week":
                d = _closest_same_weekday(ref + 7 * int(j), t0)
            elif unit == "month":
                d = _shift(ref, months=int(j))
                d = d - (_ymd(d)[2] - _ymd(t0)[2])
            else:
                d = ref + int(j)
            out[:, ii, jj] = _match(dates, d)
    return out.reshape(ks.shape[0], -1)


# ------------------------------------------------------- farringtonFlexible reference positions
def flexible_reference_positions(series: Series, ks: np.ndarray, b: int) -> np.ndarray:
    """Positions (1-based) of the current point and its ``b`` yearly reference points.

    Shape ``(len(ks), b+1)``, column 0 = ``k``; 0 where the reference point does not exist (R
    stops with "Some reference time points did not exist"; we return NA for that point).
    Dated weekly series: one year back by calendar, then the closest same weekday.
    """
    ks = np.asarray(ks, dtype=np.int64)
    i_s = np.arange(0, b + 1)
    if series.dates is None:
        pos = ks[:, None] - series.freq * i_s[None, :]
        return np.where(pos >= 1, pos, 0)
    dates = np.asarray(series.dates, dtype="datetime64[D]")
    t0 = dates[ks - 1]
    out = np.zeros((ks.shape[0], b + 1), dtype=np.int64)
    for i in i_s:
        d = _shift(t0, years=-int(i))
        if _epoch_unit(series.freq) == "week":
            d = _closest_same_weekday(d, t0)
        out[:, i] = _match(dates, d)
    return out


def _r_range(a: int, b: int) -> np.ndarray:
    """R's ``a:b`` (descending when ``b < a``)."""
    return np.arange(a, b + 1) if a <= b else np.arange(a, b - 1, -1)


@lru_cache(maxsize=4096)
def flexible_layout(
    gaps: tuple[int, ...], w: int, p: int, past_weeks_not_included: int
) -> tuple[np.ndarray, np.ndarray]:
    """Rows (offsets to ``k``, sorted by level, then ascending) and factor levels of ``blocks()``.

    ``gaps[i-1] = r_{i-1} - r_i`` where ``r_0 = k > r_1 > ... > r_b`` are the reference
    positions. Windows ``r_i +- w`` (and ``k-w..k``) get level ``p``; for ``p > 1`` the
    ``period = r_{i-1} - 2w - 1 - r_i`` points between windows are cut into ``p-1`` blocks
    (the first ``period %% (p-1)`` one longer), labelled ``1..p-1``. Offsets
    ``-pastWeeksNotIncluded..0`` are then dropped.
    """
    r = np.concatenate([[0], -np.cumsum(gaps)]).astype(np.int64)  # offsets of r_0..r_b
    b = len(gaps)
    origin = int(-r[-1] + w + 2 * p + 8)
    size = origin + w + 2 * p + 8
    lev = np.full(size, np.nan)

    def assign(idx: np.ndarray, value: float) -> None:
        idx = idx + origin
        idx = idx[(idx >= 0) & (idx < size)]
        lev[idx] = value

    assign(_r_range(-w, 0), p)
    for i in range(1, b + 1):
        ref = int(r[i])
        assign(_r_range(ref - w, ref + w), p)
        if p != 1:
            period = int(r[i - 1]) - 2 * w - 1 - ref
            if period < p - (2 * w + 1):
                raise ValueError("farrington.noperiods.too_many: number of factors too big")
            lengths = np.full(p - 1, period // (p - 1), dtype=np.int64)
            lengths[: period % (p - 1)] += 1
            cum = np.concatenate([[0], np.cumsum(lengths)])
            for j in range(1, p):
                assign(_r_range(ref + w + 1 + int(cum[j - 1]), ref + w + 1 + int(cum[j]) - 1), j)
    pw = int(past_weeks_not_included)
    assign(_r_range(-pw, 0), np.nan)
    keep = np.flatnonzero(~np.isnan(lev))
    keep = keep[np.argsort(lev[keep], kind="stable")]  # grouped by level (fast group sums)
    offsets = keep - origin
    return offsets.astype(np.int64), lev[keep].astype(np.int64)


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


# --------------------------------------------------------------------------- misc
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


_FUZZ = 1.0 - 64.0 * np.finfo(float).eps


def _r_discrete_quantile(p: float, cdf, mu: float, sigma: float, gamma: float) -> float:
    """R's discrete quantile search (``qDiscrete_search.h``): Cornish-Fisher start, then steps.

    Returns the smallest ``y`` with ``cdf(y) >= p (1 - 64 eps)`` (R's fuzz for left continuity),
    with R's coarse-to-fine increments for ``y >= 1e5``.
    """
    if p + 1.01 * np.finfo(float).eps >= 1.0:
        return np.inf
    z = float(special.ndtri(p))
    y = float(np.rint(mu + sigma * (z + gamma * (z * z - 1.0) / 6.0)))
    if not np.isfinite(y):
        return np.nan
    y = max(y, 0.0)
    pf = p * _FUZZ

    def search(y: float, incr: float) -> float:
        zc = cdf(y)
        if zc >= pf:  # search to the left
            while True:
                if y <= 0:
                    return 0.0
                newz = cdf(y - incr)
                if np.isnan(newz) or newz < pf:
                    return y
                y = max(0.0, y - incr)
        while True:  # to the right
            y = y + incr
            zc = cdf(y)
            if np.isnan(zc) or zc >= pf:
                return y

    if y < 1e5:
        return search(y, 1.0)
    incr = np.floor(y / 64.0)
    while True:
        old = incr
        y = search(y, incr)
        incr = max(1.0, np.floor(incr / 100.0))
        if not (old > 1 and incr > y * 1e-15):
            return y


def _r_discrete_quantile_vec(p: float, cdf, mu: np.ndarray, sigma: np.ndarray,
                             gamma: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Vectorised :func:`_r_discrete_quantile` (unit steps; starts >= 1e5 use the scalar one)."""
    out = np.full(mu.shape, np.nan)
    if p + 1.01 * np.finfo(float).eps >= 1.0:
        return np.where(valid, np.inf, np.nan)
    z = float(special.ndtri(p))
    with np.errstate(all="ignore"):
        y = np.rint(mu + sigma * (z + gamma * (z * z - 1.0) / 6.0))
    ok = valid & np.isfinite(y)
    y = np.where(ok, np.maximum(y, 0.0), np.nan)
    big = ok & (y >= 1e5)
    small = np.flatnonzero(ok & ~big)
    pf = p * _FUZZ
    if small.size:
        ys = y[small]
        zc = cdf(ys, small)
        left = zc >= pf
        idx = np.flatnonzero(left)  # search to the left
        while idx.size:
            yy = ys[idx]
            pos = yy > 0
            newz = np.full(idx.shape, np.nan)
            if pos.any():
                newz[pos] = cdf(yy[pos] - 1.0, small[idx[pos]])
            move = pos & ~np.isnan(newz) & (newz >= pf)
            ys[idx[move]] = yy[move] - 1.0
            idx = idx[move]
        idx = np.flatnonzero(~left)  # search to the right
        while idx.size:
            ys[idx] += 1.0
            zc = cdf(ys[idx], small[idx])
            idx = idx[~(np.isnan(zc) | (zc >= pf))]
        out[small] = ys
    for i in np.flatnonzero(big):
        out[i] = _r_discrete_quantile(p, lambda x, i=i: float(cdf(np.array([x]), np.array([i]))[0]),
                                      float(mu[i]), float(sigma[i]), float(gamma[i]))
    return out


def r_qnbinom(p: float, size: np.ndarray, prob: np.ndarray) -> np.ndarray:
    """``qnbinom(p, size, prob)`` of R (non-integer ``size``), elementwise.

    CDF ``P(X <= y) = I_prob(size, y + 1)`` (regularised incomplete beta, as R's ``pnbinom``).
    """
    size = np.atleast_1d(np.asarray(size, dtype=float))
    prob = np.atleast_1d(np.asarray(prob, dtype=float))
    valid = (size >= 0) & (prob > 0) & (prob <= 1) & np.isfinite(size)
    trivial = valid & ((prob == 1) | (size == 0))
    with np.errstate(all="ignore"):
        q = 1.0 / prob
        pp = (1.0 - prob) * q
        sigma = np.sqrt(size * pp * q)
        out = _r_discrete_quantile_vec(
            p, lambda x, i: special.betainc(size[i], x + 1.0, prob[i]),
            size * pp, sigma, (q + pp) / sigma, valid & ~trivial)
    return np.where(trivial, 0.0, out)


def r_qpois(p: float, mu: np.ndarray) -> np.ndarray:
    """``qpois(p, lambda)`` of R, elementwise (CDF = ``Q(y + 1, lambda)``, upper regularised gamma)."""
    mu = np.atleast_1d(np.asarray(mu, dtype=float))
    valid = (mu >= 0) & np.isfinite(mu)
    trivial = valid & (mu == 0)
    with np.errstate(all="ignore"):
        sigma = np.sqrt(mu)
        out = _r_discrete_quantile_vec(
            p, lambda x, i: special.gammaincc(x + 1.0, mu[i]), mu, sigma, 1.0 / sigma,
            valid & ~trivial)
    return np.where(trivial, 0.0, out)


def r_pnbinom_upper(y: np.ndarray, size: np.ndarray, prob: np.ndarray) -> np.ndarray:
    """``pnbinom(y - 1, size, prob, lower.tail = FALSE)`` = P(X >= y)."""
    y = np.asarray(y, dtype=float)
    with np.errstate(all="ignore"):
        v = special.betaincc(size, np.maximum(y, 1.0), prob)
    return np.where(y <= 0, 1.0, v)


def r_ppois_upper(y: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """``ppois(y - 1, mu, lower.tail = FALSE)`` = P(X >= y)."""
    y = np.asarray(y, dtype=float)
    with np.errstate(all="ignore"):
        v = special.gammainc(np.maximum(y, 1.0), mu)
    return np.where(y <= 0, 1.0, v)


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
