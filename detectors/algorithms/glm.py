"""Poisson GLM with log link fitted exactly as R's ``glm.fit`` does.

Iteratively reweighted least squares (IRLS) for ``log(mu) = X beta + offset`` with prior
weights ``w``::

    z = eta - offset + (y - mu) / mu          # working response
    W = w * mu                                 # working weights
    beta = argmin || sqrt(W) (z - X beta) ||   # weighted least squares (QR)

R details reproduced (they matter at 1e-6 relative precision):

* start ``mu = y + 0.1``;
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

__all__ = ["GlmFit", "GroupedGlmFit", "fit_poisson_glm", "fit_poisson_glm_grouped", "poisson_deviance"]


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
        mu = np.exp(eta)
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


@dataclass(frozen=True)
class GroupedGlmFit:
    """Result of :func:`fit_poisson_glm_grouped` for ``B`` problems stored in long format.

    Per problem ``b`` (arrays of shape ``(B,)`` or ``(B, G)``) and per row ``i`` (shape ``(N,)``).
    ``group_weight`` (``S0``), ``group_tbar`` and ``within_ss`` (``Sc``) come from the last IRLS
    step, like R's ``qr``; they give the unscaled covariance in closed form::

        Var(a_g + beta t0) / dispersion = 1 / S0_g + (t0 - tbar_g)^2 / Sc
    """

    intercepts: np.ndarray       # (B, G) a_g (0 for groups without rows)
    slope: np.ndarray            # (B,) beta (0 without trend)
    mu: np.ndarray               # (N,)
    working_weights: np.ndarray  # (N,) prior * mu of the last IRLS step
    hat: np.ndarray              # (N,)
    group_weight: np.ndarray     # (B, G) S0_g = sum of working weights in group g
    group_tbar: np.ndarray       # (B, G) working-weighted mean of t in group g
    within_ss: np.ndarray        # (B,) Sc = sum W (t - tbar_g)^2 (inf without trend)
    deviance: np.ndarray         # (B,)
    df_residual: np.ndarray      # (B,) rows with prior weight > 0 minus rank
    converged: np.ndarray        # (B,) bool
    iterations: np.ndarray       # (B,) int

    def pearson_dispersion(self, y: np.ndarray, problem: np.ndarray) -> np.ndarray:
        """``summary.glm`` dispersion per problem: sum(W r^2)/df.r, r = (y - mu)/mu."""
        r = (y - self.mu) / self.mu
        num = np.bincount(problem, self.working_weights * r * r, minlength=self.slope.shape[0])
        with np.errstate(divide="ignore", invalid="ignore"):
            return num / self.df_residual

    def link_variance_unscaled(self, group: np.ndarray, t0: np.ndarray) -> np.ndarray:
        """``x0' (X'WX)^-1 x0`` for the prediction row (group ``group[b]``, time ``t0[b]``)."""
        b = np.arange(self.slope.shape[0])
        s0 = self.group_weight[b, group]
        dt = t0 - self.group_tbar[b, group]
        with np.errstate(divide="ignore", invalid="ignore"):
            return 1.0 / s0 + np.where(np.isfinite(self.within_ss), dt * dt / self.within_ss, 0.0)

    def predict_link(self, group: np.ndarray, t0: np.ndarray) -> np.ndarray:
        b = np.arange(self.slope.shape[0])
        return self.intercepts[b, group] + self.slope * t0


def _poisson_devres(y: np.ndarray, mu: np.ndarray, w: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        ylogy = np.where(y > 0, y * np.log(np.where(y > 0, y, 1.0) / mu), 0.0)
    return 2.0 * w * (ylogy - (y - mu))


def fit_poisson_glm_grouped(
    y: np.ndarray,
    t: np.ndarray,
    group: np.ndarray,
    problem: np.ndarray,
    n_problems: int,
    n_groups: int,
    weights: np.ndarray | None = None,
    *,
    trend: bool = True,
    maxit: int = 25,
    epsilon: float = 1e-8,
) -> GroupedGlmFit:
    """Fit ``B`` Poisson GLMs ``log mu_i = a_{g(i)} + beta t_i`` at once, each as R's ``glm.fit``.

    Rows of all problems are stacked ("long" format): row ``i`` belongs to problem
    ``problem[i]`` (0..B-1) and to group ``group[i]`` (0..G-1). The design "one intercept per
    group plus a common slope" spans the same space as R's ``1 + wtime + factor`` design, so the
    IRLS iterates, fitted values, dispersion, hat values and prediction variances are R's.

    Each IRLS step is a weighted least-squares fit solved in closed form (within-group
    regression)::

        zbar_g = sum_g W z / S0_g,  tbar_g = sum_g W t / S0_g
        beta   = sum W (t - tbar_g)(z - zbar_g) / sum W (t - tbar_g)^2
        eta_i  = zbar_g + beta (t_i - tbar_g)

    with ``W = w mu`` and ``z = eta + (y - mu)/mu``. Start, stopping rule, ``maxit``, the
    ``mu >= DBL_EPSILON`` clamp and step halving on a non-finite deviance follow ``glm.fit``;
    every problem has its own convergence flag and stops at its own iteration.
    """
    y = np.asarray(y, dtype=float)
    t = np.asarray(t, dtype=float)
    group = np.asarray(group, dtype=np.int64)
    problem = np.asarray(problem, dtype=np.int64)
    B, G, N = int(n_problems), int(n_groups), y.shape[0]
    w = np.ones(N) if weights is None else np.asarray(weights, dtype=float)

    # outputs
    out_a = np.zeros((B, G))
    out_beta = np.zeros(B)
    out_mu = np.empty(N)
    out_W = np.empty(N)
    out_hat = np.zeros(N)
    out_s0 = np.zeros((B, G))
    out_tbar = np.zeros((B, G))
    out_sc = np.full(B, np.inf)
    out_dev = np.zeros(B)
    out_conv = np.zeros(B, dtype=bool)
    out_iter = np.zeros(B, dtype=np.int64)

    good = w > 0
    n_ok = np.bincount(problem, good.astype(float), minlength=B)
    present = np.bincount(problem * G + group, good.astype(float), minlength=B * G).reshape(B, G) > 0
    rank = present.sum(axis=1) + (1 if trend else 0)
    df = n_ok - rank

    # active (compacted) state
    act = np.arange(B)                 # global ids of active problems
    rows = np.arange(N)                # global ids of active rows
    ya, ta, wa, ga = y, t, w, group
    pa = problem.copy()                # local problem id of active rows
    mu = ya + 0.1
    eta = np.log(mu)
    dev_old = np.bincount(pa, _poisson_devres(ya, mu, wa), minlength=B)
    a_old = np.zeros((B, G))
    beta_old = np.zeros(B)
    have_old = False
    it = 0
    for it in range(1, maxit + 1):
        Ba = act.shape[0]
        gga = pa * G + ga
        W = wa * mu
        z = eta + (ya - mu) / mu
        s0 = np.bincount(gga, W, minlength=Ba * G)
        with np.errstate(divide="ignore", invalid="ignore"):
            zbar = np.where(s0 > 0, np.bincount(gga, W * z, minlength=Ba * G) / s0, 0.0)
            if trend:
                tbar = np.where(s0 > 0, np.bincount(gga, W * ta, minlength=Ba * G) / s0, 0.0)
                dt = ta - tbar[gga]
                sc = np.bincount(pa, W * dt * dt, minlength=Ba)
                beta = np.bincount(pa, W * dt * (z - zbar[gga]), minlength=Ba) / sc
                beta = np.where(sc > 0, beta, 0.0)
                eta = zbar[gga] + beta[pa] * dt
                a = zbar - np.repeat(beta, G) * tbar
            else:
                tbar = np.zeros(Ba * G)
                dt = None
                sc = np.full(Ba, np.inf)
                beta = np.zeros(Ba)
                eta = zbar[gga]
                a = zbar
        mu = np.maximum(np.exp(eta), _DBL_EPS)
        dev = np.bincount(pa, _poisson_devres(ya, mu, wa), minlength=Ba)
        bad = ~np.isfinite(dev)
        if bad.any():  # glm.fit: "step size truncated due to divergence"
            if not have_old:  # R stops here ("no valid set of coefficients"): give up
                dev[bad] = np.nan
            else:
                a2 = a.reshape(Ba, G)
                for _ in range(maxit):
                    if not bad.any():
                        break
                    a2[bad] = (a2[bad] + a_old[bad]) / 2.0
                    beta[bad] = (beta[bad] + beta_old[bad]) / 2.0
                    sel = bad[pa]
                    eta[sel] = a2.reshape(-1)[gga[sel]] + beta[pa[sel]] * ta[sel]
                    mu[sel] = np.maximum(np.exp(eta[sel]), _DBL_EPS)
                    dev = np.bincount(pa, _poisson_devres(ya, mu, wa), minlength=Ba)
                    bad = ~np.isfinite(dev)
                a = a2.reshape(-1)
        with np.errstate(invalid="ignore"):
            done = np.abs(dev - dev_old) / (np.abs(dev) + 0.1) < epsilon
        last = it == maxit
        fin = done | last | ~np.isfinite(dev)
        if fin.any():
            gids = act[fin]
            rsel = fin[pa]
            grows = rows[rsel]
            out_conv[gids] = done[fin]
            out_iter[gids] = it
            out_dev[gids] = dev[fin]
            out_beta[gids] = beta[fin]
            out_a[gids] = a.reshape(Ba, G)[fin]
            out_s0[gids] = s0.reshape(Ba, G)[fin]
            out_tbar[gids] = tbar.reshape(Ba, G)[fin]
            out_sc[gids] = sc[fin]
            out_mu[grows] = mu[rsel]
            out_W[grows] = W[rsel]
            g_r = gga[rsel]
            with np.errstate(divide="ignore", invalid="ignore"):
                h = W[rsel] / s0[g_r]
                if trend:
                    h = h + W[rsel] * dt[rsel] ** 2 / sc[pa[rsel]]
            out_hat[grows] = np.where(W[rsel] > 0, h, 0.0)
        if last or fin.all():
            break
        keep = ~fin
        rkeep = keep[pa]
        newid = np.cumsum(keep) - 1
        act = act[keep]
        rows = rows[rkeep]
        ya, ta, wa, ga = ya[rkeep], ta[rkeep], wa[rkeep], ga[rkeep]
        pa = newid[pa[rkeep]]
        mu, eta = mu[rkeep], eta[rkeep]
        dev_old = dev[keep]
        a_old = a.reshape(Ba, G)[keep]
        beta_old = beta[keep]
        have_old = True

    return GroupedGlmFit(
        intercepts=out_a, slope=out_beta, mu=out_mu, working_weights=out_W, hat=out_hat,
        group_weight=out_s0, group_tbar=out_tbar, within_ss=out_sc, deviance=out_dev,
        df_residual=df.astype(float), converged=out_conv, iterations=out_iter,
    )
