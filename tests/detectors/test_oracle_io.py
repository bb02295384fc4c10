"""Oracle CSV formats: reading series/runs, writing results, run_detect end to end."""
from __future__ import annotations

import csv
import gzip

import numpy as np
import pytest

from detectors.evaluation import oracle_io
from tests.detectors._oracle import require_oracle


def _rows(path):
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", newline="") as fh:
        return list(csv.DictReader(fh))


def test_read_series():
    series = oracle_io.read_series(require_oracle() / "series.csv.gz")
    assert len(series) == 91
    s = series[("salmonella.agona", "observed1")]
    assert s.series.n == 312 and s.series.freq == 52 and s.series.start_year == 1990
    assert s.series.observed[:2].tolist() == [1.0, 0.0] and not s.dated
    dated = series[("campyDE", "case")]
    assert dated.dated and str(dated.series.dates[0]) == "2001-12-31"
    assert dated.series.population is not None


def test_read_runs_filters_algorithm_and_skipped():
    runs = oracle_io.read_runs(require_oracle() / "runs.csv", "farrington")
    assert len(runs) == 90                     # one run skipped (daily data)
    assert all(r.start <= r.end for r in runs)
    assert runs[0].params["fitFun"] == "algo.farrington.fitGLM.fast"


def test_series_csv_with_missing_columns_is_rejected(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("dataset,series,t,observed\nx,y,1,3\n")
    with pytest.raises(ValueError, match="missing columns"):
        oracle_io.read_series(path)


@pytest.mark.parametrize("algorithm", ["cusum", "glrpois"])
def test_run_detect_with_runs_reproduces_r_rows(tmp_path, algorithm):
    oracle = require_oracle()
    out = tmp_path / "results.csv"
    n = oracle_io.run_detect(algorithm, oracle / "series.csv.gz", oracle / "runs.csv", out)
    ours = _rows(out)
    theirs = [r for r in _rows(oracle / "results.csv.gz") if r["algorithm"] == algorithm]
    assert n == len(ours) == len(theirs)
    key = lambda r: (r["dataset"], r["series"], int(r["t"]))   # noqa: E731
    ours.sort(key=key)
    theirs.sort(key=key)
    for a, b in zip(ours, theirs):
        for col in ("dataset", "series", "algorithm", "t", "year", "epoch", "date", "observed",
                    "upperbound"):
            assert a[col] == b[col], (col, a, b)
        assert a["alarm"] == (b["alarm"] or "0")
    assert list(_rows(out)[0]) == oracle_io.RESULT_COLUMNS


def test_run_detect_without_runs_uses_defaults_and_oracle_ranges(tmp_path):
    oracle = require_oracle()
    out = tmp_path / "bayes.csv.gz"
    oracle_io.run_detect("bayes", oracle / "series.csv.gz", None, out)
    ours = _rows(out)
    theirs = [r for r in _rows(oracle / "results.csv.gz") if r["algorithm"] == "bayes"]
    assert sorted((r["dataset"], r["series"], r["t"], r["upperbound"], r["alarm"]) for r in ours) \
        == sorted((r["dataset"], r["series"], r["t"], r["upperbound"], r["alarm"]) for r in theirs)


def test_cli_entry(tmp_path, capsys):
    oracle = require_oracle()
    out = tmp_path / "r.csv"
    assert oracle_io.main(["--algorithm", "earsC_C1", "--series", str(oracle / "series.csv.gz"),
                           "--out", str(out)]) == 0
    assert "earsC_C1: wrote 9408 rows" in capsys.readouterr().out


def test_number_format_and_na():
    assert oracle_io._fmt(1.6153136941123) == "1.61531369411"
    assert oracle_io._fmt(33.0) == "33" and oracle_io._fmt(float("nan")) == ""
    assert oracle_io._fmt(np.float64(2.5e-7)) == "2.5e-07"
