"""Registry: ids, defaults and range rule are those of the R oracle; lazy, failing imports."""
from __future__ import annotations

import csv
import dataclasses
import json

import numpy as np
import pytest

from detectors.algorithms import ears, registry
from detectors.algorithms._batch import BatchDetection
from detectors.algorithms.base import Series
from tests.detectors._oracle import require_oracle

IDS = ["earsC_C1", "earsC_C2", "earsC_C3", "ff_default", "ff_farrington", "ff_noufaily",
       "ff_noufaily_muan", "farrington", "cusum", "cusum_glm_rossi", "bayes", "rki", "glrpois",
       "glrnb"]


def _csv(name):
    with open(require_oracle() / name) as fh:
        return list(csv.DictReader(fh))


def test_ids():
    assert sorted(registry.algorithm_ids()) == sorted(IDS)


def test_defaults_and_r_functions_match_the_oracle_table():
    rows = {r["algorithm"]: r for r in _csv("algorithms.csv")}
    assert set(rows) == set(IDS)
    for alg_id in IDS:
        spec = registry.get(alg_id)
        assert spec.r_function == rows[alg_id]["r_function"], alg_id
        assert dict(spec.defaults) == json.loads(rows[alg_id]["params"]), alg_id


def test_plan_range_reproduces_every_oracle_run():
    datasets = {r["dataset"]: r for r in _csv("datasets.csv")}
    runs = _csv("runs.csv")
    assert len(runs) == 91 * len(IDS)
    for run in runs:
        ds = datasets[run["dataset"]]
        plan = registry.plan_range(run["algorithm"], int(ds["n"]), int(ds["freq"]),
                                   ds["epochAsDate"] == "TRUE")
        where = (run["dataset"], run["series"], run["algorithm"])
        if run["status"].startswith("skipped"):
            assert plan is None, where
            continue
        start, end, params = plan
        assert (start, end) == (int(run["range_start"]), int(run["range_end"])), where
        assert params == json.loads(run["params"]), where          # incl. a reduced b


def test_detector_merges_defaults():
    y = np.random.default_rng(1).poisson(5, 40).astype(float)
    s = Series(observed=y, freq=52)
    via_registry = registry.detector("earsC_C2")(s, 20, 40, {})
    direct = ears.detect(s, 20, 40, {"method": "C2"})
    np.testing.assert_array_equal(via_registry.upperbound, direct.upperbound)


def test_unknown_id():
    with pytest.raises(KeyError, match="unknown algorithm"):
        registry.get("holt_winters")


def test_missing_module_is_reported_lazily(monkeypatch):
    spec = dataclasses.replace(registry.get("cusum"), id="ghost",
                               module="detectors.algorithms.does_not_exist")
    monkeypatch.setitem(registry.ALGORITHMS, "ghost", spec)
    with pytest.raises(registry.AlgorithmUnavailable):
        registry.detector("ghost")
    with pytest.raises(registry.AlgorithmUnavailable):  # a declared batch function: no silent fallback
        registry.batch_detector("ghost")


@pytest.mark.parametrize("alg_id", ["earsC_C3", "cusum", "bayes", "rki", "glrpois", "glrnb"])
def test_batch_detector_shapes(alg_id):
    y = np.random.default_rng(2).poisson(4, size=(3, 160)).astype(float)
    out = registry.batch_detector(alg_id)(y, 120, 160)
    assert isinstance(out, BatchDetection)
    assert out.upperbound.shape == (3, 41) and out.alarm.dtype == bool
    assert out.row(1).t.tolist() == list(range(120, 161))


def test_batch_detector_blocks_give_the_same_result(monkeypatch):
    y = np.random.default_rng(3).poisson(4, size=(7, 160)).astype(float)
    whole = registry.batch_detector("glrnb")(y, 120, 160)
    monkeypatch.setattr(registry, "BLOCK_SERIES", 3)
    blocks = registry.batch_detector("glrnb")(y, 120, 160)
    np.testing.assert_allclose(blocks.upperbound, whole.upperbound, rtol=1e-7, atol=1e-9)
    np.testing.assert_array_equal(blocks.alarm, whole.alarm)
    # near-Poisson series: theta.ml runs to its iteration limit and its last digits depend on
    # summation rounding (the histogram width is the block's largest count), as in R
    np.testing.assert_allclose(blocks.extra["fitted_alpha"], whole.extra["fitted_alpha"],
                               rtol=1e-4)
