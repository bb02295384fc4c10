"""``sebac detect``: run one statistical detector over series in the R oracle's CSV format.

This is how anyone checks the engine against R ``surveillance`` on their own data::

    sebac detect --algorithm ff_noufaily --series series.csv [--runs runs.csv] --out results.csv
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def detect(
        algorithm: str = typer.Option(..., "--algorithm", "-a", help="oracle algorithm id, e.g. earsC_C1, ff_noufaily, cusum"),
        series: Path = typer.Option(..., "--series", exists=True, dir_okay=False,
                                    help="CSV (or .csv.gz) with the oracle's series.csv columns"),
        runs: Optional[Path] = typer.Option(None, "--runs", exists=True, dir_okay=False,
                                            help="per (dataset, series): params JSON, range_start, range_end"),
        out: Path = typer.Option(..., "--out", dir_okay=False, help="results CSV (oracle results.csv columns)"),
    ) -> None:
        """Run a detector over SERIES.csv and write RESULTS.csv (columns of the R oracle's results.csv)."""
        from detectors.algorithms import registry
        from detectors.evaluation.oracle_io import run_detect

        if algorithm not in registry.algorithm_ids():
            raise typer.BadParameter(f"unknown algorithm {algorithm!r}; choose one of "
                                     + ", ".join(registry.algorithm_ids()), param_hint="--algorithm")
        try:
            rows = run_detect(algorithm, series, runs, out)
        except ValueError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from exc
        typer.echo(f"{rows} result rows written to {out}")
