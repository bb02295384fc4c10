"""R oracle runs/results of the Farrington family, loaded once for the Farrington tests."""
from __future__ import annotations

import csv
import gzip
import io
import json
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from detectors.algorithms.base import Detection, Series
from tests.detectors._oracle import require_oracle

COLUMNS = ("upperbound", "alarm", "expected", "stat", "pvalue", "phi", "trend")


def _open(path: Path):
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def _find(d: Path, name: str) -> Path:
    for p in (d / name, d / (name + ".gz")):
        if p.exists():
            return p
    raise FileNotFoundError(f"{name} missing in {d}")


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
    rows = defaultdict(list)
    with _open(_find(require_oracle(), "series.csv")) as fh:
        for r in csv.DictReader(fh):
            rows[(r["dataset"], r["series"])].append(r)
    out = {}
    for key, rr in rows.items():
        rr.sort(key=lambda x: int(x["t"]))
        y = np.array([_num(x["observed"]) for x in rr])
        dates = np.array([x["date"] for x in rr], dtype="datetime64[D]") if rr[0]["date"] else None
        out[key] = Series(y, freq=int(rr[0]["freq"]), start_year=int(rr[0]["year"]),
                          start_epoch=int(rr[0]["epoch_in_year"]), dates=dates)
    return out


@lru_cache(maxsize=8)
def load_runs(algorithm: str) -> list[OracleRun]:
    d = require_oracle()
    res = defaultdict(list)
    with _open(_find(d, "results.csv")) as fh:
        for r in csv.DictReader(fh):
            if r["algorithm"] == algorithm:
                res[(r["dataset"], r["series"])].append(r)
    out = []
    with _open(_find(d, "runs.csv")) as fh:
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
