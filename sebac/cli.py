"""The ``sebac`` command line.

``serve`` and ``migrate`` live here; every module of :mod:`sebac.commands` that defines
``register(app: typer.Typer)`` adds its own commands (``detect``, ``replay``, ``users``, ``worker``...).
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
from pathlib import Path
from typing import Optional

import typer

from sebac.settings import Settings

app = typer.Typer(help="SEBAC: community-based surveillance alerting engine", no_args_is_help=True,
                  add_completion=False)


def _logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)


@app.command()
def serve(demo: bool = typer.Option(False, "--demo", help="load the Mali demo and replay a week of reports"),
          host: Optional[str] = typer.Option(None, help="bind address (default SEBAC_HOST)"),
          port: Optional[int] = typer.Option(None, help="port (default SEBAC_PORT)"),
          demo_seconds: float = typer.Option(40.0, help="wall-clock seconds the demo week takes")) -> None:
    """Start the API and the embedded pipeline."""
    import uvicorn

    from ingest.clock import CatchUpClock
    from sebac.demo import DemoFeeder, simulate_week
    from sebac.engine import build_app

    settings = Settings()
    _logging(settings.log_level)
    overrides = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
    if demo and "database_url" not in settings.model_fields_set:
        # the demo starts from a fresh database of its own, never the operator's
        Path("data").mkdir(exist_ok=True)
        Path("data/sebac-demo.db").unlink(missing_ok=True)
        overrides["database_url"] = "sqlite:///./data/sebac-demo.db"
    settings = settings.model_copy(update=overrides)
    clock = None
    stop = threading.Event()
    if demo:
        now = dt.datetime.now(dt.timezone.utc)
        clock = CatchUpClock(now - dt.timedelta(days=7), speed=7 * 86400 / demo_seconds)
    fastapi_app = build_app(settings, clock)
    pipeline = fastapi_app.state.pipeline
    # alerts (helper-alerts): escalation scheduler and notification outbox, on the pipeline's clock; in the
    # demo a week passes in ~40 s, so they tick often enough for a 30-min deadline to be seen passing
    from alerts.runtime import AlertWorkers

    workers = AlertWorkers.from_settings(pipeline, settings, **({"tick_seconds": 0.1, "poll_seconds": 0.2}
                                                                 if demo else {}))
    fastapi_app.router.on_startup.append(workers.start)
    if demo:
        from sebac.demo import create_demo_users, load_demo_history

        load_demo_history(pipeline, now)  # 5 years of weekly baselines: statistical detectors out of warm-up
        users = create_demo_users(pipeline)
        # the week arrives by SMS (demo CHW phones), DHIS2 tracker events and the app, through the real intake
        feeder = DemoFeeder(pipeline, simulate_week(pipeline.pyramid, now), clock, stop,
                            channels=fastapi_app.state.ingest_channels, users=users)
        fastapi_app.router.on_startup.append(feeder.start)
        base = f"http://{settings.host}:{settings.port}"
        typer.echo(f"SEBAC demo: watch alerts at {base}/api/v1/alerts (log in first; API docs at {base}/docs)")
        typer.echo("Demo users (one per level; nobody acknowledges, so cholera alerts climb to national):")
        for u in users:
            typer.echo(f"  {u.role:<9} {u.username:<15} password {u.password:<18} {u.orgunit_id:<24} {u.phone or ''}")
        typer.echo(f"  log in:  curl -s -X POST {base}/api/v1/auth/token -H 'content-type: application/json' "
                   "-d '{\"username\": \"epi.djenne\", \"password\": \"...\"}'")
        typer.echo("  then:    curl -s -H 'Authorization: Bearer <token>' " + base + "/api/v1/alerts")
        typer.echo("  act:     POST /api/v1/alerts/{id}/acknowledge (or reply 'OK {id}' from the user's phone by SMS)")
    try:
        uvicorn.run(fastapi_app, host=settings.host, port=settings.port, log_level=settings.log_level.lower())
    finally:
        stop.set()
        workers.stop()


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema (also done by `serve`)."""
    from sebac.db import make_engine, migrate as run

    settings = Settings()
    run(make_engine(settings.database_url))
    typer.echo("database is up to date")


def _register_commands() -> None:
    import importlib
    import pkgutil

    import sebac.commands

    for info in sorted(pkgutil.iter_modules(sebac.commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"sebac.commands.{info.name}")
        if hasattr(module, "register"):
            module.register(app)


_register_commands()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
