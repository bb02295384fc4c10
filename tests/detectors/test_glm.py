"""The batched grouped Poisson IRLS against the single-fit R-faithful ``fit_poisson_glm``."""
from __future__ import annotations

import numpy as np
import pytest

from detectors.algorithms.glm import fit_poisson_glm, fit_poisson_glm_dense


def _problems(seed: int, B: int, L: int, G: int, weighted: bool, absent: bool):
    rng = np.random.default_rng(seed)
    levels = rng.integers(0, G, L)
    levels[:G] = np.arange(G)
    t = np.arange(L, dtype=float)[None, :] + rng.integers(0, 300, (B, 1))
    lam = np.exp(1.0 + 0.02 * (t - t.mean()) + 0.3 * levels[None, :])
    y = rng.poisson(lam).astype(float)
    y[0] = 0.0                         # all-zero response: 23 IRLS iterations in R
    y[1] = 0.0
    y[1, np.argmax(t[1])] = 1.0        # separation: the slope diverges, no convergence
    w = np.ones((B, L))
    if absent:
        w[rng.random((B, L)) < 0.15] = 0.0
        w[:, :G] = 1.0
    if weighted:
        w = w * rng.uniform(0.2, 2.0, (B, L))
    return y, t, levels, w


@pytest.mark.parametrize("trend", [True, False])
@pytest.mark.parametrize("G, weighted, absent", [
    (1, False, False),   # algo.farrington / ff_default design
    (1, True, False),    # reweighted refit
    (4, False, True),    # seasonal factor, missing reference rows
    (10, True, True),    # Noufaily design
])
def test_dense_batch_equals_single_fits(trend, G, weighted, absent):
    y, t, levels, w = _problems(7, 24, 40, G, weighted, absent)
    fit = fit_poisson_glm_dense(y, t, levels, G, w, trend=trend, chunk_cells=300)
    disp = fit.pearson_dispersion(y)
    t0 = t[:, -1] + 3.0
    g0 = np.full(y.shape[0], G - 1)
    var = fit.link_variance_unscaled(g0, t0)
    eta0 = fit.predict_link(g0, t0)
    for b in range(y.shape[0]):
        m = w[b] > 0
        X = np.column_stack([(levels[m] == j).astype(float) for j in range(G)]
                            + ([t[b, m]] if trend else []))
        ref = fit_poisson_glm(X, y[b, m], weights=w[b, m])
        assert (fit.converged[b], fit.iterations[b]) == (ref.converged, ref.iterations), b
        if not ref.converged:  # a diverging slope: the iterates are ill-conditioned, only the flag counts
            continue
        np.testing.assert_allclose(fit.mu[b, m], ref.mu, rtol=1e-8, atol=1e-14)
        # (groups of zero counts: intercepts drift to -inf, hat values only agree to ~1e-4)
        degenerate = b < 2  # all-zero and separated problems: near-singular weights
        np.testing.assert_allclose(fit.hat[b, m], ref.hat, rtol=1e-3 if degenerate else 1e-7,
                                   atol=1e-12)
        assert fit.df_residual[b] == ref.df_residual
        assert disp[b] == pytest.approx(ref.pearson_dispersion(y[b, m]), rel=1e-8)
        x0 = np.zeros(X.shape[1])
        x0[G - 1] = 1.0
        if trend:
            x0[-1] = t0[b]
        tol = 1e-3 if degenerate else 1e-7
        assert var[b] == pytest.approx(x0 @ ref.cov_unscaled @ x0, rel=tol)
        assert eta0[b] == pytest.approx(x0 @ ref.coef, rel=tol, abs=1e-8)


@pytest.mark.parametrize("y, trend, iterations, converged", [
    (np.zeros(35), False, 24, True),                          # sparse series: slow but converges
    (np.r_[np.zeros(34), 1.0], True, 25, False),              # separation: glm.fit gives up at 25
    (np.r_[3.0, 5, 4, 6, 5, 4, 3, 5, 6, 4] * 1.0, True, 4, True),
])
def test_iteration_counts_follow_glm_fit(y, trend, iterations, converged):
    t = np.arange(y.shape[0], dtype=float)
    fit = fit_poisson_glm_dense(y[None, :], t, np.zeros(y.shape[0], dtype=int), 1, trend=trend)
    ref = fit_poisson_glm(np.column_stack([np.ones_like(t)] + ([t] if trend else [])), y)
    assert (ref.iterations, ref.converged) == (iterations, converged)
    assert int(fit.iterations[0]) == iterations
    assert bool(fit.converged[0]) is converged


def test_zero_weight_rows_are_absent_rows():
    y, t, levels, _ = _problems(3, 6, 30, 2, False, False)
    w = np.ones_like(y)
    w[:, 5:9] = 0.0
    keep = np.ones(30, dtype=bool)
    keep[5:9] = False
    a = fit_poisson_glm_dense(y, t, levels, 2, w)
    b = fit_poisson_glm_dense(y[:, keep], t[:, keep], levels[keep], 2)
    np.testing.assert_array_equal(a.iterations, b.iterations)
    ok = slice(2, None)  # problems 0 and 1 are degenerate (all zero / separated)
    np.testing.assert_allclose(a.mu[ok][:, keep], b.mu[ok], rtol=1e-9)
    np.testing.assert_allclose(a.pearson_dispersion(y)[ok], b.pearson_dispersion(y[:, keep])[ok],
                               rtol=1e-9)
