"""``sebac evaluate-week``: the national weekly batch of the statistical detectors.

Loads the weekly count matrix of every (health area, disease) and (district, disease) configured,
runs each detector in one vectorised call (:mod:`detectors.national`) and hands the signals to the
alerts stage (``AlertService.on_signal``, same dedup keys as the per-report path: a cell evaluated
both ways merges into one alert; a re-run on unchanged counts changes nothing).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterable, Optional

import typer


@dataclass
class WeekSummary:
    week: str
    detectors: int
    cells: int
    points: int
    signals: int
    alerts_before: int
    alerts_after: int
    seconds: float


def evaluate_week(pipeline, *, week: str | None = None, levels: Iterable[str] | None = None, weeks: int = 1,
                  workers: int = 1, now: dt.datetime | None = None) -> WeekSummary:
    """Run the national batch inside one transaction and apply its signals (the scheduler's hook)."""
    import time

    from detectors.epiweek import EpiWeek
    from detectors.national import last_closed_week

    now = now or pipeline.clock.now()
    last = EpiWeek.parse(week) if week else last_closed_week(now, pipeline.start_day)
    t0 = time.perf_counter()
    with pipeline.db.begin() as conn:
        before = pipeline.alerts.count(conn)
        signals, stats = pipeline.detection.evaluate_week(conn, now, week=last, levels=levels, n_eval=weeks,
                                                          workers=workers)
        for s in signals:
            pipeline.alerting.on_signal(conn, s, now)
        after = pipeline.alerts.count(conn)
    return WeekSummary(str(last), stats["detectors"], stats["cells"], stats["points"], stats["signals"],
                       before, after, time.perf_counter() - t0)


def register(app: typer.Typer) -> None:
    @app.command("evaluate-week")
    def evaluate_week_cmd(
        week: Optional[str] = typer.Option(None, "--week", help="epi week to evaluate, e.g. 2026-W47 "
                                           "(default: the last closed week)"),
        level: list[str] = typer.Option([], "--level", help="health_area and/or district (default: both)"),
        weeks: int = typer.Option(1, "--weeks", min=1, max=104, help="evaluate this many weeks ending at --week"),
        workers: int = typer.Option(1, "--workers", min=1, max=64, help="processes for the batch"),
    ) -> None:
        """Evaluate every statistical detector on every org unit for an epi week (vectorised) and raise alerts."""
        import logging

        from ingest.epiweek import EpiWeek
        from sebac.engine import build_pipeline
        from sebac.settings import Settings

        if week:
            try:
                EpiWeek.parse(week)
            except (ValueError, TypeError):
                typer.echo(f"error: --week must look like 2026-W47, not {week!r}", err=True)
                raise typer.Exit(2)
        logging.getLogger("sebac.alerts").setLevel(logging.ERROR)
        pipeline = build_pipeline(Settings())
        bad = set(level) - set(pipeline.pyramid.levels)
        if bad:
            typer.echo(f"error: unknown level(s) {', '.join(sorted(bad))}", err=True)
            raise typer.Exit(2)
        s = evaluate_week(pipeline, week=week, levels=level or None, weeks=weeks, workers=workers)
        typer.echo(f"{s.week}: {s.detectors} detectors, {s.cells} series, {s.points} points evaluated, "
                   f"{s.signals} signals, {s.alerts_after - s.alerts_before} new alerts ({s.seconds:.2f} s)")
