"""Location of the R oracle data copied into the project (see oracle/ and detectors.evaluation.conformance)."""
from __future__ import annotations

from pathlib import Path

import pytest

ORACLE_DIR = Path(__file__).resolve().parent / "oracle"
REQUIRED = ["series.csv.gz", "results.csv.gz", "runs.csv", "algorithms.csv", "datasets.csv",
            "rki_CIdata.csv"]


def require_oracle() -> Path:
    """The oracle directory; fails the test loudly (never skips) when a file is missing."""
    missing = [name for name in REQUIRED if not (ORACLE_DIR / name).exists()]
    if missing:
        pytest.fail(f"R oracle data missing in {ORACLE_DIR}: {missing}", pytrace=False)
    return ORACLE_DIR
