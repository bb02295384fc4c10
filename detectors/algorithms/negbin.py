r"""Log-link GLMs for many series at once: Poisson and negative binomial, as R fits them.

``fit_log_glm`` is R's ``glm.fit`` (IRLS) for ``log(mu) = X beta`` vectorised over ``S`` response
vectors sharing one design matrix ``X`` (shape ``(n, p)``): Poisson (``theta=None``) or negative
binomial with known size ``theta`` (MASS ``negative.binomial(theta)``, variance
:math:`\mu + \mu^2/\theta`)::

    z = eta + (y - mu) / mu_eta(eta)        w = sqrt(mu_eta(eta)^2 / V(mu))
    beta = argmin || w (z - X beta) ||      (QR of diag(w) X, per series)

with R's details: start ``mu = y + 0.1`` (Poisson) or ``eta = etastart``; ``mu = linkinv(eta) =
max(exp(eta), DBL_EPSILON)`` (R's ``make.link("log")`` clamps fitted means at machine epsilon);
stop when ``|dev - dev_old| / (|dev| + 0.1) < epsilon`` or after ``maxit`` iterations (then the
last iterate is kept and flagged as not converged).

``glm_nb`` is ``MASS::glm.nb``: a Poisson fit, then alternation between a negative binomial IRLS
fit with ``theta`` fixed and ``theta.ml`` (Newton-Raphson on the profile score of ``theta`` with
the *previous* fitted means, at most ``limit - 1 = 24`` steps, tolerance ``DBL_EPSILON^0.25``),
until :math:`|L_{m0} - L_m|/d_1 + |\Delta\theta|/d_2 \le \epsilon` with :math:`d_1 =
\sqrt{2\max(1, n-p)}`, :math:`d_2 = 1`, or 25 alternations. :math:`L_m` is the negative binomial
log-likelihood
:math:`\sum \log\Gamma(\theta+y) - \log\Gamma(\theta) - \log\Gamma(y+1) + \theta\log\theta
+ y\log(\mu + [y=0]) - (\theta+y)\log(\theta+\mu)`.

Series whose fit breaks down (non-finite ``theta``, weights or deviance; R stops with an error
such as ``NA/NaN/Inf in 'x'``) are reported in ``failed`` instead of raising.

>>> X = np.column_stack([np.ones(6), np.arange(6.0)])
>>> fit = fit_log_glm(X, np.array([[1.0, 2, 4, 8, 16, 32]]))
>>> round(float(fit.coef[0, 1]), 6), bool(fit.converged[0])
(0.693147, True)

References
----------
R Core Team, ``stats::glm.fit`` (src/library/stats/R/glm.R).
Venables WN, Ripley BD (2002). *Modern Applied Statistics with S*, 4th ed., Springer, sect. 7.4
(``glm.nb``, ``theta.ml``, ``negative.binomial`` in package MASS).
Lawless JF (1987). Negative binomial and mixed Poisson regression. *Can J Stat* 15(3):209-225.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import digamma, gammaln, xlogy

__all__ = ["LogGlmFit", "NbFit", "fit_log_glm", "glm_nb", "theta_ml", "linkinv"]

# Not glm.py's fits: those take per-problem weights/offset/rows (Farrington); here S series share one X, + NB.

_EPS = float(np.finfo(float).eps)


def linkinv(eta: np.ndarray) -> np.ndarray:
    """R's inverse log link: ``pmax(exp(eta), .Machine$double.eps)``."""
    return np.maximum(np.exp(eta), _EPS)


@dataclass
class LogGlmFit:
    coef: np.ndarray        # (S, p)
    mu: np.ndarray          # (S, n) fitted means
    converged: np.ndarray   # (S,) bool
    iterations: np.ndarray  # (S,) int
    failed: np.ndarray      # (S,) bool: no valid fit (R would stop with an error)

    def predict(self, X_new: np.ndarray) -> np.ndarray:
        """Fitted means at new design rows: ``linkinv(X_new beta)``, shape ``(S, m)``."""
        return linkinv(self.coef @ np.asarray(X_new, dtype=float).T)


def _deviance(y: np.ndarray, mu: np.ndarray, theta: np.ndarray | None) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if theta is None:  # poisson()$dev.resids: 2 (y log(y/mu) - (y - mu)), 2 mu at y = 0
            return 2.0 * (xlogy(y, y / mu) - (y - mu)).sum(axis=1)
        th = theta[:, None]
        r = y * np.log(np.maximum(1.0, y) / mu) - (y + th) * np.log((y + th) / (mu + th))
        return (2.0 * r).sum(axis=1)


def _wls(X: np.ndarray, w: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Per-series weighted least squares ``argmin ||w (z - X b)||`` -> ``(S, p)``.

    Normal equations (one matrix product for all series) where ``X' W X`` is well conditioned;
    QR of ``diag(w) X`` (what R's ``Cdqrls`` does) for the others, e.g. fits whose means run off
    to zero, so precision never depends on the shortcut.
    """
    S, p = w.shape[0], X.shape[1]
    w2 = w * w
    iu, ju = np.triu_indices(p)
    A = np.empty((S, p, p))
    A[:, iu, ju] = w2 @ (X[:, iu] * X[:, ju])
    A[:, ju, iu] = A[:, iu, ju]
    b = (w2 * z) @ X
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ev = np.linalg.eigvalsh(A)
        good = np.isfinite(ev).all(axis=1) & (ev[:, 0] > 1e-6 * ev[:, -1])
    out = np.empty((S, p))
    if good.any():
        out[good] = np.linalg.solve(A[good], b[good][:, :, None])[:, :, 0]
    bad = ~good
    if bad.any():
        Aq = X[None, :, :] * w[bad][:, :, None]
        Q, R = np.linalg.qr(Aq)
        qtb = np.einsum("snp,sn->sp", Q, z[bad] * w[bad])
        out[bad] = np.linalg.solve(R, qtb[:, :, None])[:, :, 0]
    return out


def fit_log_glm(
    X: np.ndarray,
    Y: np.ndarray,
    theta: np.ndarray | None = None,
    etastart: np.ndarray | None = None,
    *,
    maxit: int = 25,
    epsilon: float = 1e-8,
) -> LogGlmFit:
    """IRLS fit of ``log(mu) = X beta`` for every row of ``Y`` (shape ``(S, n)``).

    ``theta`` (shape ``(S,)``) selects the negative binomial family with that known size;
    ``None`` fits Poisson models. ``etastart`` (``(S, n)``) replaces the family's start.
    """
    X = np.asarray(X, dtype=float)
    Y = np.asarray(Y, dtype=float)
    S, n = Y.shape
    p = X.shape[1]
    th = None if theta is None else np.asarray(theta, dtype=float).reshape(S)
    if etastart is None:
        mu = Y + 0.1 if th is None else Y + (Y == 0) / 6.0
        eta = np.log(mu)
    else:
        eta = np.array(etastart, dtype=float)
        mu = linkinv(eta)
    devold = _deviance(Y, mu, th)
    coef = np.full((S, p), np.nan)
    converged = np.zeros(S, dtype=bool)
    failed = ~np.isfinite(devold)
    if th is not None:
        failed |= ~np.isfinite(th) | (th <= 0)
    iterations = np.zeros(S, dtype=int)
    active = np.flatnonzero(~failed)
    for it in range(1, maxit + 1):
        if active.size == 0:
            break
        whole = active.size == S                   # no gathers while every series iterates
        e = eta if whole else eta[active]
        m = mu if whole else mu[active]
        y = Y if whole else Y[active]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if th is None:                          # mu.eta = linkinv = mu, variance = mu
                z = e + (y - m) / m
                w = np.sqrt(m)
            else:
                mu_eta = linkinv(e)
                var = m + m**2 / th[active, None]
                z = e + (y - m) / mu_eta
                w = np.sqrt(mu_eta**2 / var)
        bad = ~(np.isfinite(z).all(axis=1) & np.isfinite(w).all(axis=1))
        beta = np.full((active.size, p), np.nan)
        good = ~bad
        if good.all():
            beta = _wls(X, w, z)
        elif good.any():
            beta[good] = _wls(X, w[good], z[good])
        with np.errstate(over="ignore", invalid="ignore"):
            e_new = beta @ X.T
            m_new = linkinv(e_new)
            dev = _deviance(y, m_new, None if th is None else th[active])
        bad |= ~np.isfinite(dev) | ~np.isfinite(beta).all(axis=1)
        failed[active[bad]] = True
        if whole:
            eta, mu, coef = e_new, m_new, beta
        else:
            eta[active], mu[active], coef[active] = e_new, m_new, beta
        iterations[active] = it
        with np.errstate(invalid="ignore"):
            done = np.abs(dev - devold[active]) / (np.abs(dev) + 0.1) < epsilon
        converged[active[done & ~bad]] = True
        devold[active] = dev
        active = active[~done & ~bad]
    coef[failed] = np.nan
    return LogGlmFit(coef=coef, mu=mu, converged=converged, iterations=iterations, failed=failed)


def trigamma(x: np.ndarray) -> np.ndarray:
    """psi'(x) for x > 0: recurrence up to x >= 10, then the asymptotic (Bernoulli) series.

    About 10x faster than ``scipy.special.polygamma(1, x)`` (Hurwitz zeta) and accurate to a few
    ulps (relative error < 1e-14); the negative binomial fits call it on every observation.
    """
    x = np.array(x, dtype=float)
    acc = np.zeros_like(x)
    small = np.flatnonzero(x < 10.0)
    if small.size:
        xs = x.ravel()[small]
        steps = np.arange(10.0)[None, :]
        shifted = xs[:, None] + steps
        terms = np.where(shifted < 10.0, 1.0 / (shifted * shifted), 0.0)
        acc.ravel()[small] = terms.sum(axis=1)
        x.ravel()[small] = xs + np.ceil(np.maximum(10.0 - xs, 0.0))
    inv = 1.0 / x
    inv2 = inv * inv
    series = inv * (1.0 + inv * (0.5 + inv * (1.0 / 6.0 + inv2 * (-1.0 / 30.0 + inv2 * (
        1.0 / 42.0 + inv2 * (-1.0 / 30.0 + inv2 * (5.0 / 66.0 + inv2 * (
            -691.0 / 2730.0 + inv2 * 7.0 / 6.0))))))))
    return acc + series


def theta_ml(
    Y: np.ndarray, mu: np.ndarray, limit: int = 25, eps: float = _EPS**0.25
) -> tuple[np.ndarray, np.ndarray]:
    """``MASS::theta.ml`` per row: ML estimate of the negative binomial size given the means.

    Returns ``(theta, limit_reached)``; ``theta`` is NaN where R would stop with an error.

    For counts, ``sum_i psi(th + y_i) - psi(th) = sum_j N_j / (th + j)`` with ``N_j = #{y_i > j}``
    (and the same with squares for trigamma): exact identities that replace ``2 n`` special
    function calls per Newton step by ``max(y)`` divisions.
    """
    Y = np.asarray(Y, dtype=float)
    S, n = Y.shape
    top = float(Y.max()) if Y.size else 0.0
    counts = bool(Y.size) and np.isfinite(top) and top <= 4 * n and bool(
        np.all((Y >= 0) & (Y == np.floor(Y))))
    if counts:
        J = int(top)
        hist = np.bincount((np.arange(S)[:, None] * (J + 1) + Y.astype(np.int64)).ravel(),
                           minlength=S * (J + 1)).reshape(S, J + 1)
        N_gt = hist[:, ::-1].cumsum(axis=1)[:, ::-1][:, 1:].astype(float)   # N_j, j < J
        jj = np.arange(J, dtype=float)[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        t0 = n / np.sum((Y / mu - 1.0) ** 2, axis=1)
    delta = np.ones(S)
    it = np.zeros(S, dtype=int)
    cur = np.arange(S)                   # working set, compacted when it halves
    alive = np.ones(S, dtype=bool)
    Yc, Mc = Y, mu
    Nc = N_gt if counts else None
    while cur.size:
        it[cur[alive]] += 1
        with np.errstate(invalid="ignore"):
            go = alive & (it[cur] < limit) & (np.abs(delta[cur]) > eps)
        nan_cond = alive & np.isnan(delta[cur])
        t0[cur[nan_cond]] = np.nan  # R: "missing value where TRUE/FALSE needed"
        alive = go & ~nan_cond
        n_alive = int(alive.sum())
        if not n_alive:
            break
        if n_alive <= cur.size // 2:
            cur, Yc, Mc, alive = cur[alive], Yc[alive], Mc[alive], alive[alive]
            if counts:
                Nc = Nc[go & ~nan_cond]
        th = np.abs(t0[cur])[:, None]
        y, m = Yc, Mc
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if counts:   # R's per-element order for the rest: keeps its 0/0 failures
                inv = 1.0 / (th + jj)
                score = np.sum(Nc * inv, axis=1) + np.sum(
                    np.log(th) + 1.0 - np.log(th + m) - (y + th) / (m + th), axis=1)
                info = np.sum(Nc * inv * inv, axis=1) + np.sum(
                    -1.0 / th + 2.0 / (m + th) - (y + th) / (m + th) ** 2, axis=1)
            else:
                score = np.sum(digamma(th + y) - digamma(th) + np.log(th) + 1.0
                               - np.log(th + m) - (y + th) / (m + th), axis=1)
                info = np.sum(-trigamma(th + y) + trigamma(th) - 1.0 / th
                              + 2.0 / (m + th) - (y + th) / (m + th) ** 2, axis=1)
            d = score / info
        upd = cur[alive]
        delta[upd] = d[alive]
        t0[upd] = th[alive, 0] + d[alive]
    t0 = np.where(t0 < 0, 0.0, t0)
    return t0, it == limit


def _nb_loglik(theta: np.ndarray, mu: np.ndarray, Y: np.ndarray) -> np.ndarray:
    th = theta[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sum(gammaln(th + Y) - gammaln(th) - gammaln(Y + 1.0) + th * np.log(th)
                      + Y * np.log(mu + (Y == 0)) - (th + Y) * np.log(th + mu), axis=1)


@dataclass
class NbFit:
    coef: np.ndarray           # (S, p)
    theta: np.ndarray          # (S,) NaN where the fit failed
    converged: np.ndarray      # (S,) the alternation converged
    theta_limit: np.ndarray    # (S,) theta.ml reached its iteration limit in the last call
    failed: np.ndarray         # (S,) R stops with an error for this series

    def predict(self, X_new: np.ndarray) -> np.ndarray:
        return linkinv(self.coef @ np.asarray(X_new, dtype=float).T)


def glm_nb(X: np.ndarray, Y: np.ndarray, *, maxit: int = 25, epsilon: float = 1e-8) -> NbFit:
    """``MASS::glm.nb(y ~ X - 1)`` for every row of ``Y`` (see the module docstring)."""
    X = np.asarray(X, dtype=float)
    Y = np.asarray(Y, dtype=float)
    S, n = Y.shape
    p = X.shape[1]
    fit0 = fit_log_glm(X, Y, maxit=maxit, epsilon=epsilon)
    mu = fit0.mu.copy()
    coef = fit0.coef.copy()
    failed = fit0.failed.copy()
    th, limit_hit = theta_ml(Y, mu, limit=maxit)
    d1 = np.sqrt(2.0 * max(1, n - p))
    d2 = 1.0
    delta = np.ones(S)
    Lm = _nb_loglik(th, mu, Y)
    Lm0 = Lm + 2.0 * d1
    converged = np.zeros(S, dtype=bool)
    failed |= ~np.isfinite(th)
    active = np.flatnonzero(~failed)
    for _ in range(maxit):
        with np.errstate(invalid="ignore"):
            crit = np.abs(Lm0[active] - Lm[active]) / d1 + np.abs(delta[active]) / d2
        nan_crit = np.isnan(crit)
        failed[active[nan_crit]] = True
        converged[active[~nan_crit & (crit <= epsilon)]] = True
        active = active[~nan_crit & (crit > epsilon)]
        if not active.size:
            break
        fit = fit_log_glm(X, Y[active], theta=th[active], etastart=np.log(mu[active]),
                          maxit=maxit, epsilon=epsilon)
        t_old = th[active]
        t_new, lim = theta_ml(Y[active], mu[active], limit=maxit)   # R uses the previous mu
        th[active], limit_hit[active] = t_new, lim
        mu[active] = fit.mu
        coef[active] = fit.coef
        delta[active] = t_old - t_new
        Lm0[active] = Lm[active]
        Lm[active] = _nb_loglik(t_new, fit.mu, Y[active])
        bad = fit.failed | ~np.isfinite(t_new)
        failed[active[bad]] = True
        active = active[~bad]
    coef[failed] = np.nan
    th = np.where(failed, np.nan, th)
    return NbFit(coef=coef, theta=th, converged=converged & ~failed, theta_limit=limit_hit,
                 failed=failed)
