"""Compare a detector with the R reference oracle, series by series.

For one algorithm id, every run of the oracle's ``runs.csv`` that produced results is re-run with
the same parameters and range, and compared with ``results.csv``:

* alarm agreement: share of monitored points whose alarm equals R's (R's NA counts as no alarm);
* upperbound agreement: share of points with ``|ours - R| <= rel * |R| + abs_floor`` (R's values
  are rounded to 12 significant digits, hence the small absolute floor for zeros), or both NA.

Used by ``tests/detectors/test_conformance.py`` and ``bench/conformance_table.py``.
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from detectors.algorithms import registry
from detectors.evaluation.oracle_io import OracleSeries, open_text, read_runs, read_series

__all__ = ["SeriesAgreement", "compare_algorithm", "find_oracle_file", "oracle_results",
           "oracle_series", "DEFAULT_ORACLE_DIR", "REL_TOL", "ABS_FLOOR"]

DEFAULT_ORACLE_DIR = Path(__file__).resolve().parents[2] / "tests" / "detectors" / "oracle"
REL_TOL = 1e-6
ABS_FLOOR = 1e-9


@dataclass(frozen=True)
class SeriesAgreement:
    algorithm: str
    dataset: str
    series: str
    points: int
    alarm_agree: int
    upper_agree: int
    max_rel_err: float
    worst_t: int | None

    @property
    def alarm_share(self) -> float:
        return self.alarm_agree / self.points if self.points else 1.0

    @property
    def upper_share(self) -> float:
        return self.upper_agree / self.points if self.points else 1.0


def find_oracle_file(oracle_dir: Path, name: str) -> Path:
    """``oracle_dir/name``, or its ``.gz`` version."""
    for candidate in (oracle_dir / name, oracle_dir / (name + ".gz")):
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"oracle file {name}(.gz) not found in {oracle_dir}")


@lru_cache(maxsize=4)
def oracle_results(oracle_dir: Path) -> dict[str, dict[tuple[str, str], dict[str, np.ndarray]]]:
    """R results: algorithm -> (dataset, series) -> columns t, upperbound, alarm, expected,
    stat (NaN = NA)."""
    raw: dict[str, dict[tuple[str, str], list[tuple[float, ...]]]] = {}

    def num(cell: str) -> float:
        return float(cell) if cell else math.nan

    with open_text(find_oracle_file(oracle_dir, "results.csv")) as fh:
        for row in csv.DictReader(fh):
            raw.setdefault(row["algorithm"], {}).setdefault(
                (row["dataset"], row["series"]), []).append(
                (int(row["t"]), num(row["upperbound"]), num(row["alarm"]),
                 num(row["expected"]), num(row["stat"])))
    out: dict[str, dict[tuple[str, str], dict[str, np.ndarray]]] = {}
    for alg, by_series in raw.items():
        out[alg] = {}
        for key, rows in by_series.items():
            rows.sort()
            arr = np.array(rows, dtype=float)
            out[alg][key] = {"t": arr[:, 0].astype(int), "upperbound": arr[:, 1],
                             "alarm": arr[:, 2], "expected": arr[:, 3], "stat": arr[:, 4]}
    return out


@lru_cache(maxsize=2)
def oracle_series(oracle_dir: Path) -> dict[tuple[str, str], OracleSeries]:
    """The oracle's ``series.csv`` (read once per directory)."""
    return read_series(find_oracle_file(oracle_dir, "series.csv"))


def compare_algorithm(algorithm_id: str, oracle_dir: Path = DEFAULT_ORACLE_DIR,
                      rel: float = REL_TOL, abs_floor: float = ABS_FLOOR) -> list[SeriesAgreement]:
    """Agreement with R for every oracle run of ``algorithm_id`` that has results."""
    oracle_dir = Path(oracle_dir)
    reference = oracle_results(oracle_dir).get(algorithm_id, {})
    series = oracle_series(oracle_dir)
    detect = registry.detector(algorithm_id)
    out = []
    for run in read_runs(find_oracle_file(oracle_dir, "runs.csv"), algorithm_id):
        key = (run.dataset, run.series)
        if key not in reference:
            continue  # R failed or skipped: nothing to compare
        ref = reference[key]
        det = detect(series[key].series, run.start, run.end, run.params)
        if not np.array_equal(det.t, ref["t"]):
            raise AssertionError(f"{algorithm_id} {key}: monitored points differ from R's")
        r_alarm = np.nan_to_num(ref["alarm"], nan=0.0) > 0
        alarm_agree = int(np.sum(det.alarm == r_alarm))
        ours, theirs = det.upperbound, ref["upperbound"]
        both_na = np.isnan(ours) & np.isnan(theirs)
        with np.errstate(invalid="ignore"):
            err = np.abs(ours - theirs)
            ok = (err <= rel * np.abs(theirs) + abs_floor) | both_na
            relerr = np.where(both_na, 0.0, err / np.maximum(np.abs(theirs), abs_floor))
        relerr = np.where(np.isnan(relerr), np.inf, relerr)
        worst = int(np.argmax(relerr)) if relerr.size else None
        out.append(SeriesAgreement(algorithm_id, run.dataset, run.series, int(det.t.size),
                                   alarm_agree, int(ok.sum()),
                                   float(relerr.max()) if relerr.size else 0.0,
                                   int(det.t[worst]) if worst is not None else None))
    return out
