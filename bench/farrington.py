"""Benchmark of the Farrington family (``python bench/farrington.py``).

Prints microseconds per series-week for ``algo.farrington`` and the four ``farringtonFlexible``
configurations of the oracle, on R-like synthetic weekly data (default 50 series x 522 weeks, the
last 52 monitored: R's benchmark layout) beside R's ``surveillance`` timed on the first
``--r-series`` of the same series in the same run when Rscript is installed (else the quoted ~14 ms
per series-week for farringtonFlexible and ~7 ms for algo.farrington, said so); for the weekly run
(many series, only the last week); and, with ``--oracle DIR``, on the oracle's series. All through
``detect_batch`` (one call per setting).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np

if __package__ in (None, ""):  # run as a script: import from the repository, not from bench/
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bench.r_timing import quoted_us, r_timings, r_version  # noqa: E402
from detectors.algorithms import farrington, farrington_flexible  # noqa: E402
from detectors.algorithms.base import Series  # noqa: E402

CONFIGS: dict[str, tuple[Callable, dict]] = {
    "farrington": (farrington.detect_batch, {}),
    "ff_default": (farrington_flexible.detect_batch, {}),
    "ff_farrington": (farrington_flexible.detect_batch, {"weightsThreshold": 1}),
    "ff_noufaily": (farrington_flexible.detect_batch, {
        "noPeriods": 10, "pastWeeksNotIncluded": 26, "pThresholdTrend": 1,
        "thresholdMethod": "nbPlugin"}),
    "ff_noufaily_muan": (farrington_flexible.detect_batch, {
        "noPeriods": 10, "pastWeeksNotIncluded": 26, "pThresholdTrend": 1,
        "thresholdMethod": "muan"}),
}


def synthetic_series(n_series: int, n_weeks: int, seed: int = 1) -> list[Series]:
    """Seasonal negative-binomial weekly counts (baseline 1..60 cases, a mild trend, outbreaks)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_weeks)
    out = []
    for _ in range(n_series):
        base = rng.uniform(0.0, 4.0)
        mu = np.exp(base + 0.6 * np.sin(2 * np.pi * t / 52 + rng.uniform(0, 6)) + 0.0005 * t)
        size = rng.uniform(2, 20)
        y = rng.negative_binomial(size, size / (size + mu)).astype(float)
        for s in rng.integers(0, n_weeks - 4, size=3):  # a few outbreaks
            y[s:s + 3] += rng.poisson(3 * mu[s:s + 3].mean() + 5)
        out.append(Series(y, freq=52, start_year=2000, start_epoch=1))
    return out


def run(items: list[tuple[Series, int, int]], repeat: int = 1) -> dict[str, tuple[float, float]]:
    """Best (CPU, wall) microseconds per series-week of each configuration.

    CPU time (``time.process_time``) is the robust figure on a shared machine; wall time is
    printed too.
    """
    weeks = sum(e - s + 1 for _, s, e in items)
    res = {}
    for name, (fn, params) in CONFIGS.items():
        best_cpu = best_wall = np.inf
        for _ in range(repeat):
            farrington_flexible._FITS.clear()  # every repeat fits cold: the fit cache would serve the earlier repeat's fits
            c0, t0 = time.process_time(), time.perf_counter()
            fn(items, params)
            best_cpu = min(best_cpu, time.process_time() - c0)
            best_wall = min(best_wall, time.perf_counter() - t0)
        res[name] = (best_cpu / weeks * 1e6, best_wall / weeks * 1e6)
    return res


def oracle_items(directory: str) -> list[tuple[Series, int, int]]:
    """The oracle's series and ranges of ff_default with b = 5 (one params set for the batch)."""
    from detectors.evaluation.oracle_io import read_runs, read_series

    d = Path(directory)
    series_path = d / "series.csv" if (d / "series.csv").exists() else d / "series.csv.gz"
    series = read_series(series_path)
    return [(series[(r.dataset, r.series)].series, r.start, r.end)
            for r in read_runs(d / "runs.csv", "ff_default") if int(r.params.get("b", 5)) == 5]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--series", type=int, default=50)
    ap.add_argument("--weeks", type=int, default=522)
    ap.add_argument("--monitored", type=int, default=52)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--r-series", type=int, default=10,
                    help="series also timed in R (Rscript + surveillance) in the same run; 0: never run R")
    ap.add_argument("--oracle", default=None, help="oracle directory (series.csv, runs.csv)")
    ap.add_argument("--last-week-series", type=int, default=1000,
                    help="also time the weekly run: this many series, only the last week")
    a = ap.parse_args()
    items = [(s, a.weeks - a.monitored + 1, a.weeks) for s in synthetic_series(a.series, a.weeks)]
    print(f"synthetic: {a.series} series x {a.weeks} weeks, last {a.monitored} monitored")
    ours = run(items, a.repeat)
    y = np.array([s.observed for s, _, _ in items[:a.r_series]])
    r = r_timings({name: (y, a.weeks - a.monitored + 1, a.weeks, {}) for name in CONFIGS}) if a.r_series else None
    print(f"R: measured in this run ({r_version()}, first {a.r_series} series, one call each, CPU)" if r else
          "R: QUOTED, not measured (no Rscript/surveillance, or --r-series 0): ../shared/oracle/README.md")
    for name, (cpu, wall) in ours.items():
        ref = quoted_us(name) if r is None else r[name]["us"]
        print(f"  {name:18s} {cpu:8.1f} us CPU ({wall:8.1f} us wall) per series-week;"
              f"  R {ref:8.0f} us ({'quoted' if r is None else 'measured'}): {ref / cpu:6.0f}x less than R")
    if a.last_week_series:
        items = [(s, a.weeks, a.weeks) for s in synthetic_series(a.last_week_series, a.weeks, 2)]
        print(f"weekly run: {a.last_week_series} series x {a.weeks} weeks, only the last week")
        for name, (cpu, wall) in run(items, 1).items():
            print(f"  {name:18s} {cpu:8.1f} us CPU ({wall:8.1f} us wall) per series-week")
    if a.oracle:
        items = oracle_items(a.oracle)
        print(f"oracle series with b=5: {len(items)} series, {sum(e - s + 1 for _, s, e in items)} weeks")
        for name, (cpu, wall) in run(items, 1).items():
            print(f"  {name:18s} {cpu:8.1f} us CPU ({wall:8.1f} us wall) per series-week")


if __name__ == "__main__":
    main()
