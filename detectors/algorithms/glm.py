"""Poisson GLM with log link fitted exactly as R's ``glm.fit`` does.

Iteratively reweighted least squares (IRLS) for ``log(mu) = X beta + offset`` with prior
weights ``w``::

    z = eta - offset + (y - mu) / mu          # working response
    W = w * mu                                 # working weights
    beta = argmin || sqrt(W) (z - X beta) ||   # weighted least squares (QR)

R details reproduced (they matter at 1e-6 relative precision):

* start ``mu = y + 0.1``; fitted means are clamped at ``DBL_EPSILON`` (``make.link("log")``);
* stop when ``|dev - dev_old| / (|dev| + 0.1) < epsilon`` (``epsilon = 1e-8``) or after
  ``maxit = 25`` iterations (the fit is then flagged as not converged);
* the returned working weights, the unscaled covariance ``(X' W X)^-1`` and the hat values come
  from the *last* weighted least-squares step, i.e. they are computed with the ``mu`` that entered
  that step, while ``mu``/``eta``/working residuals are the updated ones — exactly what
  ``summary.glm``, ``predict.glm(se.fit=TRUE)`` and ``influence()`` see in R.

Poisson deviance residuals: ``2 w (y log(y/mu) - (y - mu))`` with ``y log(y/mu) = 0`` at ``y = 0``.

References
----------
R Core Team, ``stats::glm.fit`` (src/library/stats/R/glm.R).
McCullagh P, Nelder JA (1989). *Generalized Linear Models*, 2nd ed., Chapman & Hall, ch. 2.5.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_MU_MIN = float(np.finfo(float).eps)

__all__ = ["DenseGlmFit", "GlmFit", "fit_poisson_glm", "fit_poisson_glm_dense", "poisson_deviance"]

# Not negbin.fit_log_glm: that fits S series on one shared X; these fit problems with own weights/offset/rows.


@dataclass(frozen=True)
class GlmFit:
    """Result of :func:`fit_poisson_glm` (names follow R's ``glm`` object)."""

    coef: np.ndarray            # (p,)
    eta: np.ndarray             # (n,) linear predictor incl. offset
    mu: np.ndarray              # (n,) fitted means
    working_weights: np.ndarray  # (n,) prior * mu from the last IRLS step (R: fit$weights)
    prior_weights: np.ndarray   # (n,)
    cov_unscaled: np.ndarray    # (p, p) (X' W X)^-1 from the last IRLS step
    hat: np.ndarray             # (n,) diagonal of the hat matrix of the last step
    deviance: float
    df_residual: int
    converged: bool
    iterations: int

    def pearson_dispersion(self, y: np.ndarray) -> float:
        """``summary.glm`` dispersion: sum(W r^2) / df.r with working residuals r = (y-mu)/mu."""
        r = (y - self.mu) / self.mu
        w = self.working_weights
        keep = w > 0
        return float(np.sum(w[keep] * r[keep] ** 2) / self.df_residual)


def poisson_deviance(y: np.ndarray, mu: np.ndarray, w: np.ndarray) -> float:
    with np.errstate(divide="ignore", invalid="ignore"):
        ylogy = np.where(y > 0, y * np.log(y / mu), 0.0)
    return float(np.sum(2.0 * w * (ylogy - (y - mu))))


def fit_poisson_glm(
    X: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray | None = None,
    offset: np.ndarray | None = None,
    *,
    maxit: int = 25,
    epsilon: float = 1e-8,
) -> GlmFit:
    """Fit ``y ~ X`` (Poisson, log link) by IRLS, as ``glm.fit(X, y, family=poisson())``.

    >>> X = np.column_stack([np.ones(4), np.arange(4.0)])
    >>> fit = fit_poisson_glm(X, np.array([1.0, 2.0, 4.0, 8.0]))
    >>> round(float(fit.coef[1]), 4), fit.converged
    (0.6931, True)
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    n, p = X.shape
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    off = np.zeros(n) if offset is None else np.asarray(offset, dtype=float)

    mu = y + 0.1
    eta = np.log(mu)
    dev_old = poisson_deviance(y, mu, w)
    converged = False
    coef = np.zeros(p)
    W = w * mu
    R = np.eye(p)
    Q = np.zeros((n, p))
    it = 0
    for it in range(1, maxit + 1):
        z = eta - off + (y - mu) / mu
        W = w * mu
        sw = np.sqrt(W)
        Q, R = np.linalg.qr(X * sw[:, None])
        coef = np.linalg.solve(R, Q.T @ (z * sw))
        eta = X @ coef + off
        mu = np.maximum(np.exp(eta), _MU_MIN)  # R make.link("log")$linkinv
        dev = poisson_deviance(y, mu, w)
        if abs(dev - dev_old) / (abs(dev) + 0.1) < epsilon:
            converged = True
            break
        dev_old = dev
    Rinv = np.linalg.solve(R, np.eye(p))
    cov_unscaled = Rinv @ Rinv.T
    hat = np.sum(Q * Q, axis=1)
    return GlmFit(
        coef=coef,
        eta=eta,
        mu=mu,
        working_weights=W,
        prior_weights=w,
        cov_unscaled=cov_unscaled,
        hat=hat,
        deviance=poisson_deviance(y, mu, w),
        df_residual=int(np.sum(w != 0)) - p,
        converged=converged,
        iterations=it,
    )


# ---------------------------------------------------------------------------------------------
# Batched variant for the Farrington family: many small GLMs with group intercepts and one slope
# ---------------------------------------------------------------------------------------------

_DBL_EPS = float(np.finfo(float).eps)
_LOG_DBL_EPS = float(np.log(_DBL_EPS))


@dataclass(frozen=True)
class DenseGlmFit:
    """Result of :func:`fit_poisson_glm_dense` for ``B`` problems of ``L`` rows each.

    ``group_weight`` (``S0_g``), ``group_tbar`` and ``within_ss`` (``Sc``) come from the last
    IRLS step, like R's ``qr``; they give the unscaled covariance in closed form::

        x0' (X'WX)^-1 x0 = 1 / S0_g + (t0 - tbar_g)^2 / Sc      (x0 = group g, time t0)

    Times are stored centred (``t - t_center``); the methods take uncentred ``t0``.
    """

    intercepts: np.ndarray       # (B, G) a_g at t = t_center (0 for groups without rows)
    slope: np.ndarray            # (B,) beta (0 without trend)
    t_center: np.ndarray         # (B,)
    mu: np.ndarray               # (B, L)
    working_weights: np.ndarray  # (B, L) prior * mu of the last IRLS step (R: fit$weights)
    hat: np.ndarray              # (B, L)
    group_weight: np.ndarray     # (B, G)
    group_tbar: np.ndarray       # (B, G) centred
    within_ss: np.ndarray        # (B,) inf without trend
    deviance: np.ndarray         # (B,)
    df_residual: np.ndarray      # (B,) rows with prior weight > 0 minus rank
    converged: np.ndarray        # (B,) bool
    iterations: np.ndarray       # (B,) int

    def pearson_dispersion(self, y: np.ndarray) -> np.ndarray:
        """``summary.glm`` dispersion: sum(W r^2)/df.r with working residuals r = (y - mu)/mu."""
        r = (y - self.mu) / self.mu
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.sum(self.working_weights * r * r, axis=1) / self.df_residual

    def link_variance_unscaled(self, group: np.ndarray, t0: np.ndarray) -> np.ndarray:
        b = np.arange(self.slope.shape[0])
        dt = (t0 - self.t_center) - self.group_tbar[b, group]
        with np.errstate(divide="ignore", invalid="ignore"):
            extra = np.where(np.isfinite(self.within_ss), dt * dt / self.within_ss, 0.0)
            return 1.0 / self.group_weight[b, group] + extra

    def predict_link(self, group: np.ndarray, t0: np.ndarray) -> np.ndarray:
        b = np.arange(self.slope.shape[0])
        return self.intercepts[b, group] + self.slope * (t0 - self.t_center)


def fit_poisson_glm_dense(
    y: np.ndarray,
    t: np.ndarray,
    levels: np.ndarray,
    n_groups: int,
    weights: np.ndarray | None = None,
    *,
    trend: bool = True,
    maxit: int = 25,
    epsilon: float = 1e-8,
    chunk_cells: int = 16384,
) -> DenseGlmFit:
    """Fit ``B`` Poisson GLMs ``log mu_bl = a_{b, g(l)} + beta_b t_bl`` at once, each as ``glm.fit``.

    ``y``, ``t``, ``weights``: shape ``(B, L)``; ``levels``: the group (0..G-1) of each of the
    ``L`` row slots, shared by all problems; prior weight 0 marks an absent row. One intercept
    per group plus a common slope spans the same space as R's ``1 + wtime + factor`` design, so
    IRLS iterates, fitted values, dispersion, hat values and prediction variances are R's.

    Each IRLS step is a weighted least-squares fit solved in closed form (within-group
    regression), with ``W = w mu`` and ``z = eta + (y - mu)/mu``::

        zbar_g = sum_g W z / S0_g,  tbar_g = sum_g W t / S0_g
        beta   = sum W (t - tbar_g)(z - zbar_g) / sum W (t - tbar_g)^2
        a_g    = zbar_g - beta tbar_g

    Start ``mu = y + 0.1``, the stopping rule ``|dev - dev_old|/(|dev| + 0.1) < epsilon``, ``maxit``,
    the ``mu >= DBL_EPSILON`` clamp and step halving on a non-finite deviance follow
    ``glm.fit``; each problem stops at its own iteration (its own convergence flag).

    Problems are processed in chunks of about ``chunk_cells`` cells so that the working arrays
    stay in the CPU cache; row slots are internally sorted by group so group sums are
    ``np.add.reduceat`` (no BLAS call, no thread start-up).
    """
    y = np.asarray(y, dtype=float)
    B, L = y.shape
    levels = np.asarray(levels, dtype=np.int64)
    G = int(n_groups)
    is_sorted = bool(np.all(np.diff(levels) >= 0))
    order = np.arange(L) if is_sorted else np.argsort(levels, kind="stable")
    used, starts = np.unique(levels[order], return_index=True)
    counts = np.diff(np.append(starts, L))
    w_all = np.ones((B, L)) if weights is None else np.asarray(weights, dtype=float)
    t_all = np.broadcast_to(np.asarray(t, dtype=float), (B, L))
    out = {
        "a": np.zeros((B, used.shape[0])), "beta": np.zeros(B), "mu": np.empty((B, L)),
        "W": np.zeros((B, L)), "hat": np.zeros((B, L)), "s0": np.zeros((B, used.shape[0])),
        "tbar": np.zeros((B, used.shape[0])), "sc": np.full(B, np.inf), "dev": np.zeros(B),
        "conv": np.zeros(B, dtype=bool), "iter": np.zeros(B, dtype=np.int64),
        "center": np.zeros(B), "df": np.zeros(B),
    }
    step = max(1, int(chunk_cells) // max(L, 1))
    for s0 in range(0, B, step):
        sl = slice(s0, min(B, s0 + step))

        def cols(x: np.ndarray) -> np.ndarray:
            return np.ascontiguousarray(x[sl] if is_sorted else x[sl][:, order])

        part = _fit_dense_sorted(cols(y), cols(t_all), cols(w_all), starts, counts, trend, maxit,
                                 epsilon)
        for k, v in part.items():
            out[k][sl] = v
    if not is_sorted:
        inv = np.empty_like(order)
        inv[order] = np.arange(L)
        for k in ("mu", "W", "hat"):
            out[k] = out[k][:, inv]

    def groups(x: np.ndarray) -> np.ndarray:
        if used.shape[0] == G:
            return x
        full = np.zeros((B, G))
        full[:, used] = x
        return full

    return DenseGlmFit(
        intercepts=groups(out["a"]), slope=out["beta"], t_center=out["center"], mu=out["mu"],
        working_weights=out["W"], hat=out["hat"], group_weight=groups(out["s0"]),
        group_tbar=groups(out["tbar"]), within_ss=out["sc"], deviance=out["dev"],
        df_residual=out["df"], converged=out["conv"], iterations=out["iter"],
    )


def _fit_dense_sorted(y, t, w, starts, counts, trend, maxit, epsilon) -> dict[str, np.ndarray]:
    """IRLS for one chunk; row slots sorted by group (``starts``/``counts`` per used group)."""
    B, L = y.shape
    G = starts.shape[0]

    def gsum(x: np.ndarray) -> np.ndarray:
        return np.add.reduceat(x, starts, axis=-1)

    def expand(x: np.ndarray) -> np.ndarray:
        return np.repeat(x, counts, axis=-1)

    y = np.ascontiguousarray(y, dtype=float)
    good = w > 0
    n_ok = good.sum(axis=1)
    present = gsum(good.astype(float)) > 0
    df = (n_ok - present.sum(axis=1) - (1 if trend else 0)).astype(float)
    t_raw = t
    with np.errstate(invalid="ignore", divide="ignore"):
        center = np.where(n_ok > 0, np.sum(np.where(good, t_raw, 0.0), axis=1) / n_ok, 0.0)
    t = np.ascontiguousarray(np.where(good, t_raw - center[:, None], 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        ylogy = np.where(y > 0, y * np.log(np.where(y > 0, y, 1.0)), 0.0)
    C = np.sum(w * (ylogy - y), axis=1)

    out = {
        "a": np.zeros((B, G)), "beta": np.zeros(B), "mu": np.empty((B, L)), "W": np.zeros((B, L)),
        "hat": np.zeros((B, L)), "s0": np.zeros((B, G)), "tbar": np.zeros((B, G)),
        "sc": np.full(B, np.inf), "dev": np.zeros(B), "conv": np.zeros(B, dtype=bool),
        "iter": np.zeros(B, dtype=np.int64),
    }
    act = np.arange(B)
    alive = np.ones(B, dtype=bool)
    ya, ta, wa, Ca = y, t, w, C
    mu = y + 0.1
    eta = np.log(mu)
    dev_old = 2.0 * (Ca + np.sum(wa * (mu - ya * eta), axis=1))
    a_old = beta_old = None
    err = np.seterr(all="ignore")
    try:
        for it in range(1, maxit + 1):
            Ba = act.shape[0]
            buf = np.empty((5, Ba, L))
            W = np.multiply(wa, mu, out=buf[0])
            np.multiply(W, ta, out=buf[1])
            v = np.subtract(eta, 1.0, out=buf[2])
            v *= mu
            v += ya
            v *= wa                                  # W z
            np.multiply(v, ta, out=buf[3])
            np.multiply(buf[1], ta, out=buf[4])
            S = gsum(buf)
            s0, s1, sz, stz, s2 = S
            inv0 = np.where(s0 > 0, 1.0 / s0, 0.0)
            zbar = sz * inv0
            if trend:
                tbar = s1 * inv0
                sc = np.sum(s2 - s1 * tbar, axis=1)
                beta = np.where(sc > 0, np.sum(stz - s1 * zbar, axis=1) / sc, 0.0)
                a = zbar - beta[:, None] * tbar
            else:
                tbar = np.zeros((Ba, G))
                sc = np.full(Ba, np.inf)
                beta = np.zeros(Ba)
                a = zbar
            eta = expand(a)
            if trend:
                eta += beta[:, None] * ta
            mu = np.maximum(np.exp(eta), _DBL_EPS)
            dev = 2.0 * (Ca + np.sum(wa * (mu - ya * np.maximum(eta, _LOG_DBL_EPS)), axis=1))
            bad = alive & ~np.isfinite(dev)
            if bad.any() and a_old is not None:  # glm.fit: "step size truncated due to divergence"
                for _ in range(maxit):
                    a[bad] = (a[bad] + a_old[bad]) / 2.0
                    beta[bad] = (beta[bad] + beta_old[bad]) / 2.0
                    eta[bad] = expand(a[bad]) + beta[bad, None] * ta[bad]
                    mu[bad] = np.maximum(np.exp(eta[bad]), _DBL_EPS)
                    dev[bad] = 2.0 * (Ca[bad] + np.sum(
                        wa[bad] * (mu[bad] - ya[bad] * np.maximum(eta[bad], _LOG_DBL_EPS)), axis=1))
                    bad = bad & ~np.isfinite(dev)
                    if not bad.any():
                        break
            done = np.abs(dev - dev_old) / (np.abs(dev) + 0.1) < epsilon
            fin = alive & (done | (it == maxit) | ~np.isfinite(dev))
            if fin.any():
                ids = act[fin]
                out["conv"][ids] = done[fin]
                out["iter"][ids] = it
                out["dev"][ids] = dev[fin]
                out["beta"][ids] = beta[fin]
                out["a"][ids] = a[fin]
                out["s0"][ids] = s0[fin]
                out["tbar"][ids] = tbar[fin]
                out["sc"][ids] = sc[fin]
                out["mu"][ids] = mu[fin]
                Wf = W[fin]
                out["W"][ids] = Wf
                h = expand(inv0[fin])
                if trend:
                    d = ta[fin] - expand(tbar[fin])
                    h = h + d * d / sc[fin, None]
                out["hat"][ids] = np.where(Wf > 0, Wf * h, 0.0)
                alive = alive & ~fin
            if not alive.any():
                break
            if alive.sum() < 0.75 * Ba:  # compact the problems still iterating
                k = alive
                act, ya, ta, wa, Ca = act[k], ya[k], ta[k], wa[k], Ca[k]
                mu, eta, dev, a, beta = mu[k], eta[k], dev[k], a[k], beta[k]
                alive = np.ones(act.shape[0], dtype=bool)
            dev_old, a_old, beta_old = dev, a, beta
    finally:
        np.seterr(**err)
    out.update(center=center, df=df)
    return out
