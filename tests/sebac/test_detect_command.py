"""``sebac detect``: the command-line contract against the R oracle's own files."""
from __future__ import annotations

import csv
import gzip
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sebac.cli import app

ORACLE = Path(__file__).parents[1] / "detectors" / "oracle"


def _rows(path: Path, algorithm: str) -> dict[tuple[str, str, int], dict[str, str]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", newline="") as fh:
        return {(r["dataset"], r["series"], int(r["t"])): r for r in csv.DictReader(fh) if r["algorithm"] == algorithm}


@pytest.mark.parametrize("algorithm", ["earsC_C3", "cusum", "rki"])
def test_detect_with_runs_reproduces_the_oracle(tmp_path, algorithm):
    out = tmp_path / "results.csv"
    res = CliRunner().invoke(app, ["detect", "--algorithm", algorithm, "--series", str(ORACLE / "series.csv.gz"),
                                   "--runs", str(ORACLE / "runs.csv"), "--out", str(out)])
    assert res.exit_code == 0, res.output
    ours, r = _rows(out, algorithm), _rows(ORACLE / "results.csv.gz", algorithm)
    assert ours.keys() == r.keys() and len(r) > 8000
    same = sum(ours[k]["alarm"] == (r[k]["alarm"] or "0") for k in r)
    assert same == len(r)
    assert list(csv.DictReader(open(out)).fieldnames) == ["dataset", "series", "algorithm", "t", "year", "epoch",
                                                          "date", "observed", "upperbound", "alarm", "expected",
                                                          "stat", "pvalue", "phi", "trend"]


def test_unknown_algorithm_is_a_usage_error(tmp_path):
    res = CliRunner().invoke(app, ["detect", "--algorithm", "nope", "--series", str(ORACLE / "series.csv.gz"),
                                   "--out", str(tmp_path / "x.csv")])
    assert res.exit_code == 2 and "unknown algorithm" in res.output
