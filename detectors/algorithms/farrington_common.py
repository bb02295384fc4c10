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

import numpy as np
from scipy import stats

from .base import Series
from .glm import GroupedGlmFit, fit_poisson_glm_grouped

__all__ = [
    "ProblemSet",
    "ReweightedFit",
    "anscombe_residuals",
    "assign_weights",
    "fit_reweighted",
    "flexible_layout",
    "flexible_reference_positions",
    "farrington_reference_rows",
    "enough_cases",
    "r_qnbinom",
    "r_qpois",
]

_HAT_ONE = 1.0 - 10.0 * np.finfo(float).eps


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
    """Rows (offsets to ``k``, ascending) and factor levels of R's ``blocks()``.

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
    offsets = keep - origin
    return offsets.astype(np.int64), lev[keep].astype(np.int64)


# --------------------------------------------------------------------------- problem set
@dataclass(frozen=True)
class ProblemSet:
    """Rows of ``B`` small GLMs stacked in long format (see ``fit_poisson_glm_grouped``)."""

    y: np.ndarray        # (N,) response
    t: np.ndarray        # (N,) time covariate, centred at the predicted point (t0 = 0)
    group: np.ndarray    # (N,) factor level 0..G-1
    problem: np.ndarray  # (N,) problem id 0..B-1
    n_problems: int
    n_groups: int

    def subset(self, keep: np.ndarray) -> tuple["ProblemSet", np.ndarray]:
        """Problems where ``keep`` is True, renumbered; also returns their old ids."""
        ids = np.flatnonzero(keep)
        newid = np.cumsum(keep) - 1
        rsel = keep[self.problem]
        return (
            ProblemSet(self.y[rsel], self.t[rsel], self.group[rsel], newid[self.problem[rsel]],
                       int(ids.shape[0]), self.n_groups),
            ids,
        )

    def max_y(self) -> np.ndarray:
        out = np.full(self.n_problems, -np.inf)
        np.maximum.at(out, self.problem, self.y)
        return out

    def n_rows(self) -> np.ndarray:
        return np.bincount(self.problem, minlength=self.n_problems).astype(float)


def anscombe_residuals(y: np.ndarray, mu: np.ndarray, hat: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """Standardised Anscombe residuals ``3/2 (y^(2/3) mu^(-1/6) - mu^(1/2)) / sqrt(phi (1-h))``.

    ``phi`` is per row. Hat values above ``1 - 10 eps`` count as 1 (R ``lm.influence``).
    """
    h = np.where(hat > _HAT_ONE, 1.0, hat)
    a = 1.5 * (np.cbrt(y) ** 2 * mu ** (-1.0 / 6.0) - np.sqrt(mu))
    with np.errstate(divide="ignore", invalid="ignore"):
        return a / np.sqrt(phi * (1.0 - h))


def assign_weights(s: np.ndarray, problem: np.ndarray, n_problems: int, threshold: float) -> np.ndarray:
    """``omega = gamma s^-2`` where ``s > threshold`` else ``gamma``; ``gamma`` makes sum = n."""
    big = s > threshold
    with np.errstate(divide="ignore"):
        raw = np.where(big, s ** -2.0, 1.0)
    n = np.bincount(problem, minlength=n_problems).astype(float)
    gamma = n / np.bincount(problem, raw, minlength=n_problems)
    return gamma[problem] * raw


@dataclass(frozen=True)
class ReweightedFit:
    """Final quasi-Poisson fit of each problem after the optional reweighting step."""

    fit: GroupedGlmFit
    initial_converged: np.ndarray  # (B,) convergence of the first (unweighted) fit
    phi: np.ndarray                # (B,) max(1, Pearson dispersion of the final fit)
    pearson: np.ndarray            # (B,) Pearson dispersion of the final fit (unfloored)
    omega_dispersion: np.ndarray   # (B,) sum(omega r^2)/df: what R's summary() sees in farringtonFlexible


def fit_reweighted(ps: ProblemSet, *, trend: bool, reweight: bool, threshold: float) -> ReweightedFit:
    """Initial quasi-Poisson fit, then (``reweight``) refit with Anscombe-residual weights."""
    fit1 = fit_poisson_glm_grouped(ps.y, ps.t, ps.group, ps.problem, ps.n_problems, ps.n_groups,
                                   trend=trend)
    if not reweight:
        disp = fit1.pearson_dispersion(ps.y, ps.problem)
        return ReweightedFit(fit1, fit1.converged, np.fmax(disp, 1.0), disp, disp)
    phi1 = np.fmax(fit1.pearson_dispersion(ps.y, ps.problem), 1.0)
    s = anscombe_residuals(ps.y, fit1.mu, fit1.hat, phi1[ps.problem])
    omega = assign_weights(s, ps.problem, ps.n_problems, threshold)
    fit2 = fit_poisson_glm_grouped(ps.y, ps.t, ps.group, ps.problem, ps.n_problems, ps.n_groups,
                                   weights=omega, trend=trend)
    pearson = fit2.pearson_dispersion(ps.y, ps.problem)
    r = (ps.y - fit2.mu) / fit2.mu
    keep = omega > 0
    num = np.bincount(ps.problem[keep], (omega * r * r)[keep], minlength=ps.n_problems)
    with np.errstate(divide="ignore", invalid="ignore"):
        omega_disp = num / fit2.df_residual
    return ReweightedFit(fit2, fit1.converged, np.fmax(pearson, 1.0), pearson, omega_disp)


def trend_pvalue(fit: GroupedGlmFit, dispersion: np.ndarray) -> np.ndarray:
    """Two-sided t-test p-value of the slope, as ``summary.glm`` for quasi families."""
    with np.errstate(divide="ignore", invalid="ignore"):
        tval = fit.slope / np.sqrt(dispersion / fit.within_ss)
        p = 2.0 * stats.t.sf(np.abs(tval), fit.df_residual)
    return np.where(fit.df_residual > 0, p, np.nan)


# --------------------------------------------------------------------------- misc
def enough_cases(observed: np.ndarray, ks: np.ndarray, limit54: tuple[float, float]) -> np.ndarray:
    """limit54 rule: at least ``limit54[0]`` cases in the last ``limit54[1]`` points (k included)."""
    cases, period = float(limit54[0]), int(limit54[1])
    if not (cases >= 0 and period > 0):
        raise ValueError("farrington.limit54.out_of_bounds: cases >= 0 and period > 0")
    c = np.concatenate([[0.0], np.cumsum(np.nan_to_num(observed, nan=0.0))])
    lo = np.maximum(ks - period, 0)
    return (c[ks] - c[lo]) >= cases


def _discrete_quantile(p: float, cdf, guess: np.ndarray) -> np.ndarray:
    """Smallest integer x >= 0 with cdf(x) >= p (1 - 64 eps), R's fuzz for left continuity."""
    target = p * (1.0 - 64.0 * np.finfo(float).eps)
    x = np.where(np.isfinite(guess), np.maximum(guess, 0.0), np.nan)
    ok = np.isfinite(x)
    for _ in range(64):
        up = ok & (cdf(x) < target)
        if not up.any():
            break
        x = np.where(up, x + 1.0, x)
    for _ in range(64):
        down = ok & (x > 0) & (cdf(x - 1.0) >= target)
        if not down.any():
            break
        x = np.where(down, x - 1.0, x)
    return x


def r_qnbinom(p: float, size: np.ndarray, prob: np.ndarray) -> np.ndarray:
    """``qnbinom(p, size, prob)`` of R (non-integer ``size`` allowed)."""
    size = np.asarray(size, dtype=float)
    prob = np.asarray(prob, dtype=float)
    with np.errstate(all="ignore"):
        guess = stats.nbinom.ppf(p, size, prob)
        return _discrete_quantile(p, lambda x: stats.nbinom.cdf(x, size, prob), guess)


def r_qpois(p: float, mu: np.ndarray) -> np.ndarray:
    """``qpois(p, mu)`` of R."""
    mu = np.asarray(mu, dtype=float)
    with np.errstate(all="ignore"):
        guess = stats.poisson.ppf(p, mu)
        return _discrete_quantile(p, lambda x: stats.poisson.cdf(x, mu), guess)


def stack_problems(blocks: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]],
                   n_groups: int) -> ProblemSet:
    """Stack 2-D blocks ``(y, t, group, valid)`` of shape ``(K_i, L_i)`` (one problem per row).

    Problems are numbered in block order; rows where ``valid`` is False (missing reference
    point, NA count) are left out, as R drops them.
    """
    ys, ts, gs, ps = [], [], [], []
    offset = 0
    for y, t, g, valid in blocks:
        k = y.shape[0]
        v = valid & ~np.isnan(y)
        pid = np.broadcast_to(np.arange(offset, offset + k)[:, None], y.shape)
        ys.append(y[v])
        ts.append(np.broadcast_to(t, y.shape)[v])
        gs.append(np.broadcast_to(g, y.shape)[v])
        ps.append(pid[v])
        offset += k
    if not ys:
        e = np.zeros(0)
        return ProblemSet(e, e, e.astype(np.int64), e.astype(np.int64), 0, n_groups)
    return ProblemSet(np.concatenate(ys).astype(float), np.concatenate(ts).astype(float),
                      np.concatenate(gs).astype(np.int64), np.concatenate(ps).astype(np.int64),
                      offset, n_groups)
