"""``sebac dhis2 pull``: keep SEBAC in step with a DHIS2 server (org units, then tracker events).

    sebac dhis2 pull --url https://dhis2.example.org --token d2pat_… [--once | --every 5m]

Credentials may come from the environment instead of the command line (where other users of the
machine can read them): ``DHIS2_URL``, ``DHIS2_TOKEN``, ``DHIS2_USERNAME``, ``DHIS2_PASSWORD``.
Each run prints ``created N, updated N, deleted N, ignored N, rejected N``. A refused token or
password, a refused query (409) or an unreadable answer end the command with one ``error:`` line and
status 1; so does an unreachable server with ``--once``. With ``--every``, an unreachable server, a
timeout or a 5xx is retried with exponential backoff (``--backoff``, doubling, at most ``--every``).
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Optional

import typer

dhis2_app = typer.Typer(help="DHIS2: pull org units and tracker events from a DHIS2 server", no_args_is_help=True)


def _options(url: str, token: str | None, username: str | None, password: str | None, once: bool,
             every: str | None, backoff: str) -> tuple[str, str, float | None, float]:
    from ingest.dhis2_pull.client import auth_header, server_key
    from ingest.dhis2_pull.paging import parse_interval
    from sebac.commands.common import fail

    if once and every:
        fail("give --once or --every, not both")
    try:
        server = server_key(url)
        authorization = auth_header(token, username, password)
        period = parse_interval(every) if every else None
        first_retry = parse_interval(backoff)
    except ValueError as exc:
        fail(str(exc))
    return server, authorization, period, first_retry


def _save_units(path: Path, units: list[dict[str, Any]]) -> None:
    """The export as DHIS2 gives it (``SEBAC_PYRAMID_PATH`` can point at it), written atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"organisationUnits": units}, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, path)


@dhis2_app.command("pull")
def pull(url: str = typer.Option(..., envvar="DHIS2_URL", help="the DHIS2 server, e.g. https://dhis2.example.org"),
         token: Optional[str] = typer.Option(None, envvar="DHIS2_TOKEN", help="personal access token d2pat_…"),
         username: Optional[str] = typer.Option(None, envvar="DHIS2_USERNAME", help="Basic auth user"),
         password: Optional[str] = typer.Option(None, envvar="DHIS2_PASSWORD", help="Basic auth password"),
         once: bool = typer.Option(False, "--once", help="one run, then exit (the default)"),
         every: Optional[str] = typer.Option(None, "--every", help="run again every 30s, 5m, 1h … until stopped"),
         orgunits: str = typer.Option("server", "--orgunits",
                                      help="server: read the pyramid from DHIS2; file: SEBAC_PYRAMID_PATH"),
         save_orgunits: Optional[Path] = typer.Option(None, "--save-orgunits",
                                                      help="write the org units read (DHIS2 JSON) to this file"),
         levels: str = typer.Option("national,region,district,health_area,site", "--levels",
                                    help="SEBAC names of the DHIS2 org unit levels 1, 2, …"),
         root: Optional[str] = typer.Option(None, "--root", help="org unit whose descendants' events are read "
                                                                 "(default: the pyramid's root)"),
         page_size: int = typer.Option(200, "--page-size", min=2, max=10_000, help="events per page"),
         timeout: float = typer.Option(30.0, "--timeout", min=0.1, max=3600, help="seconds per request"),
         backoff: str = typer.Option("5s", "--backoff", help="first retry delay with --every (doubles)"),
         runs: int = typer.Option(0, "--runs", min=0, help="with --every: stop after N runs (0: never)")) -> None:
    """Pull org units and the events of the DHIS2 mapping's programs; print the counts of each run."""
    from ingest.dhis2 import load_dhis2_mapping
    from ingest.dhis2_pull.client import Dhis2Client, PullError
    from ingest.dhis2_pull.paging import retry_delay
    from ingest.dhis2_pull.run import (fetch_org_units, mapped_programs, org_unit_param, pull_events)
    from ingest.pyramid import pyramid_from_dhis2
    from sebac.commands.common import fail, one_line, open_pipeline, settings

    if orgunits not in ("server", "file"):
        fail(f"--orgunits must be server or file, not {orgunits!r}")
    server, authorization, period, first_retry = _options(url, token, username, password, once, every, backoff)
    s = settings()
    state: dict[str, Any] = {}

    def start(client: Dhis2Client) -> None:
        """Version, org units, pipeline and mapping: once per command (retried like a run)."""
        version = client.version()
        pyramid = None
        if orgunits == "server":
            units = fetch_org_units(client)
            pyramid = pyramid_from_dhis2({"organisationUnits": units}, [v.strip() for v in levels.split(",")])
            if save_orgunits:
                _save_units(save_orgunits, units)
        pipeline = open_pipeline(s, pyramid=pyramid)
        mapping = load_dhis2_mapping(s.dhis2_mapping_path, pipeline.diseases)
        top = next(u for u in pipeline.pyramid.units.values() if u.parent_id is None)
        state.update(pipeline=pipeline, mapping=mapping, ou_param=org_unit_param(version),
                     root=root or top.dhis2_uid or top.id)
        typer.echo(f"DHIS2 {'.'.join(map(str, version)) if version else '(version unknown)'} at {server}: "
                   f"{len(pipeline.pyramid)} org units, programs {', '.join(mapped_programs(mapping))}", err=True)

    attempt, done = 0, 0
    with Dhis2Client(server, authorization, timeout=timeout) as client:
        while True:
            try:
                if not state:
                    start(client)
                counts = pull_events(state["pipeline"], client, state["mapping"], server=server,
                                     root=state["root"], ou_param=state["ou_param"], page_size=page_size)
            except PullError as exc:
                partial = getattr(exc, "counts", None)
                if partial is not None:
                    typer.echo(partial.line())
                if period is None or not exc.transient:
                    fail(str(exc), 1)
                delay = retry_delay(attempt, first_retry, period)
                attempt += 1
                typer.echo(f"warning: {exc}; retry {attempt} in {delay:g}s", err=True)
                time.sleep(delay)
                continue
            except typer.Exit:
                raise
            except Exception as exc:  # noqa: BLE001 - a pyramid, mapping or database error: one line
                fail(one_line(exc), 1)
            typer.echo(counts.line())
            attempt, done = 0, done + 1
            if period is None or (runs and done >= runs):
                return
            time.sleep(period)


def register(app: typer.Typer) -> None:
    app.add_typer(dhis2_app, name="dhis2")
