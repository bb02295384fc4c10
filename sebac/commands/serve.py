"""``sebac serve [--demo]``: the API, the console and the embedded pipeline in one process."""
from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import Optional

import typer


def _logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(demo: bool = typer.Option(False, "--demo", help="load the Mali demo and replay a week of reports"),
              host: Optional[str] = typer.Option(None, help="bind address (default SEBAC_HOST)"),
              port: Optional[int] = typer.Option(None, min=1, max=65535, help="port (default SEBAC_PORT)"),
              demo_seconds: float = typer.Option(40.0, min=1, max=86400,
                                                 help="wall-clock seconds the demo week takes")) -> None:
        """Start the API, the console and the embedded pipeline (escalation and notifications included)."""
        import uvicorn

        from alerts.runtime import AlertWorkers
        from ingest.clock import CatchUpClock, SystemClock
        from sebac.commands.common import database_line, fail, one_line, settings as read_settings
        from sebac.engine import build_app

        settings = read_settings(**{k: v for k, v in (("host", host), ("port", port)) if v is not None})
        _logging(settings.log_level)
        clock: CatchUpClock | None = None
        alert_clock: SystemClock | None = None
        secrets: dict[str, str] = {}
        now = dt.datetime.now(dt.timezone.utc)
        if demo:
            from sebac.demo_setup import NotADemoDatabase, demo_overrides, reset_for_demo

            try:
                reset_for_demo(settings.database_url)
            except NotADemoDatabase as exc:
                fail(str(exc))
            overrides = demo_overrides(settings)
            secrets = {k: v for k, v in overrides.items() if k.endswith("_secret")}
            settings = settings.model_copy(update=overrides)
            # the week of reports is replayed fast; alerts, deadlines and logins stay on the wall clock
            clock = CatchUpClock(now - dt.timedelta(days=7), speed=7 * 86400 / demo_seconds)
            alert_clock = SystemClock()
        typer.echo(database_line(settings.database_url), err=True)
        try:
            fastapi_app = build_app(settings, clock, alert_clock)
        except Exception as exc:  # noqa: BLE001 - a bad file or database: one line, non-zero
            fail(one_line(exc), 1)
        pipeline = fastapi_app.state.pipeline
        workers = AlertWorkers.from_settings(pipeline, settings, **({"tick_seconds": 1.0, "poll_seconds": 1.0}
                                                                     if demo else {}))
        fastapi_app.router.on_startup.append(workers.start)
        stop = threading.Event()
        if demo:
            from sebac.demo import load_demo_history, simulate_week
            from sebac.demo_feeder import DemoFeeder
            from sebac.demo_people import create_demo_users
            from sebac.demo_setup import banner

            load_demo_history(pipeline, now)  # 5 years of weekly baselines: statistical detectors out of warm-up
            users = create_demo_users(pipeline)
            # the week arrives by SMS (demo CHW phones), DHIS2 tracker events and the app, through the real intake
            assert clock is not None  # the catch-up clock of the demo, set above
            feeder = DemoFeeder(pipeline, simulate_week(pipeline.pyramid, now), clock, stop,
                                channels=fastapi_app.state.ingest_channels, users=users)
            fastapi_app.router.on_startup.append(feeder.start)
            for line in banner(f"http://{settings.host}:{settings.port}", users, secrets):
                typer.echo(line)
        try:
            uvicorn.run(fastapi_app, host=settings.host, port=settings.port, log_level=settings.log_level.lower())
        finally:
            stop.set()
            workers.stop()
