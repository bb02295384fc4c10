"""``sebac replay FILE`` (a backlog of reports, CSV or NDJSON) and ``sebac load-history FILE``."""
from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def replay(file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True,
                                           help="CSV (header: client_id,orgunit_id,disease,cases,onset_date,...) "
                                                "or NDJSON (one report object per line)"),
               format: str = typer.Option(None, "--format", help="csv or ndjson (default: from the file name)"),
               quiet: bool = typer.Option(False, "--quiet", help="no progress bar"),
               batch: int = typer.Option(1000, "--batch", min=1,
                                         help="reports per transaction; each still gets exactly the signals "
                                              "and alerts of a one-by-one replay (1: one by one)"),
               verbose: bool = typer.Option(False, "--verbose", help="log every alert raised")) -> None:
        """Submit a backlog of reports, exactly once (repeats are answered duplicate); print a summary."""
        import logging
        from tqdm import tqdm

        from ingest.backlog import detect_format, read_backlog, replay as run
        from sebac.commands.common import fail, open_pipeline

        if format not in (None, "csv", "ndjson"):
            fail(f"--format must be csv or ndjson, not {format!r}")
        if not verbose:  # one log line per alert would bury the progress bar; the summary counts them
            logging.getLogger("sebac.alerts").setLevel(logging.ERROR)
        pipeline = open_pipeline()
        with open(file, encoding="utf-8-sig", newline="") as fh:
            head = fh.read(200)
            fh.seek(0)
            fmt = format or detect_format(file.name, head)
            total = sum(1 for _ in fh) - (1 if fmt == "csv" else 0)
            fh.seek(0)
            bar = tqdm(total=max(total, 0), unit="report", disable=quiet, desc=file.name)
            try:
                summary = run(pipeline, read_backlog(fh, fmt), on_item=lambda _i, _s: bar.update(1), batch=batch)
            except ValueError as exc:
                bar.close()
                fail(str(exc))
            bar.close()
        s = summary.as_dict()
        typer.echo(f"{s['total']} items: {s['accepted']} accepted, {s['duplicate']} duplicate, "
                   f"{s['rejected']} rejected ({s['late']} late, {s['possible_duplicates']} possible duplicates, "
                   f"{s['alerts']} alert updates)")
        for e in s["errors"][:20]:
            typer.echo(f"  line {e['line']}: {', '.join(x['key'] for x in e['errors'])}", err=True)
        if s["rejected"]:
            typer.echo("rejected lines are kept: GET /api/v1/rejected?channel=csv", err=True)

    @app.command("load-history")
    def load_history(file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True,
                                                 help="CSV: area_id,disease,iso_year,iso_week,count")) -> None:
        """Load historical weekly counts per area and disease (detector baselines); upsert."""
        from ingest.history import parse_history_csv, store_history
        from sebac.commands.common import open_pipeline

        pipeline = open_pipeline()
        with open(file, encoding="utf-8-sig", newline="") as fh:
            rows, errors = parse_history_csv(fh, pipeline.pyramid, pipeline.diseases)
        with pipeline.db.begin() as conn:
            stored = store_history(conn, rows, now=pipeline.clock.now(), source=file.name)
        typer.echo(f"{stored} weekly counts stored, {len(errors)} rows rejected")
        for line, e in errors[:20]:
            typer.echo(f"  line {line}: {e.key} {e.params}", err=True)
        if errors and not stored:
            raise typer.Exit(1)
