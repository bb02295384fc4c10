"""``sebac backtest``: sensitivity, false-positive rate and timeliness of the statistical detectors on
simulated outbreaks (Noufaily et al. 2013 design, see :mod:`detectors.evaluation.backtest`)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer


def _split(text: str | None) -> list[str]:
    return [x.strip() for x in (text or "").split(",") if x.strip()]


def register(app: typer.Typer) -> None:
    @app.command()
    def backtest(
        detectors: Optional[str] = typer.Option(None, help="comma-separated algorithm ids, or 'all' "
                                                "(default: EARS C1-C3, CUSUM, Bayes, RKI, GLR Poisson, Farrington "
                                                "family without glrnb and muan)"),
        scenarios: Optional[str] = typer.Option(None, help="comma-separated scenario names (default: all): "
                                                "rare, low_seasonal, medium_trend, high_2harm"),
        k: str = typer.Option("2,5,10", "--k", help="outbreak sizes, in baseline standard deviations"),
        replicates: int = typer.Option(20, min=1, max=10_000, help="simulated series per scenario and k"),
        years: int = typer.Option(7, min=2, max=30, help="length of each series in years of 52 weeks"),
        eval_weeks: int = typer.Option(49, min=5, help="last weeks monitored (the current period)"),
        seed: int = typer.Option(1, help="random seed (same seed, same series)"),
        params: Optional[str] = typer.Option(None, help='JSON: per-algorithm parameters, e.g. '
                                             '\'{"ff_noufaily": {"alpha": 0.01}}\''),
        out: Path = typer.Option(Path("backtest-out"), help="directory for backtest.md, backtest.csv, backtest.png"),
        plot: bool = typer.Option(True, "--plot/--no-plot", help="write the PNG figure"),
        detail: bool = typer.Option(False, "--detail", help="also print one row per scenario and k"),
        quiet: bool = typer.Option(False, "--quiet"),
    ) -> None:
        """Simulate outbreaks on negative-binomial baselines and score each detector."""
        import time

        from detectors.evaluation import backtest as bt
        from detectors.evaluation.backtest_report import plot as draw, to_csv, to_markdown
        from detectors.evaluation.outbreaks import SCENARIOS
        from detectors.algorithms import registry

        if detectors == "all":
            algs = registry.algorithm_ids()
        else:
            algs = _split(detectors) or list(bt.DEFAULT_DETECTORS)
        names = _split(scenarios) or list(SCENARIOS)
        unknown = [s for s in names if s not in SCENARIOS]
        if unknown:
            typer.echo(f"error: unknown scenario(s) {unknown}; known: {', '.join(SCENARIOS)}", err=True)
            raise typer.Exit(2)
        try:
            ks = [float(x) for x in _split(k)]
            per_alg = json.loads(params) if params else None
        except ValueError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2)
        t0 = time.perf_counter()
        try:
            report = bt.backtest(algs, [SCENARIOS[s] for s in names], ks, replicates, years, eval_weeks, seed,
                                 per_alg, progress=None if quiet else (lambda m: typer.echo(m, err=True)))
        except ValueError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2)
        out.mkdir(parents=True, exist_ok=True)
        table = to_markdown(report, detail=detail)
        (out / "backtest.md").write_text(to_markdown(report, detail=True), encoding="utf-8")
        (out / "backtest.csv").write_text(to_csv(report), encoding="utf-8")
        if plot and report.rows:
            draw(report, out / "backtest.png")
        typer.echo(table)
        typer.echo(f"{len(report.rows)} runs in {time.perf_counter() - t0:.1f} s; results in {out}/")
