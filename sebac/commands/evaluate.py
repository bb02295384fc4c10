"""``sebac evaluate-week``: the national weekly batch of the statistical detectors.

Loads the weekly count matrix of every (health area, disease) and (district, disease) configured,
runs each detector in one vectorised call (:mod:`detectors.national`) and hands the signals to the
alerts stage (``AlertService.on_signal``, same dedup keys as the per-report path: a cell evaluated
both ways merges into one alert; a re-run on unchanged counts changes nothing).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
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
    would_fire: list = field(default_factory=list)  # the signals (what a dry run would raise)


def evaluate_week(pipeline, *, week: str | None = None, levels: Iterable[str] | None = None, weeks: int = 1,
                  workers: int = 1, now: dt.datetime | None = None, apply: bool = True) -> WeekSummary:
    """Run the national batch inside one transaction and apply its signals (the scheduler's hook).
    ``apply=False`` is a dry run: the signals are computed and returned in ``would_fire``, nothing is written."""
    import time

    from detectors.epiweek import EpiWeek
    from detectors.national import last_closed_week

    now = now or pipeline.clock.now()
    last = EpiWeek.parse(week) if week else last_closed_week(now, pipeline.start_day)
    t0 = time.perf_counter()
    with pipeline.db.connect() as conn, conn.begin() as tx:
        before = pipeline.alerts.count(conn)
        signals, stats = pipeline.detection.evaluate_week(conn, now, week=last, levels=levels, n_eval=weeks,
                                                          workers=workers)
        if apply:
            for s in signals:
                pipeline.alerting.on_signal(conn, s, pipeline.alert_clock.now())
            after = pipeline.alerts.count(conn)
        else:
            tx.rollback()  # a dry run leaves the database as it was (re-evaluation marks included)
            after = before
    return WeekSummary(str(last), stats["detectors"], stats["cells"], stats["points"], stats["signals"],
                       before, after, time.perf_counter() - t0, list(signals))


def register(app: typer.Typer) -> None:
    @app.command("evaluate-week")
    def evaluate_week_cmd(
        week: Optional[str] = typer.Option(None, "--week", help="epi week to evaluate, e.g. 2026-W47 "
                                           "(default: the last closed week)"),
        level: list[str] = typer.Option([], "--level", help="health_area and/or district (default: both)"),
        weeks: int = typer.Option(1, "--weeks", min=1, max=104, help="evaluate this many weeks ending at --week"),
        workers: int = typer.Option(1, "--workers", min=1, max=64, help="processes for the batch"),
        apply: bool = typer.Option(False, "--apply", help="raise the alerts (default: a dry run that prints "
                                   "what would fire and changes nothing)"),
    ) -> None:
        """Evaluate every statistical detector on every org unit for an epi week (vectorised).

        A dry run by default: prints the signals that would fire; ``--apply`` raises them as alerts."""
        import logging

        from ingest.epiweek import EpiWeek
        from sebac.commands.common import fail, open_pipeline

        if week:
            try:
                EpiWeek.parse(week)
            except (ValueError, TypeError):
                fail(f"--week must look like 2026-W47, not {week!r}")
        logging.getLogger("sebac.alerts").setLevel(logging.ERROR)
        pipeline = open_pipeline()
        bad = set(level) - set(pipeline.pyramid.levels)
        if bad:
            fail(f"unknown level(s) {', '.join(sorted(bad))}; one of {', '.join(pipeline.pyramid.levels)}")
        s = evaluate_week(pipeline, week=week, levels=level or None, weeks=weeks, workers=workers, apply=apply)
        typer.echo(f"{s.week}: {s.detectors} detectors, {s.cells} series, {s.points} points evaluated, "
                   f"{s.signals} signals" + (f", {s.alerts_after - s.alerts_before} new alerts" if apply else "")
                   + f" ({s.seconds:.2f} s)")
        if not apply:
            for sig in s.would_fire[:50]:
                typer.echo(f"  would fire: {sig.disease} at {sig.orgunit_id} week {sig.epiweek}: "
                           f"{sig.detector} {sig.observed:g} > {sig.threshold:g}")
            if len(s.would_fire) > 50:
                typer.echo(f"  … and {len(s.would_fire) - 50} more")
            typer.echo("dry run: nothing was written; add --apply to raise these alerts")
