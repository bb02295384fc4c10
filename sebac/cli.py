"""The ``sebac`` command line.

``migrate`` lives here; every module of :mod:`sebac.commands` that defines
``register(app: typer.Typer)`` adds its own commands (``detect``, ``replay``, ``users``, ``worker``...).
"""
from __future__ import annotations

import logging

import typer

app = typer.Typer(help="SEBAC: community-based surveillance alerting engine", no_args_is_help=True,
                  add_completion=False, pretty_exceptions_enable=False)


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema (also done by `serve` and every command)."""
    from sebac.commands.common import database_line, fail, one_line, settings
    from sebac.db import make_engine, migrate as run

    s = settings()
    typer.echo(database_line(s.database_url), err=True)
    try:
        run(make_engine(s.database_url))
    except Exception as exc:  # noqa: BLE001 - unreachable database, bad URL: one line, non-zero
        fail(one_line(exc), 1)
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
    """Run a command; usage errors and the errors a user causes end in one line and a non-zero exit."""
    import sys

    from sebac.commands.common import one_line

    try:
        code = app(standalone_mode=False)
    except typer.Exit as exc:
        code = exc.exit_code
    # UsageError of typer's own click (bad option, missing file), which typer does not export by name
    except typer.BadParameter.__mro__[1] as exc:  # type: ignore[misc]
        typer.echo(f"error: {exc.format_message()}", err=True)
        code = 2
    except typer.Abort:
        typer.echo("aborted", err=True)
        code = 130
    except Exception as exc:  # noqa: BLE001 - a domain error a command let through: one line, not a traceback
        logging.getLogger("sebac").debug("command failed", exc_info=True)
        typer.echo(f"error: {one_line(exc)}", err=True)
        code = 1
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
