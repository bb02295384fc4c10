"""The Farrington fits reused by content give bit for bit the outputs of fitting afresh.

``detectors.algorithms.farrington_flexible`` keeps fitted models by a digest of their baseline: a
point evaluated again with another current count (reports arriving for the current week) reuses the
fit and only recomputes the threshold. Every output must be identical to a cold fit, for every
configuration the registry ships, whatever the count judged, and a changed baseline must refit.
"""
from __future__ import annotations

import numpy as np
import pytest

from detectors.algorithms import farrington_flexible as ff
from detectors.algorithms import registry
from detectors.algorithms.base import Series

FIELDS = ("observed", "upperbound", "alarm", "expected", "stat", "pvalue", "phi", "trend")


def outputs(det) -> list[np.ndarray]:
    return [np.asarray(getattr(det, f), dtype=float) for f in FIELDS]


def same(a, b) -> bool:
    return all(np.array_equal(x, y, equal_nan=True) for x, y in zip(outputs(a), outputs(b)))


@pytest.mark.parametrize("algorithm", ["ff_default", "ff_farrington", "ff_noufaily", "ff_noufaily_muan"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_reused_fits_equal_cold_fits_for_any_current_count(algorithm, seed):
    rng = np.random.default_rng(seed)
    n = 320
    base = rng.poisson(4 + 3 * np.sin(np.arange(n) * 2 * np.pi / 52), n).astype(float)
    params = registry.get(algorithm).defaults
    fn = registry.detector(algorithm)
    for n_eval in (1, 2, 3):
        for y_now in (0.0, 1.0, 5.0, 17.0, 60.0):
            y = base.copy()
            y[-1] = y_now
            series = Series(y, 52)
            ff._FITS.clear()
            cold = fn(series, n - n_eval + 1, n, params)
            assert len(ff._FITS) >= 1
            warm = fn(series, n - n_eval + 1, n, params)  # the same block: the fit is reused
            assert same(cold, warm)
            y2 = y.copy()
            y2[-1] = y_now + 3  # another count judged against the same fit
            reused = fn(Series(y2, 52), n - n_eval + 1, n, params)
            ff._FITS.clear()
            assert same(reused, fn(Series(y2, 52), n - n_eval + 1, n, params))


def test_a_changed_baseline_is_fitted_again():
    rng = np.random.default_rng(7)
    y = rng.poisson(5, 320).astype(float)
    params = registry.get("ff_noufaily").defaults
    fn = registry.detector("ff_noufaily")
    ff._FITS.clear()
    fn(Series(y, 52), 320, 320, params)
    size = len(ff._FITS)
    y[320 - 52] += 40  # a year back: inside the baseline
    late = fn(Series(y, 52), 320, 320, params)
    assert len(ff._FITS) == size + 1
    ff._FITS.clear()
    assert same(late, fn(Series(y, 52), 320, 320, params))


def test_the_cache_is_bounded(monkeypatch):
    monkeypatch.setattr(ff, "_FITS_MAX", 3)
    ff._FITS.clear()
    rng = np.random.default_rng(9)
    params = registry.get("ff_noufaily").defaults
    for _ in range(6):
        ff.detect(Series(rng.poisson(5, 320).astype(float), 52), 320, 320, params)
    assert len(ff._FITS) == 3
