"""R oracle runs/results of the Farrington family, loaded once for the Farrington tests."""
from __future__ import annotations

import csv
import json
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from detectors.algorithms.base import Detection, Series
from detectors.evaluation.conformance import find_oracle_file, oracle_series
from detectors.evaluation.oracle_io import open_text
from tests.detectors._oracle import require_oracle

COLUMNS = ("upperbound", "alarm", "expected", "stat", "pvalue", "phi", "trend")


def _num(cell: str) -> float:
    return float(cell) if cell != "" else np.nan


@dataclass(frozen=True)
class OracleRun:
    dataset: str
    series: str
    params: dict
    start: int
    end: int
    status: str
    r: dict[str, np.ndarray]  # R's columns over t = start..end


@lru_cache(maxsize=1)
def load_series() -> dict[tuple[str, str], Series]:
    return {key: s.series for key, s in oracle_series(require_oracle()).items()}


@lru_cache(maxsize=8)
def load_runs(algorithm: str) -> list[OracleRun]:
    d = require_oracle()
    res = defaultdict(list)
    with open_text(find_oracle_file(d, "results.csv")) as fh:
        for r in csv.DictReader(fh):
            if r["algorithm"] == algorithm:
                res[(r["dataset"], r["series"])].append(r)
    out = []
    with open_text(find_oracle_file(d, "runs.csv")) as fh:
        for r in csv.DictReader(fh):
            if r["algorithm"] != algorithm:
                continue
            key = (r["dataset"], r["series"])
            rows = sorted(res.get(key, []), key=lambda x: int(x["t"]))
            cols = {c: np.array([_num(x[c]) for x in rows]) for c in COLUMNS}
            out.append(OracleRun(key[0], key[1], json.loads(r["params"]) if r["params"] else {},
                                 int(r["range_start"]) if r["range_start"] else 0,
                                 int(r["range_end"]) if r["range_end"] else 0, r["status"], cols))
    return out


def r_value(algorithm: str, dataset: str, series: str, t: int, column: str) -> float:
    for run in load_runs(algorithm):
        if (run.dataset, run.series) == (dataset, series):
            return float(run.r[column][t - run.start])
    raise KeyError((algorithm, dataset, series))


def run_batched(algorithm: str, detect_batch) -> list[tuple[OracleRun, Detection]]:
    """Every ``ok`` oracle run of ``algorithm``, computed with one ``detect_batch`` per params."""
    series = load_series()
    groups = defaultdict(list)
    for run in load_runs(algorithm):
        if run.status == "ok":
            groups[json.dumps(run.params, sort_keys=True)].append(run)
    out = []
    for key, runs in groups.items():
        dets = detect_batch([(series[(r.dataset, r.series)], r.start, r.end) for r in runs],
                            json.loads(key))
        out.extend(zip(runs, dets))
    return out


def assert_batch_equals_single(detect, detect_batch, items: list[tuple[Series, int, int]],
                               params: dict) -> None:
    """``detect_batch(items)`` gives, item by item, the alarms and upper bounds of ``detect(*item)``."""
    batch = detect_batch(items, params)
    for item, d in zip(items, batch):
        single = detect(*item, params)
        np.testing.assert_array_equal(d.alarm, single.alarm)
        np.testing.assert_allclose(d.upperbound, single.upperbound, rtol=1e-12)


def agreement(pairs: list[tuple[OracleRun, Detection]], rel: float = 1e-6) -> dict[str, float]:
    """Points, alarm / upperbound agreement shares and max relative upperbound error."""
    n = alarm_ok = upper_ok = 0
    max_rel = 0.0
    for run, det in pairs:
        ru, ra = run.r["upperbound"], run.r["alarm"]
        n += ru.shape[0]
        alarm_ok += int(np.sum(det.alarm == (ra == 1)))
        both_na = np.isnan(ru) & np.isnan(det.upperbound)
        with np.errstate(all="ignore"):
            err = np.abs(det.upperbound - ru) / np.maximum(np.abs(ru), 1e-12)
        upper_ok += int(np.sum(both_na | (err <= rel)))
        fin = np.isfinite(err)
        if fin.any():
            max_rel = max(max_rel, float(err[fin].max()))
    return {"points": n, "alarm": alarm_ok / n, "upper": upper_ok / n, "max_rel": max_rel}
