"""Agreement of every registered detector with the R oracle, as a Markdown table.

Usage::

    .venv/bin/python bench/conformance_table.py [--oracle DIR] [ALGORITHM ...]

For each algorithm: number of series and monitored points compared, share of points whose alarm
equals R's, share whose upperbound is within 1e-6 relative of R's (NaN where R has NA), and the
largest relative upperbound error (relative to max(|R|, 1e-9)). Unavailable algorithms are listed
as such.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from detectors.algorithms import registry  # noqa: E402
from detectors.evaluation.conformance import DEFAULT_ORACLE_DIR, compare_algorithm  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("algorithms", nargs="*", default=registry.algorithm_ids())
    ap.add_argument("--oracle", type=Path, default=DEFAULT_ORACLE_DIR)
    args = ap.parse_args(argv)
    print("| algorithm | series | points | alarm agreement % | upperbound within 1e-6 % "
          "| max rel err | seconds |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for alg in args.algorithms:
        t0 = time.perf_counter()
        try:
            res = compare_algorithm(alg, args.oracle)
        except registry.AlgorithmUnavailable as exc:
            print(f"| {alg} | – | – | – | – | – | unavailable: {exc} |")
            continue
        dt = time.perf_counter() - t0
        pts = sum(r.points for r in res)
        alarm = 100 * sum(r.alarm_agree for r in res) / pts if pts else float("nan")
        upper = 100 * sum(r.upper_agree for r in res) / pts if pts else float("nan")
        worst = max((r.max_rel_err for r in res), default=float("nan"))
        print(f"| {alg} | {len(res)} | {pts:,} | {alarm:.2f} | {upper:.2f} | {worst:.2g} "
              f"| {dt:.1f} |")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
