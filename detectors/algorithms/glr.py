r"""Poisson and negative binomial GLR detectors of R ``surveillance::algo.glrpois/algo.glrnb``.

In-control means :math:`\mu_{0,t}` come from a GLM fitted to the counts *before* the monitored
range (``t = 1 .. start-1``),
:math:`\log\mu_{0,t} = \beta_0 [+ \beta_t t] + \sum_{s=1}^{S}\gamma_s\cos(2\pi s t/p)
+ \delta_s\sin(2\pi s t/p)`: Poisson for ``glrpois``; ``MASS::glm.nb`` (size :math:`\theta`
estimated, :math:`\alpha = 1/\theta`) for ``glrnb`` unless ``alpha`` is given.

Intercept change (:math:`\mu_{1,t} = \mu_{0,t}e^{\kappa}`, :math:`\kappa \ge 0`) detected by the
generalised likelihood ratio statistic over the current segment (all points since the last
alarm):

.. math:: \mathrm{GLR}_n = \max_{k \le n}\; \sup_{\kappa \ge 0}\; \sum_{t=k}^{n}
          \log\frac{f_{\kappa}(x_t)}{f_0(x_t)},
          \qquad \text{alarm when } \mathrm{GLR}_n \ge c_{ARL},

after which the chart restarts at :math:`n+1`. Poisson: :math:`\hat\kappa = \max(0,
\log(\sum x/\sum\mu_0))` and :math:`\mathrm{GLR} = \hat\kappa\sum x + (1-e^{\hat\kappa})\sum\mu_0`.
Negative binomial (variance :math:`\mu + \alpha\mu^2`): :math:`\hat\kappa` by Newton-Raphson on
:math:`\sum (x_t - e^\kappa\mu_{0,t})/(1+\alpha e^\kappa\mu_{0,t}) = 0` and
:math:`l_{n,k} = \sum \kappa x_t + (x_t + 1/\alpha)\log\frac{1+\alpha\mu_{0,t}}
{1+\alpha\mu_{0,t}e^\kappa}`.

``glrpois`` with ``ret="cases"`` (default) reports as ``upperbound`` the smallest count at
:math:`n` that would raise an alarm (found analytically, then checked with the exact statistic)
and the GLR statistic in ``stat``; ``glrnb`` (``ret="value"``) reports the statistic itself as
``upperbound`` (as R does) and in ``stat``. ``expected`` is :math:`\mu_{0,t}`; ``glrnb`` adds the
fitted ``alpha`` to ``extra``. A fit that fails (R stops with an error) gives NaN, no alarm and
``extra["error"]``. Supported: ``change="intercept"``, ``dir="inc"``, ``Mtilde=1``, ``M=-1``
(no window), ``theta=None`` (GLR, not a fixed-shift CUSUM), ``mu0`` a model spec with
``refit=False``.

>>> import numpy as np
>>> y = np.array([[3., 4, 2, 3, 5, 3, 4, 2, 3, 4, 3, 3, 12, 14, 4]])
>>> res = detect_many_pois(y, 13, 15, {"mu0": {"S": 0}})
>>> res.alarm[0].tolist(), res.upperbound[0].tolist()
([True, True, False], [11.0, 11.0, 11.0])

References
----------
Höhle M, Paul M (2008). Count data regression charts for the monitoring of surveillance time
series. *Comput Stat Data Anal* 52(9):4357-4368.
Höhle M (2010). Online change-point detection in categorical time series. In Kneib T, Tutz G
(eds), *Statistical Modelling and Regression Structures*, Physica-Verlag, 377-397.
Lai TL (1995). Sequential changepoint detection in quality control and dynamical systems.
*J R Stat Soc B* 57(4):613-658.
Höhle M, Meyer S, Paul M, et al. *surveillance: Temporal and Spatio-Temporal Modeling and
Monitoring of Epidemic Phenomena*, R package reference manual (version 1.20.3), CRAN.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from detectors.algorithms._batch import BatchDetection, as_matrix, check_range, detect_one, merge_params
from detectors.algorithms.base import Detection, Series
from detectors.algorithms.negbin import fit_log_glm, glm_nb

__all__ = ["detect_pois", "detect_nb", "detect_many_pois", "detect_many_nb",
           "DEFAULT_PARAMS_POIS", "DEFAULT_PARAMS_NB", "glr_poisson", "glr_negbin"]

_MU0 = {"S": 1, "trend": False, "refit": False}
DEFAULT_PARAMS_POIS: dict[str, Any] = {"c.ARL": 5.0, "mu0": dict(_MU0), "Mtilde": 1, "M": -1,
                                       "change": "intercept", "dir": "inc", "ret": "cases",
                                       "theta": None, "alpha": None, "xMax": 1e4}
DEFAULT_PARAMS_NB: dict[str, Any] = {**DEFAULT_PARAMS_POIS, "ret": "value"}

_PAIR_BLOCK = 250_000   # max (series x n x term) elements per block in the NB chart (cache-sized)


def _params(params: Mapping[str, Any], defaults: dict[str, Any], name: str) -> dict[str, Any]:
    p = merge_params(name, params, defaults)
    mu0 = {**_MU0, **(p["mu0"] or {})}
    if not isinstance(p["mu0"], Mapping):
        raise ValueError(f"{name}: mu0 must be a model spec {{S, trend, refit}}")
    if mu0.get("refit"):
        raise ValueError(f"{name}: mu0.refit=True is not supported")
    p["mu0"] = mu0
    checks = [(p["change"] == "intercept", "change must be 'intercept'"),
              (p["dir"] == "inc", "dir must be 'inc'"),
              (int(p["Mtilde"]) == 1, "Mtilde must be 1"),
              (int(p["M"]) == -1, "M must be -1 (no window)"),
              (p["theta"] is None, "theta (fixed-shift CUSUM) is not supported"),
              (p["ret"] in ("value", "cases"), "ret must be 'value' or 'cases'"),
              (float(p["c.ARL"]) > 0, "c.ARL must be > 0")]
    for ok, msg in checks:
        if not ok:
            raise ValueError(f"{name}: {msg}")
    return p


def mu0_design(t: np.ndarray, period: float, harmonics: int, trend: bool) -> np.ndarray:
    """``y ~ 1 [+ t] + cos(2*s*pi/p*t) + sin(2*s*pi/p*t), s = 1..S`` as R builds it."""
    t = np.asarray(t, dtype=float)
    cols = [np.ones_like(t)]
    if trend:
        cols.append(t)
    for s in range(1, harmonics + 1):
        arg = 2 * s * np.pi / period * t
        cols += [np.cos(arg), np.sin(arg)]
    return np.column_stack(cols)


def glr_poisson(x: np.ndarray, mu0: np.ndarray, c_arl: float, cases: bool = True):
    """Poisson GLR chart with restarts: returns ``(glr, alarm, cases)``, each ``(S, m)``.

    Per point ``n`` the segment sums ``sum_{i=k}^{n}`` are accumulated from ``n`` backwards, in
    the order R's C code (``glr_cusum``) adds them, so the statistic agrees to the last bit.
    """
    S, m = x.shape
    seg = np.zeros(S, dtype=int)
    glr = np.zeros((S, m))
    alarm = np.zeros((S, m), dtype=bool)
    need = np.zeros((S, m))
    j_all = np.arange(m)
    for n in range(m):
        xr = x[:, n::-1]
        sx = np.cumsum(xr, axis=1)
        sm = np.cumsum(mu0[:, n::-1], axis=1)
        valid = j_all[None, : n + 1] <= (n - seg)[:, None]
        g = _pois_max(sx, sm, valid)
        glr[:, n] = g
        if cases:
            need[:, n] = _pois_cases(sx - xr[:, :1], sm, valid, c_arl)
        hit = g >= c_arl
        alarm[hit, n] = True
        seg[hit] = n + 1
    return glr, alarm, need


def _pois_lnk(sx: np.ndarray, sm: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        kappa = np.maximum(0.0, np.log(sx / sm))
        return kappa * sx + (1.0 - np.exp(kappa)) * sm


def _pois_max(sx, sm, valid) -> np.ndarray:
    val = _pois_lnk(sx, sm)
    val = np.where(valid & ~np.isnan(val), val, -np.inf)
    g = val.max(axis=1)
    return np.where(np.isinf(g) & (g < 0), -1e99, g)


def _pois_cases(a: np.ndarray, sm: np.ndarray, valid: np.ndarray, c: float) -> np.ndarray:
    """Smallest ``x_n >= 0`` with ``GLR_n >= c`` given the other counts (R: ``ret="cases"``).

    Per segment start ``k`` the statistic is ``g(s) = s log(s/M) - s + M`` for ``s = A + x_n >
    M``; ``g(s) = c`` is solved by Newton from the right (``g`` is convex and increasing there),
    the minimum over ``k`` rounded up and then checked against the exact statistic.
    """
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        # M + sqrt(2cM) <= s* <= M + sqrt(2cM) + 2c (from v^2/(2+2v/3) <= (1+v)log(1+v) - v
        # <= v^2/2): only starts k whose lower bound can beat the best upper bound are solved
        root = sm + np.sqrt(2 * c * sm)
        hi = np.where(valid, np.maximum(0.0, np.ceil(root + 2 * c - a)), np.inf)
        lo = np.maximum(0.0, np.ceil(root - a))
        bound = hi.min(axis=1)
        rows, cols = np.nonzero(valid & (lo <= bound[:, None]))
        M, A = sm[rows, cols], a[rows, cols]
        s = M + np.sqrt(2 * c * M) + 2 * c        # Newton from the right: monotone
        for _ in range(60):
            ratio = np.log(s / M)
            step = (s * ratio - s + M - c) / ratio
            s = s - step
            if np.all(np.abs(step) <= 1e-10 * s):
                break
        xk = np.maximum(0.0, np.ceil(s - A))
    best = bound.copy()
    np.minimum.at(best, rows, xk)
    best = np.where(np.isfinite(best), best, 0.0)

    def stat(xn: np.ndarray) -> np.ndarray:
        return _pois_max(a + xn[:, None], sm, valid)

    for _ in range(1000):   # the analytic value is exact up to rounding: fix the last unit
        up = stat(best) < c
        if not up.any():
            break
        best[up] += 1
    for _ in range(1000):
        down = (best > 0) & (stat(np.maximum(best - 1, 0)) >= c)
        if not down.any():
            break
        best[down] -= 1
    return best


def glr_negbin(x: np.ndarray, mu0: np.ndarray, alpha: np.ndarray, c_arl: float):
    """Negative binomial GLR chart with restarts (R's C ``glr_nb_window``, M = -1, Mtilde = 1).

    Returns ``(glr, alarm)``. The Newton-Raphson path of the C code is reproduced, including its
    warm start (segment start ``k`` begins where ``k - 1`` ended, clipped at 0; the first ``k``
    at 0.5) and its failure mode: a step that overflows gives NaN, which C's ``fmax(0, NaN)``
    turns into ``kappa = 0`` and ``l_{n,k} = 0`` -- R then misses the alarm, and so do we.

    Vectorisation: per segment, the statistic of *every* remaining point ``n`` is computed at
    once, stepping ``k`` forward for all ``(series, n)`` rows together (C's warm-start chain);
    the first point over the threshold ends the segment and the series is recomputed from the
    next point. Rows whose score at ``kappa = 0`` is not positive end at ``kappa = 0`` whatever
    the start (concave log-likelihood) and are not iterated.
    """
    S, m = x.shape
    a = np.asarray(alpha, dtype=float).reshape(S)
    seg = np.zeros(S, dtype=int)
    glr = np.zeros((S, m))
    alarm = np.zeros((S, m), dtype=bool)
    pending = np.arange(S)
    while pending.size:
        still = []
        for s0 in np.unique(seg[pending]):
            group = pending[seg[pending] == s0]
            block = max(1, _PAIR_BLOCK // ((m - s0) ** 2))
            for b0 in range(0, group.size, block):
                idx = group[b0:b0 + block]
                G = _nb_segment(x[idx], mu0[idx], a[idx], int(s0))
                for r, s_i in enumerate(idx):                     # small loop: one per series
                    over = np.flatnonzero(G[r, s0:] >= c_arl)
                    hi = s0 + over[0] if over.size else m - 1
                    glr[s_i, s0:hi + 1] = G[r, s0:hi + 1]
                    if over.size:
                        alarm[s_i, hi] = True
                        seg[s_i] = hi + 1
                        if hi + 1 < m:
                            still.append(s_i)
        pending = np.asarray(still, dtype=int)
    return glr, alarm


def _nb_segment(x, mu, a, s0: int) -> np.ndarray:
    """``GLR_n`` for all ``n >= s0`` of each series (segment starting at ``s0``, no alarm)."""
    S, m = x.shape
    rs, rn = np.divmod(np.arange(S * (m - s0)), m - s0)
    rn = rn + s0                                                 # rows (series, n)
    f0 = np.cumsum((x - mu) / (1.0 + a[:, None] * mu), axis=1)  # score at kappa = 0
    f0 = np.concatenate([np.zeros((S, 1)), f0], axis=1)
    G = np.full((S, m), -np.inf)
    carried = np.full(rs.size, 0.5)                              # C's kappa_ml per row
    cols = np.arange(m)
    for k in range(s0, m):
        idx = np.flatnonzero(rn >= k)
        pos = f0[rs[idx], rn[idx] + 1] - f0[rs[idx], k] > 0
        neg = idx[~pos]
        G[rs[neg], rn[neg]] = np.maximum(G[rs[neg], rn[neg]], 0.0)   # kappa = 0, l = 0
        carried[neg] = 0.0
        P_all = idx[pos]
        mid = k + (m - k + 1) // 2
        # two width buckets: rows with n < mid only need columns k..mid-1
        for P, hi in ((P_all[rn[P_all] < mid], mid), (P_all[rn[P_all] >= mid], m)):
            if not P.size:
                continue
            T = cols[None, k:hi] <= rn[P, None]                    # terms i = k..n
            # terms outside k..n are zeroed: they add exactly 0 while exp(kappa) is finite,
            # and an infinite exp(kappa) makes the row NaN either way (as in C)
            rows = rs[P]
            X = np.where(T, x[rows, k:hi], 0.0)
            M = np.where(T, mu[rows, k:hi], 0.0)
            A = a[rows][:, None]
            kappa = _newton_c(X, M, A, carried[P])
            carried[P] = kappa
            k2 = kappa[:, None]
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                AM = A * M
                lnk = np.sum(k2 * X + (X + 1.0 / A) * np.log((1.0 + AM) / (1.0 + AM * np.exp(k2))),
                             axis=1)
            lnk = np.where(np.isnan(lnk), -np.inf, lnk)
            G[rows, rn[P]] = np.maximum(G[rows, rn[P]], lnk)
    return np.where(G == -np.inf, -1e99, G)


def _newton_c(X, M, A, start) -> np.ndarray:
    """C's Newton-Raphson for kappa, row-wise (unused terms zeroed); returns ``fmax(0, kappa)``.

    Rows that stopped keep their value; the working set is compacted when it halves.
    """
    old = np.full(start.shape, 0.4)
    new = start.astype(float).copy()
    it = 0
    cur = np.arange(start.size)
    Xc, Mc, Ac = X, M, A
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        while cur.size:
            nc, oc = new[cur], old[cur]
            go = (nc > -18) & (np.abs(nc - oc) > 1e-6) & (it < 1000)
            n_go = int(go.sum())
            if not n_go:
                break
            if n_go <= cur.size // 2:
                cur, Xc, Mc, Ac, nc, go = cur[go], Xc[go], Mc[go], Ac[go], nc[go], go[go]
            it += 1
            e = np.exp(nc)[:, None]
            eM = e * Mc
            den = 1.0 + Ac * eM
            score = np.sum((Xc - eM) / den, axis=1)
            fisher = e[:, 0] * np.sum(Mc * (Ac * Xc + 1.0) / (den * den), axis=1)
            step = nc + score / fisher
            upd = cur[go]
            old[upd] = nc[go]
            new[upd] = step[go]
    return np.fmax(0.0, new)


def _fit_mu0(y, t, p, freq, family):
    """mu0 on the range and the NB alpha (``family``: 'poisson' or 'negbin'), per series."""
    S = y.shape[0]
    spec = p["mu0"]
    X = mu0_design(np.arange(1, t[0]), freq, int(spec["S"]), bool(spec["trend"]))
    Xn = mu0_design(t, freq, int(spec["S"]), bool(spec["trend"]))
    train = y[:, : t[0] - 1]
    errors: list[str | None] = [None] * S
    if train.shape[1] <= X.shape[1]:
        return (np.full((S, t.size), np.nan), np.full(S, np.nan),
                ["not enough history before the range"] * S)
    alpha_given = p["alpha"]
    if family == "negbin" and alpha_given is None:
        fit = glm_nb(X, train)
        alpha = 1.0 / fit.theta
        mu0 = fit.predict(Xn)
        failed = fit.failed
    else:
        a = 0.0 if alpha_given is None else float(alpha_given)
        theta = None if a == 0 else np.full(S, 1.0 / a)
        fit = fit_log_glm(X, train, theta=theta)
        alpha = np.full(S, a)
        mu0 = fit.predict(Xn)
        failed = fit.failed
    mu0[failed] = np.nan
    alpha = np.where(failed, np.nan, alpha)
    for i in np.flatnonzero(failed):
        errors[i] = "mu0 model fit failed"
    return mu0, alpha, errors


def _run(observed, start, end, params, freq, family) -> BatchDetection:
    name = "glrpois" if family == "poisson" else "glrnb"
    p = _params(params, DEFAULT_PARAMS_POIS if family == "poisson" else DEFAULT_PARAMS_NB, name)
    if family == "poisson" and p["alpha"] not in (None, 0, 0.0):
        raise ValueError("glrpois: alpha must be 0")
    y = as_matrix(observed)
    t = check_range(y.shape[1], start, end)
    x = y[:, t - 1]
    mu0, alpha, errors = _fit_mu0(y, t, p, freq, family)
    ok = np.isfinite(mu0).all(axis=1)
    c = float(p["c.ARL"])
    S, m = x.shape
    glr = np.full((S, m), np.nan)
    alarm = np.zeros((S, m), dtype=bool)
    upper = np.full((S, m), np.nan)
    poisson = family == "poisson" or (np.nan_to_num(alpha) == 0).all()
    if ok.any():
        if poisson:
            want_cases = p["ret"] == "cases"
            g, al, cases = glr_poisson(x[ok], mu0[ok], c, cases=want_cases)
            upper[ok] = cases if want_cases else g
        else:
            if p["ret"] == "cases":
                raise ValueError("glrnb: ret='cases' is not supported (R brute-forces it)")
            g, al = glr_negbin(x[ok], mu0[ok], alpha[ok], c)
            upper[ok] = g
        glr[ok], alarm[ok] = g, al
        upper[ok] = np.where(np.isnan(upper[ok]) | (upper[ok] < 0), 0.0, upper[ok])
    extra: dict[str, Any] = {"error": errors}
    if family == "negbin":
        extra["fitted_alpha"] = alpha
    return BatchDetection(t=t, observed=x.copy(), upperbound=upper, alarm=alarm, expected=mu0,
                          stat=glr, extra=extra)


def detect_many_pois(observed, start: int, end: int, params: Mapping[str, Any], *,
                     freq: int = 52, start_epoch: int = 1) -> BatchDetection:
    """Poisson GLR (``algo.glrpois``) on ``start..end`` of every row of ``observed``."""
    return _run(observed, start, end, params, freq, "poisson")


def detect_many_nb(observed, start: int, end: int, params: Mapping[str, Any], *,
                   freq: int = 52, start_epoch: int = 1) -> BatchDetection:
    """Negative binomial GLR (``algo.glrnb``) on ``start..end`` of every row of ``observed``."""
    return _run(observed, start, end, params, freq, "negbin")


def detect_pois(series: Series, start: int, end: int, params: Mapping[str, Any]) -> Detection:
    """``algo.glrpois`` on one series; see the module docstring."""
    return detect_one(detect_many_pois, series, start, end, params)


def detect_nb(series: Series, start: int, end: int, params: Mapping[str, Any]) -> Detection:
    """``algo.glrnb`` on one series; see the module docstring."""
    return detect_one(detect_many_nb, series, start, end, params)
