"""``algo.farrington`` of R ``surveillance``: the original Farrington et al. (1996) algorithm.

For the monitored point ``t``, reference values are the counts at ``t - freq*i + j`` for
``i = 1..b`` years back and ``j = -w..w`` (dated series: R ``refvalIdxByDate``, i.e. calendar
years back, weeks moved to the weekday of ``t``). A quasi-Poisson log-linear model::

    log mu_i = alpha + beta t_i,        Var(y_i) = phi mu_i

is fitted by IRLS (R ``glm.fit``), ``phi = max(1, Pearson X^2/(n - p))``. Observations with
standardised Anscombe residual ``s_i > 1`` get weight ``gamma s_i^-2`` (others ``gamma``,
``sum omega = n``) and the model is refitted. The trend is kept only if its t-test gives
``p < 0.05``, ``b >= 3`` and ``mu_t <= max(reference y)``; otherwise the model is refitted without
it. With ``mu0 = exp(x0' theta)``, ``se^2 = phi x0' (X'WX)^-1 x0 mu0^2`` and
``tau = phi + se^2/mu0`` the upper bound on the 2/3-power scale is (two-sided ``z``)::

    U = (mu0^(2/3) + z_{1-alpha/2} sqrt(4/9 mu0^(1/3) tau))^(3/2)

Fewer than ``limit54[0]`` cases in the last ``limit54[1]`` points: ``U = 0``, no alarm. Alarm when
``(y - mu0)/(U - mu0) > 1``. R quirk kept: a first fit that does not converge within 25 IRLS
iterations is refitted without trend and then *used even if it did not converge*.

``Detection``: ``expected`` = predictive median ``mu0``, ``pvalue`` = ``P(N(mu0^e, se) <= y^e)``
(lower tail, as R's ``control$pd[, 1]``), ``trend`` = 1 when kept; ``extra["phi"]`` = phi.

    >>> import numpy as np
    >>> from detectors.algorithms.base import Series
    >>> y = np.tile([3., 5, 4, 6, 5, 4, 3, 5, 6, 4, 5, 4, 3], 24)[:312]
    >>> y[-1] = 30
    >>> detect(Series(y, freq=52), 311, 312, {}).alarm.tolist()
    [False, True]

References
----------
Farrington CP, Andrews NJ, Beale AD, Catchpole MA (1996). A statistical algorithm for the early
detection of outbreaks of infectious disease. J R Stat Soc A 159:547-563.
R package ``surveillance``, ``algo.farrington`` (R/algo_farrington.R).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
from scipy import special

from .base import Detection, Series
from .farrington_common import EPS, POWERS, params_from_mapping
from .farrington_fit import Concatenated, ProblemBlock, fit_reweighted, trend_pvalue
from .farrington_reference import farrington_reference_rows

__all__ = ["FarringtonParams", "detect", "detect_batch"]


@dataclass(frozen=True)
class FarringtonParams:
    """Control parameters of ``algo.farrington`` (defaults = R defaults)."""

    b: int = 5
    w: int = 3
    reweight: bool = True
    alpha: float = 0.05
    trend: bool = True
    limit54: tuple[float, float] = (5, 4)
    powertrans: str = "2/3"
    fitFun: str = "algo.farrington.fitGLM.fast"

    @classmethod
    def from_mapping(cls, params: Mapping[str, Any]) -> "FarringtonParams":
        p = params_from_mapping(cls, params, key="farrington", ignored={"range", "verbose", "plot"})
        if p.fitFun not in ("algo.farrington.fitGLM.fast", "algo.farrington.fitGLM"):
            raise ValueError(f"farrington.fit_fun.unsupported: {p.fitFun}")
        if p.powertrans not in POWERS:
            raise ValueError(f"farrington.powertrans.unknown: {p.powertrans}")
        if int(p.b) < 1 or int(p.w) < 0:
            raise ValueError("farrington.params.out_of_bounds: b >= 1, w >= 0")
        return p


def detect(series: Series, start: int, end: int, params: Mapping[str, Any]) -> Detection:
    """Monitor points ``start..end`` (1-based, inclusive) of ``series``; see module docstring."""
    return detect_batch([(series, start, end)], params)[0]


def detect_batch(items: Sequence[tuple[Series, int, int]],
                 params: Mapping[str, Any]) -> list[Detection]:
    """Like :func:`detect` for many ``(series, start, end)`` at once (all GLMs fitted together)."""
    p = FarringtonParams.from_mapping(params)
    b, w = int(p.b), int(p.w)
    cat = Concatenated(items, "farrington")
    gidx, valid, t = [], [], []
    for it, (series, _, _) in enumerate(items):
        ks = cat.ranges[it]
        rows = farrington_reference_rows(series, ks, b, w)
        valid.append(rows >= 1)
        gidx.append(cat.base[it] + np.maximum(rows, 1) - 1)
        t.append((rows - ks[:, None]).astype(float))
    L = b * (2 * w + 1)
    gidx_a = np.concatenate(gidx) if gidx else np.zeros((0, L), dtype=np.int64)
    ps = ProblemBlock.build(cat.obs[gidx_a], np.concatenate(t) if t else np.zeros((0, L)),
                            np.concatenate(valid) if valid else np.zeros((0, L), dtype=bool),
                            np.zeros(L, dtype=np.int64), 1)
    its = np.repeat(np.arange(len(items)), [r.shape[0] for r in cat.ranges])
    ks_all = np.concatenate(cat.ranges) if cat.ranges else np.zeros(0, dtype=np.int64)
    res = _fit_and_threshold(ps, cat.obs[cat.base[its] + ks_all - 1], p)
    enough, na = cat.enough_cases(p.limit54)

    out = []
    for it, ks in enumerate(cat.ranges):
        sl = slice(int(cat.point_base[it]), int(cat.point_base[it]) + ks.shape[0])
        y = cat.obs[cat.base[it] + ks - 1]
        upper, mu0, q, med, trend, phi = (res[k][sl] for k in ("upper", "mu0", "q", "median", "trend", "phi"))
        with np.errstate(invalid="ignore"):
            x = np.where(enough[sl], (y - mu0) / (upper - mu0), 0.0)
            alarm = (x > 1) & ~na[sl]
        out.append(Detection(t=ks, observed=y,
                             upperbound=np.where(na[sl], np.nan, np.where(enough[sl], upper, 0.0)),
                             alarm=alarm, expected=med, pvalue=q, trend=trend,
                             extra={"phi": phi, "mu0": mu0}))
    return out


def _fit_and_threshold(ps: ProblemBlock, y: np.ndarray, p: FarringtonParams) -> dict[str, np.ndarray]:
    B = ps.n_problems
    grp = np.zeros(B, dtype=np.int64)
    zero = np.zeros(B)
    eta = np.full(B, np.nan)
    var_u = np.full(B, np.nan)
    phi = np.full(B, np.nan)
    do_trend = np.zeros(B, dtype=bool)
    use_b = np.ones(B, dtype=bool)
    if p.trend:
        ra = fit_reweighted(ps, trend=True, reweight=p.reweight, threshold=1.0)
        pval = trend_pvalue(ra.fit, ra.pearson)
        eta_a = ra.fit.predict_link(grp, zero)
        with np.errstate(invalid="ignore", over="ignore"):
            do_trend = (ra.initial_converged & (int(p.b) >= 3) & (pval < 0.05)
                        & (np.maximum(np.exp(eta_a), EPS) <= ps.max_y()))
        use_b = ~do_trend
        eta[do_trend] = eta_a[do_trend]
        var_u[do_trend] = ra.fit.link_variance_unscaled(grp, zero)[do_trend]
        phi[do_trend] = ra.phi[do_trend]
    if use_b.any():
        ids = np.flatnonzero(use_b)
        rb = fit_reweighted(ps.subset(use_b), trend=False, reweight=p.reweight, threshold=1.0)
        zb = np.zeros(ids.shape[0])
        gb = np.zeros(ids.shape[0], dtype=np.int64)
        eta[ids] = rb.fit.predict_link(gb, zb)
        var_u[ids] = rb.fit.link_variance_unscaled(gb, zb)
        phi[ids] = rb.phi
    n_rows = ps.n_rows()
    eta[n_rows < 1] = np.nan

    z = special.ndtri(1.0 - float(p.alpha) / 2.0)
    e = POWERS[p.powertrans]
    with np.errstate(all="ignore"):
        mu0 = np.maximum(np.exp(eta), EPS)
        mu0[np.isnan(eta)] = np.nan
        se_fit = np.sqrt(phi * var_u) * mu0
        tau = phi + se_fit ** 2 / mu0
        if p.powertrans == "2/3":
            se = np.sqrt(4.0 / 9.0 * mu0 ** (1.0 / 3.0) * tau)
        elif p.powertrans == "1/2":
            se = np.sqrt(0.25 * tau)
        else:
            se = np.sqrt(mu0 * tau)
        upper = (mu0 ** e + z * se) ** (1.0 / e)
        q = special.ndtr((y ** e - mu0 ** e) / se)
        median = (mu0 ** e) ** (1.0 / e)
    return {"upper": upper, "mu0": mu0, "q": q, "median": median, "phi": phi,
            "trend": np.where(np.isnan(eta), np.nan, do_trend.astype(float))}
