"""RKI system (algo.rki): table lookup for small means, mean + 2 sd above 20."""
from __future__ import annotations

import csv

import numpy as np
import pytest

from detectors.algorithms import rki
from detectors.algorithms.base import Series
from tests.detectors._oracle import require_oracle


def _series(values, freq=52) -> Series:
    return Series(observed=np.asarray(values, dtype=float), freq=freq)


ACT = {"b": 0, "w": 6, "actY": True}


@pytest.mark.parametrize(
    "values, params, alarms_at",
    [
        ([1, 2, 1, 0, 2, 1, 6, 1], ACT, [7]),            # mean 7/6 -> row 1: U = 5.323
        ([1, 2, 1, 0, 2, 1, 5, 1], ACT, []),
        ([0, 0, 0, 0, 0, 0, 4, 3], ACT, [7]),            # row 0: U = 3.285
        ([30, 32, 28, 31, 29, 30, 34, 40], ACT, [7, 8]),  # normal: U = 32.83, 34.99
    ],
)
def test_alarm_points(values, params, alarms_at):
    det = rki.detect(_series(values), 7, len(values), params)
    assert det.t[det.alarm].tolist() == alarms_at


def test_table_is_the_r_cidata_table():
    oracle = require_oracle()
    with open(oracle / "rki_CIdata.csv") as fh:
        expected = [float(r["O"]) for r in csv.DictReader(fh)]
    np.testing.assert_array_equal(rki.ci_upper_table(), expected)


@pytest.mark.parametrize("base, expected", [
    ([1, 2, 1, 0, 2, 1], 5.323),          # floor(1.17) = 1
    ([20, 20, 20, 20, 20, 20], 30.017),   # mean exactly 20 still uses the table
    ([19, 20, 21, 22, 23, 24], 21.5 + 2 * np.std([19, 20, 21, 22, 23, 24], ddof=1)),
])
def test_bounds(base, expected):
    det = rki.detect(_series(base + [0]), 7, 7, ACT)
    assert det.upperbound[0] == pytest.approx(expected, rel=1e-14)


def test_default_uses_two_previous_years():
    y = np.full(120, 3.0)
    y[120 - 52 - 1] = 100.0         # inside the window of last year only
    det = rki.detect(_series(y), 120, 120, {})
    base = np.concatenate([y[120 - 104 - 5:120 - 104 + 4], y[120 - 52 - 5:120 - 52 + 4]])
    assert base.size == 18
    assert det.expected[0] == pytest.approx(base.mean())      # (17 * 3 + 100) / 18 = 8.39
    assert det.upperbound[0] == 14.921                         # CIdata row 8


def test_batch_equals_single():
    rng = np.random.default_rng(4)
    y = rng.poisson(15, size=(3, 150)).astype(float)
    batch = rki.detect_many(y, 120, 150, {})
    for i in range(3):
        one = rki.detect(_series(y[i]), 120, 150, {})
        np.testing.assert_array_equal(batch.upperbound[i], one.upperbound)
        np.testing.assert_array_equal(batch.alarm[i], one.alarm)
