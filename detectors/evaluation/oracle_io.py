"""Read and write the CSV formats of the R reference oracle, and run a detector over them.

* series CSV: ``dataset, series, t, year, epoch_in_year, date, freq, observed, population``
  (one row per time point, ``t`` 1-based; ``date`` empty for undated series);
* runs CSV: ``dataset, series, [algorithm,] params (JSON), range_start, range_end`` (other columns
  ignored; rows of another algorithm or without a range are skipped);
* results CSV: ``dataset, series, algorithm, t, year, epoch, date, observed, upperbound, alarm,
  expected, stat, pvalue, phi, trend`` (empty cell = NA; numbers with 12 significant digits).

Files ending in ``.gz`` are read and written compressed. ``run_detect`` is the core of
``sebac detect --algorithm ID --series SERIES.csv [--runs RUNS.csv] --out RESULTS.csv``; without a
runs file each series gets the algorithm's default parameters and the oracle's range rule
(:func:`detectors.algorithms.registry.plan_range`).
"""
from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

import numpy as np

from detectors.algorithms import registry
from detectors.algorithms.base import Detection, Series

__all__ = ["OracleSeries", "Run", "RESULT_COLUMNS", "open_text", "read_series", "read_runs",
           "write_results", "result_rows", "run_detect", "main"]

RESULT_COLUMNS = ["dataset", "series", "algorithm", "t", "year", "epoch", "date", "observed",
                  "upperbound", "alarm", "expected", "stat", "pvalue", "phi", "trend"]
SERIES_COLUMNS = ["dataset", "series", "t", "year", "epoch_in_year", "date", "freq", "observed",
                  "population"]


@dataclass(frozen=True)
class OracleSeries:
    """One series of a series CSV with the calendar columns needed to write results."""

    dataset: str
    name: str
    series: Series
    year: np.ndarray
    epoch: np.ndarray
    date: list[str]

    @property
    def dated(self) -> bool:
        return self.series.dates is not None


@dataclass(frozen=True)
class Run:
    dataset: str
    series: str
    params: dict[str, Any]
    start: int
    end: int


def open_text(path: str | Path, mode: str = "r"):
    """A CSV text file for reading (``"r"``) or writing (``"w"``), gzip-compressed when it ends in ``.gz``."""
    path = Path(path)
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, mode + "b"), encoding="utf-8", newline="")
    return open(path, mode, encoding="utf-8", newline="")


def _num(cell: str) -> float:
    return float(cell) if cell not in ("", "NA") else math.nan


def read_series(path: str | Path) -> dict[tuple[str, str], OracleSeries]:
    """All series of a series CSV keyed by ``(dataset, series)``, in file order."""
    groups: dict[tuple[str, str], list[dict[str, str]]] = {}
    with open_text(path) as fh:
        reader = csv.DictReader(fh)
        missing = set(SERIES_COLUMNS) - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{path}: missing columns {sorted(missing)}")
        for row in reader:
            groups.setdefault((row["dataset"], row["series"]), []).append(row)
    out: dict[tuple[str, str], OracleSeries] = {}
    for key, rows in groups.items():
        rows.sort(key=lambda r: int(r["t"]))
        if [int(r["t"]) for r in rows] != list(range(1, len(rows) + 1)):
            raise ValueError(f"{path}: series {key} does not have t = 1..n")
        dates = [r["date"] for r in rows]
        dated = all(dates)
        pop = np.array([_num(r["population"]) for r in rows])
        series = Series(
            observed=np.array([_num(r["observed"]) for r in rows]),
            freq=int(rows[0]["freq"]),
            start_year=int(rows[0]["year"]),
            start_epoch=int(rows[0]["epoch_in_year"]),
            dates=np.array(dates, dtype="datetime64[D]") if dated else None,
            population=None if np.isnan(pop).all() else pop,
        )
        out[key] = OracleSeries(key[0], key[1], series,
                                np.array([int(r["year"]) for r in rows]),
                                np.array([int(r["epoch_in_year"]) for r in rows]),
                                dates if dated else [""] * len(rows))
    return out


def read_runs(path: str | Path, algorithm: str | None = None) -> list[Run]:
    """Runs of a runs CSV (only those of ``algorithm`` when the file has an algorithm column)."""
    runs = []
    with open_text(path) as fh:
        for row in csv.DictReader(fh):
            if algorithm is not None and row.get("algorithm", algorithm) != algorithm:
                continue
            if not row.get("range_start") or not row.get("range_end"):
                continue
            params = json.loads(row["params"]) if row.get("params") else {}
            runs.append(Run(row["dataset"], row["series"], params, int(row["range_start"]),
                            int(row["range_end"])))
    return runs


def _fmt(value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{float(value) + 0.0:.12g}"   # + 0.0: no "-0"


def result_rows(algorithm: str, s: OracleSeries, det: Detection) -> Iterator[list[str]]:
    """Rows of the results CSV for one detection."""
    # Detection.__post_init__ fills the columns an algorithm does not report with NaN
    assert det.expected is not None and det.stat is not None and det.pvalue is not None
    assert det.phi is not None and det.trend is not None
    for i, t in enumerate(det.t):
        j = int(t) - 1
        trend = det.trend[i]
        yield [s.dataset, s.name, algorithm, str(int(t)), str(int(s.year[j])), str(int(s.epoch[j])),
               s.date[j], _fmt(det.observed[i]), _fmt(det.upperbound[i]),
               "1" if det.alarm[i] else "0", _fmt(det.expected[i]), _fmt(det.stat[i]),
               _fmt(det.pvalue[i]), _fmt(det.phi[i]), "" if math.isnan(trend) else str(int(trend))]


def write_results(path: str | Path, rows: Iterable[list[str]]) -> int:
    """Write result rows (with header); returns the number of rows written."""
    count = 0
    with open_text(path, "w") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(RESULT_COLUMNS)
        for row in rows:
            writer.writerow(row)
            count += 1
    return count


def run_detect(
    algorithm_id: str,
    series_csv: str | Path,
    runs_csv: str | Path | None,
    out_csv: str | Path,
) -> int:
    """Run one algorithm over every series (or every run) and write a results CSV.

    Returns the number of result rows. Without ``runs_csv`` each series is monitored with the
    algorithm's defaults on the oracle's range (series with too little history are skipped).
    """
    detect = registry.detector(algorithm_id)
    all_series = read_series(series_csv)
    plans: list[tuple[OracleSeries, int, int, Mapping[str, Any]]] = []
    if runs_csv is not None:
        for run in read_runs(runs_csv, algorithm_id):
            key = (run.dataset, run.series)
            if key not in all_series:
                raise ValueError(f"run for unknown series {key}")
            plans.append((all_series[key], run.start, run.end, run.params))
    else:
        for s in all_series.values():
            plan = registry.plan_range(algorithm_id, s.series.n, s.series.freq, s.dated)
            if plan is not None:
                plans.append((s, *plan))

    def rows() -> Iterator[list[str]]:
        for s, start, end, params in plans:
            yield from result_rows(algorithm_id, s, detect(s.series, start, end, params))

    return write_results(out_csv, rows())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m detectors.evaluation.oracle_io",
                                     description="Run a detector over an oracle-format series CSV.")
    parser.add_argument("--algorithm", required=True, choices=registry.algorithm_ids())
    parser.add_argument("--series", required=True)
    parser.add_argument("--runs")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    n = run_detect(args.algorithm, args.series, args.runs, args.out)
    print(f"{args.algorithm}: wrote {n} rows to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
