"""``farringtonFlexible`` of R ``surveillance``: improved Farrington outbreak detection.

For the monitored point ``t`` with count ``y_t``, a quasi-Poisson log-linear model is fitted to
the baseline (Farrington et al. 1996; Noufaily et al. 2013; Salmon et al. 2016)::

    log mu_i = alpha + beta t_i + gamma_{seasgroup(i)},      Var(y_i) = phi mu_i

Baseline: windows ``t - freq*i +- w`` (``i = 1..b``; for dated weekly series one calendar year
back, then the closest same weekday); with ``noPeriods = p > 1`` every week from
``t - b*freq - w`` on, split into a ``p``-level seasonal factor (windows = level ``p``); the last
``pastWeeksNotIncluded`` weeks are left out. Observations with standardised Anscombe residual
``s > weightsThreshold`` are down-weighted (``omega ~ s^-2``) and the model refitted;
``phi = max(1, Pearson X^2 / (n - p))``. The trend is kept only if its two-sided t-test gives
``p < pThresholdTrend``, ``b >= 3`` and ``mu_t <= max(baseline y)``.

Threshold (``thresholdMethod``), with ``z = z_{1-alpha}`` (one-sided)::

    delta:    U = (mu0^(2/3) + z sqrt(4/9 mu0^(1/3) (phi + se^2/mu0)))^(3/2)
    nbPlugin: U = qnbinom(1-alpha, size = mu0/(phi-1), prob = 1/phi)  (qpois if phi <= 1)
    muan:     as nbPlugin with mu0 = exp(eta + z se_eta)

Fewer than ``limit54[0]`` cases in the last ``limit54[1]`` weeks: ``U`` = NA, no alarm. Alarm
when ``(y - mu0)/(U - mu0) > 1`` and ``y != 0``.

R-compatible quirks (default ``r_compatible=True``): R's ``predict.glm`` and the trend test see
the dispersion ``D = sum(omega ((y-mu)/mu)^2)/(n-p)`` computed with the reweighting weights
``omega`` instead of the working weights (``dispersion=`` is passed inside ``newdata``), so
``se^2 = D x0'(X'WX)^-1 x0 mu0^2``. ``r_compatible=False`` uses ``phi`` for ``se`` and the Pearson
dispersion for the trend test (the textbook formulas). A first fit that does not converge
(R ``glm.fit``: 25 iterations) is refitted without trend; if that fails too the point is NA.

``Detection`` columns: ``expected`` = mu0 (NA when the limit54 rule fails), ``stat`` = exceedance
score (``(y - eta)/(U - eta)`` on the link scale for nbPlugin/muan, as in R), ``pvalue`` =
upper-tail probability of ``y``, ``phi``, ``trend`` (1 when the trend was kept).

Example (weekly counts, last two weeks monitored)::

    >>> import numpy as np
    >>> from detectors.algorithms.base import Series
    >>> y = np.tile([3., 5, 4, 6, 5, 4, 3, 5, 6, 4, 5, 4, 3], 24)[:312]
    >>> y[-1] = 30
    >>> d = detect(Series(y, freq=52), 311, 312, {"b": 5, "w": 3})
    >>> d.alarm.tolist()
    [False, True]

References
----------
Farrington CP, Andrews NJ, Beale AD, Catchpole MA (1996). J R Stat Soc A 159:547-563.
Noufaily A et al. (2013). Stat Med 32:1206-1222.
Salmon M, Schumacher D, Hoehle M (2016). J Stat Softw 70(10).
R package ``surveillance``, ``farringtonFlexible`` (R/farringtonFlexible.R).
"""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict, defaultdict
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
from scipy import special

from .base import Detection, Series
from .farrington_common import EPS, POWERS, params_from_mapping
from .farrington_fit import Concatenated, ProblemBlock, fit_reweighted, trend_pvalue
from .farrington_reference import flexible_layout, flexible_reference_positions
from .r_quantiles import r_pnbinom_upper, r_ppois_upper, r_qnbinom, r_qpois

__all__ = ["FlexibleParams", "detect", "detect_batch"]


@dataclass(frozen=True)
class FlexibleParams:
    """Control parameters, named as in R (defaults = R defaults)."""

    b: int = 5
    w: int = 3
    reweight: bool = True
    weightsThreshold: float = 2.58
    alpha: float = 0.05
    trend: bool = True
    pThresholdTrend: float = 0.05
    limit54: tuple[float, float] = (5, 4)
    powertrans: str = "2/3"
    populationOffset: bool = False
    noPeriods: int = 1
    pastWeeksNotIncluded: int | None = None
    thresholdMethod: str = "delta"
    r_compatible: bool = True

    @classmethod
    def from_mapping(cls, params: Mapping[str, Any]) -> "FlexibleParams":
        p = params_from_mapping(cls, params, key="farrington_flexible",
                                ignored={"range", "verbose", "glmWarnings", "fitFun"})
        if p.populationOffset:
            raise ValueError("farrington_flexible.population_offset.unsupported")
        if p.thresholdMethod not in ("delta", "nbPlugin", "muan"):
            raise ValueError(f"farrington_flexible.threshold_method.unknown: {p.thresholdMethod}")
        if p.powertrans not in POWERS:
            raise ValueError(f"farrington_flexible.powertrans.unknown: {p.powertrans}")
        if int(p.b) < 1 or int(p.w) < 0 or int(p.noPeriods) < 1:
            raise ValueError("farrington_flexible.params.out_of_bounds: b >= 1, w >= 0, noPeriods >= 1")
        return p

    @property
    def past_weeks(self) -> int:
        return int(self.w if self.pastWeeksNotIncluded is None else self.pastWeeksNotIncluded)


def detect(series: Series, start: int, end: int, params: Mapping[str, Any],
           *, r_compatible: bool | None = None) -> Detection:
    """Monitor points ``start..end`` (1-based, inclusive) of ``series``; see module docstring."""
    return detect_batch([(series, start, end)], params, r_compatible=r_compatible)[0]


def detect_batch(items: Sequence[tuple[Series, int, int]], params: Mapping[str, Any],
                 *, r_compatible: bool | None = None) -> list[Detection]:
    """Like :func:`detect` for many ``(series, start, end)`` at once.

    Monitored points of all items that share a baseline layout (all undated series of one
    frequency do) are fitted together in one batch of GLMs.
    """
    p = FlexibleParams.from_mapping(params)
    if r_compatible is not None:
        p = FlexibleParams(**{**p.__dict__, "r_compatible": bool(r_compatible)})
    b, w, npd = int(p.b), int(p.w), int(p.noPeriods)
    factors = npd != 1
    G = npd if factors else 1
    g0 = npd - 1 if factors else 0

    names = ("upper", "score", "prob", "mu0", "phi", "trend")
    cat = Concatenated(items, 'farrington_flexible')
    res_all = np.full((len(names), cat.n_points), np.nan)
    by_layout: dict[tuple, list[tuple[int, np.ndarray]]] = defaultdict(list)
    for it, (series, start, end) in enumerate(items):
        ks = cat.ranges[it]
        refs = flexible_reference_positions(series, ks, b)
        ok = (refs > 0).all(axis=1)
        if not ok.any():
            continue
        gaps = -np.diff(refs[ok], axis=1)
        okj = np.flatnonzero(ok)
        if (gaps == gaps[0]).all():  # undated series: a single layout
            by_layout[tuple(int(x) for x in gaps[0])].append((it, okj))
            continue
        uniq, inv = np.unique(gaps, axis=0, return_inverse=True)
        for u in range(uniq.shape[0]):
            by_layout[tuple(int(x) for x in uniq[u])].append((it, okj[inv.reshape(-1) == u]))

    for gaps, members in by_layout.items():
        offsets, levels = flexible_layout(gaps, w, npd, p.past_weeks)
        its = np.concatenate([np.full(jj.shape[0], it) for it, jj in members])
        js = np.concatenate([jj for _, jj in members])
        kk = cat.first_k[its] + js                    # monitored point (1-based, in its series)
        n_p = cat.n[its][:, None]
        base = cat.base[its][:, None]
        rows = kk[:, None] + offsets[None, :]
        valid = (rows >= 1) & (rows <= n_p)
        gidx = base + np.clip(rows, 1, n_p) - 1
        now = cat.base[its] + kk - 1
        t = np.where(cat.dated[its][:, None],
                     (cat.days[gidx] - cat.days[now][:, None]) / cat.step[its][:, None],
                     offsets[None, :].astype(float))
        pb = ProblemBlock.build(cat.obs[gidx], t, valid,
                                levels - 1 if factors else np.zeros_like(levels), G)
        res = _fit_and_threshold(pb, cat.obs[now], p, g0, b)
        res_all[:, cat.point_base[its] + js] = np.stack([res[name] for name in names])

    enough, _ = cat.enough_cases(p.limit54)
    out = []
    for it, ks in enumerate(cat.ranges):
        sl = slice(int(cat.point_base[it]), int(cat.point_base[it]) + ks.shape[0])
        upper0, score, prob, mu0, phi, trend = res_all[:, sl]
        y = cat.obs[cat.base[it] + ks - 1]
        en = enough[sl]
        upper = np.where(en, upper0, np.nan)
        expected = np.where(en & ~np.isnan(upper0), mu0, np.nan)
        with np.errstate(invalid="ignore"):
            alarm = en & ~np.isnan(score) & (score > 1) & (y != 0)
        out.append(Detection(t=ks, observed=y, upperbound=upper, alarm=alarm, expected=expected,
                             stat=score, pvalue=prob, phi=phi, trend=trend))
    return out


# Fits by content: the model of a monitored point depends only on its baseline (the problem block:
# reference counts, times, validity, factor levels) and the parameters, never on the count being
# judged, so a block seen before — the same point re-evaluated as reports come in for the current
# week, whose baseline lies years back — reuses its fit, and only the threshold is computed again.
# Keyed by a digest of everything the fit reads: a late report or a corrected count changes the
# key, so nothing is ever invalidated. Bounded (least recently used out).
_FITS: OrderedDict[bytes, tuple[np.ndarray, ...]] = OrderedDict()
_FITS_MAX = 4096
_FITS_LOCK = threading.Lock()


def _fit_key(ps: ProblemBlock, p: FlexibleParams, g0: int, b: int) -> bytes:
    h = hashlib.blake2b(digest_size=20)
    for a in (ps.y, ps.t, ps.valid, ps.levels):
        a = np.ascontiguousarray(a)
        h.update(f"{a.shape}{a.dtype.str}".encode())
        h.update(a.tobytes())
    h.update(repr((ps.n_groups, p, g0, b)).encode())
    return h.digest()


def _fit_and_threshold(ps: ProblemBlock, y_now: np.ndarray, p: FlexibleParams, g0: int,
                       b: int) -> dict[str, np.ndarray]:
    """Fit every problem of ``ps`` (or reuse the fit of the same block) and compute U, score, p-value
    (per problem, not yet limit54)."""
    key = _fit_key(ps, p, g0, b)
    with _FITS_LOCK:
        fit = _FITS.get(key)
        if fit is not None:
            _FITS.move_to_end(key)
    if fit is None:
        fit = _fit(ps, p, g0, b)
        with _FITS_LOCK:
            _FITS[key] = fit
            while len(_FITS) > _FITS_MAX:
                _FITS.popitem(last=False)
    return _threshold(fit, y_now, p)


def _fit(ps: ProblemBlock, p: FlexibleParams, g0: int, b: int) -> tuple[np.ndarray, ...]:
    """The model of every problem: (eta, var_u, phi, disp, failed, do_trend), read-only."""
    B = ps.n_problems
    grp = np.full(B, g0, dtype=np.int64)
    zero = np.zeros(B)  # t is centred at the predicted point
    thr = float(p.weightsThreshold)

    use_b = np.ones(B, dtype=bool)
    do_trend = np.zeros(B, dtype=bool)
    eta = np.full(B, np.nan)
    var_u = np.full(B, np.nan)
    phi = np.full(B, np.nan)
    disp = np.full(B, np.nan)
    failed = np.zeros(B, dtype=bool)
    if p.trend:
        ra = fit_reweighted(ps, trend=True, reweight=p.reweight, threshold=thr)
        conv = ra.initial_converged
        pval = trend_pvalue(ra.fit, ra.omega_dispersion if p.r_compatible else ra.pearson)
        eta_a = ra.fit.predict_link(grp, zero)
        with np.errstate(invalid="ignore", over="ignore"):
            mu_k = np.maximum(np.exp(eta_a), EPS)
            do_trend = conv & (b >= 3) & (pval < p.pThresholdTrend) & (mu_k <= ps.max_y())
        use_b = ~do_trend
        sel = do_trend
        eta[sel] = eta_a[sel]
        var_u[sel] = ra.fit.link_variance_unscaled(grp, zero)[sel]
        phi[sel] = ra.phi[sel]
        disp[sel] = (ra.omega_dispersion if p.r_compatible else ra.phi)[sel]
        failed[sel] = ra.fit.group_weight[np.arange(B), grp][sel] <= 0
    if use_b.any():
        ids = np.flatnonzero(use_b)
        rb = fit_reweighted(ps.subset(use_b), trend=False, reweight=p.reweight, threshold=thr)
        gb = grp[ids]
        zb = np.zeros(ids.shape[0])
        eta[ids] = rb.fit.predict_link(gb, zb)
        var_u[ids] = rb.fit.link_variance_unscaled(gb, zb)
        phi[ids] = rb.phi
        disp[ids] = rb.omega_dispersion if p.r_compatible else rb.phi
        failed[ids] = ~rb.initial_converged | (rb.fit.group_weight[np.arange(ids.shape[0]), gb] <= 0)
    eta[failed] = np.nan
    phi[failed] = np.nan  # R: no model, every output NA
    out = (eta, var_u, phi, disp, failed, do_trend)
    for a in out:
        a.flags.writeable = False
    return out


def _threshold(fit: tuple[np.ndarray, ...], y_now: np.ndarray, p: FlexibleParams) -> dict[str, np.ndarray]:
    """U, score and p-value of the counts ``y_now`` under the fitted models (see :func:`_fit`)."""
    eta, var_u, phi, disp, failed, do_trend = fit
    B = eta.shape[0]
    alpha = float(p.alpha)
    z = special.ndtri(1.0 - alpha)
    y = y_now
    with np.errstate(all="ignore"):
        se_eta = np.sqrt(disp * var_u)
        if p.thresholdMethod == "delta":
            mu0 = np.maximum(np.exp(eta), EPS)
            tau = phi + (se_eta * mu0) ** 2 / mu0
            e = POWERS[p.powertrans]
            if p.powertrans == "2/3":
                se = np.sqrt(4.0 / 9.0 * mu0 ** (1.0 / 3.0) * tau)
            elif p.powertrans == "1/2":
                se = np.sqrt(0.25 * tau)
            else:
                se = np.sqrt(mu0 * tau)
            upper = (mu0 ** e + z * se) ** (1.0 / e)
            prob = special.ndtr(-(y ** e - mu0 ** e) / se)
            pred_fit, expected = mu0, mu0
        else:
            mu0q = np.exp(eta) if p.thresholdMethod == "nbPlugin" else np.exp(eta + z * se_eta)
            finite = np.isfinite(mu0q)
            nb = finite & (phi > 1)
            po = finite & (phi <= 1)
            size = mu0q / (phi - 1.0)
            upper = np.full(B, np.nan)
            prob = np.full(B, np.nan)
            if nb.any():
                upper[nb] = r_qnbinom(1.0 - alpha, size[nb], 1.0 / phi[nb])
                prob[nb] = r_pnbinom_upper(y[nb], size[nb], 1.0 / phi[nb])
            if po.any():
                upper[po] = r_qpois(1.0 - alpha, mu0q[po])
                prob[po] = r_ppois_upper(y[po], mu0q[po])
            pred_fit, expected = eta, np.exp(eta)
        score = np.where(np.isnan(upper), np.nan, (y - pred_fit) / (upper - pred_fit))
    return {"upper": upper, "score": score, "prob": prob, "mu0": expected, "phi": phi.copy(),
            "trend": np.where(failed, np.nan, do_trend.astype(float))}
