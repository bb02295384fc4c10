"""``sebac worker`` (one faust-streaming worker of the scale-out mode) and ``sebac topics``."""
from __future__ import annotations

import socket

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def worker(loglevel: str = typer.Option("", help="faust log level (default SEBAC_LOG_LEVEL)"),
               create_topics: bool = typer.Option(True, help="create missing topics with SEBAC_STREAM_PARTITIONS")
               ) -> None:
        """Consume reports, signals and rejected items; count epi weeks; raise alerts in the database.

        SEBAC_BROKER must be set. SEBAC_STREAM_INSTANCE_ID=hostname uses the host name (a pod or
        container name) as static group member id, so a restarted worker takes its partitions back
        without a rebalance.
        """
        import faust

        from sebac.settings import Settings
        from sebac.streaming.app import create_app
        from sebac.streaming.engine import create_topics as ensure

        settings = Settings()
        if not settings.broker:
            raise typer.BadParameter("set SEBAC_BROKER=kafka://host:port to run a worker")
        if settings.stream_instance_id == "hostname":
            settings = settings.model_copy(update={"stream_instance_id": socket.gethostname()})
        if create_topics:
            ensure(settings)
        if settings.worker_metrics_port:
            from prometheus_client import start_http_server

            start_http_server(settings.worker_metrics_port)
        faust_app = create_app(settings)
        faust.Worker(faust_app, loglevel=(loglevel or settings.log_level).lower(),
                     console_port=0).execute_from_commandline()

    @app.command()
    def topics() -> None:
        """Create the scale-out topics (SEBAC_STREAM_PARTITIONS partitions each) when missing."""
        from sebac.settings import Settings
        from sebac.streaming.engine import create_topics as ensure

        settings = Settings()
        if not settings.broker:
            raise typer.BadParameter("set SEBAC_BROKER=kafka://host:port")
        created = ensure(settings)
        typer.echo(f"created: {', '.join(created)}" if created else "topics already exist")
