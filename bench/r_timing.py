"""R's ``surveillance`` timed on the same series in the same run (``bench/r_surveillance.R`` via Rscript).

:func:`r_timings` hands the series and the oracle's control of each algorithm (the registry's defaults,
which are R's control lists) to Rscript and returns R's CPU microseconds per series-week. When Rscript
or the package is absent it returns ``None`` and the callers fall back to the constants quoted in
``../shared/oracle/README.md`` (:data:`QUOTED_R_US`), saying so.
"""
from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from detectors.algorithms import registry

SCRIPT = Path(__file__).with_name("r_surveillance.R")
# quoted, not measured: ../shared/oracle/README.md (R 4.2.2, surveillance 1.20.3, 50 series x 522 weeks)
QUOTED_R_US = {"farringtonFlexible": 14_000.0, "algo.farrington": 7_000.0, "algo.glrnb": 700.0,
               "earsC": 75.0, "algo.cusum": 75.0, "algo.bayes": 75.0, "algo.rki": 75.0}  # 50–100 µs quoted: the midpoint


def r_version() -> str | None:
    """``"R 4.2.2, surveillance 1.20.3"``, or None when Rscript or the package is missing."""
    if shutil.which("Rscript") is None:
        return None
    r = subprocess.run(["Rscript", "-e", 'suppressMessages(library(surveillance)); cat(R.version$major, '
                        'R.version$minor, as.character(packageVersion("surveillance")))'],
                       capture_output=True, text=True)
    if r.returncode != 0:
        return None
    major, minor, surv = r.stdout.split()
    return f"R {major}.{minor}, surveillance {surv}"


def r_timings(jobs: dict[str, tuple[np.ndarray, int, int, dict]], freq: int = 52) -> dict[str, dict] | None:
    """``jobs``: id → (counts (S, n), start, end (1-based, inclusive), params over the algorithm's
    defaults); the id is an algorithm id of the registry or ``"<algorithm id>:<label>"``.
    Returns id → ``{"us": CPU µs per series-week, "wall_us": ..., "series": ok, "failed": n}``."""
    if r_version() is None:
        return None
    payload = []
    for key, (y, start, end, params) in jobs.items():
        spec = registry.get(key.split(":")[0])
        control = spec.defaults | params
        y = np.asarray(y, dtype=float)
        # R stops on a point before the algorithm's first admissible one (b years + w weeks for the
        # Farrington family): start there, as the oracle does
        start = max(int(start), spec.start_rule(y.shape[1], freq, control, False))
        payload.append({"id": key, "fun": spec.r_function, "control": control, "start": start,
                        "end": int(end), "series": y.tolist()})
    with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
        json.dump({"freq": freq, "jobs": payload}, f)
        f.flush()
        r = subprocess.run(["Rscript", str(SCRIPT), f.name], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"Rscript {SCRIPT.name} failed: {r.stderr[-2000:]}")
    out = {}
    for row in csv.DictReader(io.StringIO(r.stdout)):
        weeks = int(row["series_weeks"])
        out[row["id"]] = {"us": float(row["cpu_s"]) / weeks * 1e6 if weeks else float("nan"),
                          "wall_us": float(row["wall_s"]) / weeks * 1e6 if weeks else float("nan"),
                          "series": int(row["series"]), "failed": int(row["failed"])}
    return out


def quoted_us(algorithm_id: str) -> float | None:
    """The quoted R figure (µs per series-week) for an algorithm, or None (glrpois: none quoted)."""
    return QUOTED_R_US.get(registry.get(algorithm_id).r_function)
