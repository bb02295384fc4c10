"""R-compatible discrete quantiles and upper tails: ``qnbinom``/``qpois`` by R's search (with its
``1 - 64 eps`` fuzz) and ``pnbinom``/``ppois`` upper tails, vectorised, so that thresholds equal
R ``surveillance``'s to the last count.

References
----------
R Core Team. R: A Language and Environment for Statistical Computing (src/nmath/qnbinom.c,
qpois.c, qDiscrete_search.h).
"""
from __future__ import annotations

import numpy as np
from scipy import special

__all__ = ["r_pnbinom_upper", "r_ppois_upper", "r_qnbinom", "r_qpois"]

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
