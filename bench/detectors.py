"""Speed of the vectorised detectors: microseconds per series-week and "all of Mali".

Usage::

    .venv/bin/python bench/detectors.py                 # default figures (a few minutes)
    .venv/bin/python bench/detectors.py --quick         # smaller sizes, for a smoke run
    .venv/bin/python bench/detectors.py --series 2000 --mali-series 30000

Synthetic data: weekly Poisson counts with a yearly cycle and a mean drawn per series (0.3 to
30 cases a week, as districts x diseases are), ``history`` weeks of baseline followed by the
``monitored`` weeks evaluated. Every algorithm runs through its batch function
(``registry.batch_detector``): all series at once, numpy over the series axis.

Table 1 (speed): ``--series`` series x (5 years + 52 weeks), the last 52 weeks monitored;
figure = wall time / (series x monitored weeks). Table 2 ("all of Mali"): 1,500 areas x 20
diseases = 30,000 series, 52 weeks monitored on 5 years of history; slow algorithms run on
``--mali-cap`` series and are extrapolated linearly (marked). Prints Markdown.

R in the same run: when Rscript and the ``surveillance`` package are installed (Debian
``r-cran-surveillance``), the first ``--r-series`` series of table 1 go through R's function for each
algorithm (``bench/r_surveillance.R``, one call per series as the oracle does) and table 1 gets R's
CPU µs per series-week and the ratio. Without R the column holds the constants quoted in
``../shared/oracle/README.md`` and says "quoted".
"""
from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.r_timing import quoted_us, r_timings, r_version  # noqa: E402
from detectors.algorithms import registry  # noqa: E402
from detectors.algorithms.base import Series  # noqa: E402

FAST = ["earsC_C1", "earsC_C2", "earsC_C3", "cusum", "cusum_glm_rossi", "bayes", "rki",
        "glrpois"]
SLOW = ["glrnb", "ff_default", "ff_noufaily", "farrington"]


def synthetic(n_series: int, n_weeks: int, seed: int = 2024) -> np.ndarray:
    rng = np.random.default_rng(seed)
    level = np.exp(rng.uniform(np.log(0.3), np.log(30.0), n_series))[:, None]
    phase = rng.uniform(0, 2 * np.pi, n_series)[:, None]
    t = np.arange(n_weeks)[None, :]
    mu = level * np.exp(0.5 * np.cos(2 * np.pi * t / 52 + phase))
    return rng.poisson(mu).astype(float)


def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    except OSError:
        nproc = str(os.cpu_count())
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "cpu": cpu, "nproc": nproc, "load average (1/5/15 min)": load,
            "python": platform.python_version(), "numpy": np.__version__}


def timed(alg: str, y: np.ndarray, monitored: int, repeat: int = 1):
    """Best ``(wall, cpu)`` seconds over ``repeat`` runs (cpu: this process, all threads)."""
    fn = registry.batch_detector(alg)
    if fn is None:
        return None
    n = y.shape[1]
    best = (float("inf"), float("inf"))
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        fn(y, n - monitored + 1, n, freq=52, start_epoch=1)
        best = min(best, (time.perf_counter() - w0, time.process_time() - c0), key=lambda x: x[1])
    return best


def single_point_ms(y: np.ndarray, algorithms=("earsC_C1", "cusum", "ff_default")) -> dict[str, float]:
    """Median CPU milliseconds of one ``detect`` call for the last point of one series (what a
    per-series loop pays each time, against the batch functions' microseconds)."""
    n = y.shape[1]
    out = {}
    for alg in algorithms:
        fn, times = registry.detector(alg), []
        for row in y:
            c0 = time.process_time()
            fn(Series(observed=row, freq=52), n, n, {})
            times.append(time.process_time() - c0)
        out[alg] = float(np.median(times)) * 1000
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--series", type=int, default=2000)
    ap.add_argument("--slow-series", type=int, default=200, help="series for glrnb/Farrington")
    ap.add_argument("--mali-series", type=int, default=30000)
    ap.add_argument("--mali-cap", type=int, default=3000,
                    help="slow algorithms run on this many Mali series, then extrapolate")
    ap.add_argument("--history", type=int, default=260)
    ap.add_argument("--monitored", type=int, default=52)
    ap.add_argument("--algorithms", nargs="*", default=FAST + SLOW)
    ap.add_argument("--r-series", type=int, default=20,
                    help="series of table 1 also timed in R when Rscript is there (0: never run R)")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    if args.quick:
        args.series, args.slow_series, args.mali_series, args.mali_cap = 300, 30, 3000, 300
    n_weeks = args.history + args.monitored

    print("## Detector speed (vectorised batch functions)\n")
    for k, v in machine().items():
        print(f"- {k}: `{v}`" if k == "command" else f"- {k}: {v}")
    print(f"- data: synthetic weekly Poisson counts, {args.history} weeks of history + "
          f"{args.monitored} monitored weeks per series\n")

    print("CPU time is this process's (all threads); on a shared machine it is the stable figure, "
          "wall time grows with the load.\n")
    rows, r_jobs = [], {}
    for alg in args.algorithms:
        S = args.slow_series if alg in SLOW else args.series
        y = synthetic(S, n_weeks)
        res = timed(alg, y, args.monitored, repeat=1 if alg in SLOW else 3)
        rows.append((alg, S, res))
        r_jobs[alg] = (y[:args.r_series], n_weeks - args.monitored + 1, n_weeks, {})
    r = r_timings(r_jobs) if args.r_series > 0 else None
    if r is None:
        print("R: **quoted, not measured** (Rscript or the surveillance package is absent, or --r-series 0): "
              "the R column holds the constants of ../shared/oracle/README.md.\n")
    else:
        print(f"R: **measured in this run**, {r_version()}, on the first {args.r_series} series of each row "
              "(`bench/r_surveillance.R`, one call per series, CPU time; the Farrington family from its first "
              "admissible week, b years + w weeks in).\n")
    kind = "quoted" if r is None else "measured"
    print(f"| algorithm | series | series-weeks | CPU s | wall s | µs per series-week (CPU) "
          f"| R µs per series-week (CPU, {kind}) | faster than R |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for alg, S, res in rows:
        if res is None:
            print(f"| {alg} | – | – | – | – | not available | – | – |")
            continue
        wall, cpu = res
        sw = S * args.monitored
        ours = cpu / sw * 1e6
        ref = quoted_us(alg) if r is None else r[alg]["us"]
        failed = f" ({r[alg]['failed']} series failed in R)" if r is not None and r[alg]["failed"] else ""
        ratio = f"{ref / ours:,.0f}×" if ref and ours > 0 and ref == ref else "–"
        print(f"| {alg} | {S:,} | {sw:,} | {cpu:.3f} | {wall:.3f} | {ours:.2f} | "
              f"{f'{ref:,.0f}' if ref and ref == ref else '–'}{failed} | {ratio} |")
    single = single_point_ms(synthetic(50, n_weeks, seed=3))
    print("\nOne call of the single-series `detect` for one point (the last week) of one series, median of 50 "
          "series, CPU ms: " + ", ".join(f"{alg} {ms:.2f}" for alg, ms in single.items()))
    sys.stdout.flush()

    S = args.mali_series
    print(f"\n### All of Mali: {S:,} series (1,500 areas × 20 diseases), {args.monitored} weeks "
          f"monitored on {args.history // 52} years of history\n")
    print("| algorithm | series run | CPU s | wall s | CPU s for all series | under 10 s (CPU) |")
    print("|---|---:|---:|---:|---:|:---:|")
    y_all = synthetic(S, n_weeks, seed=7)
    for alg in args.algorithms:
        run = min(S, args.mali_cap) if alg in SLOW else S
        res = timed(alg, y_all[:run], args.monitored)
        if res is None:
            print(f"| {alg} | – | – | – | not available | – |")
            continue
        wall, cpu = res
        total = cpu * S / run
        mark = "" if run == S else " (extrapolated)"
        print(f"| {alg} | {run:,} | {cpu:.2f} | {wall:.2f} | {total:.1f}{mark} | "
              f"{'yes' if total < 10 else 'no'} |")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
