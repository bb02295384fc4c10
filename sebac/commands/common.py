"""What every command shares: settings read strictly, the database line, one-line errors.

* :func:`settings` reads the environment (``SEBAC_*``) and turns a bad value into one line.
* :func:`open_pipeline` (typed :class:`api.services.Services`) prints ``database: <url>`` (password
  hidden) on stderr before it opens the database, so that the server and every command say which database they act on — one setting,
  ``SEBAC_DATABASE_URL``, one default, ``sqlite:///./data/sebac.db``.
* :func:`fail` prints ``error: …`` on stderr and exits non-zero; ``sebac.cli.main`` does the same
  for usage errors and for the domain errors a command lets through.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn

import typer

if TYPE_CHECKING:
    from api.services import Services
    from ingest.clock import Clock
    from ingest.pyramid import Pyramid
    from sebac.settings import Settings


def fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def one_line(exc: BaseException) -> str:
    """A one-line description of an error a user caused (pydantic, domain, OS, YAML)."""
    from pydantic import ValidationError

    from ingest.errors import DomainError

    if isinstance(exc, ValidationError):
        parts = []
        for e in exc.errors():
            where = ".".join(str(x) for x in e.get("loc", ()))
            parts.append(f"{('SEBAC_' + where.upper()) if exc.title == 'Settings' else where}: {e['msg']}")
        return "; ".join(parts)
    if isinstance(exc, DomainError):
        return f"{exc.key}: {exc.message}"
    if isinstance(exc, OSError) and exc.filename:
        return f"{exc.strerror or exc}: {exc.filename}"
    return " ".join(str(exc).split()) or type(exc).__name__


def settings(**overrides: Any) -> Settings:
    from pydantic import ValidationError

    from sebac.settings import Settings

    try:
        s = Settings()
    except ValidationError as exc:
        fail(one_line(exc))
    return s.model_copy(update=overrides) if overrides else s


def database_line(url: str) -> str:
    from sqlalchemy.engine import make_url

    return f"database: {make_url(url).render_as_string(hide_password=True)}"


def open_pipeline(s: Settings | None = None, clock: Clock | None = None, pyramid: Pyramid | None = None) -> Services:
    """The services on the configured database (:func:`sebac.engine.build_services`: embedded, or
    publishing to the broker when ``SEBAC_BROKER`` is set), announced on stderr; errors in one line."""
    from sebac.engine import build_services

    s = s or settings()
    typer.echo(database_line(s.database_url), err=True)
    try:
        return build_services(s, clock, pyramid=pyramid)
    except Exception as exc:  # noqa: BLE001 - a bad file or an unreachable database: say it, exit non-zero
        fail(one_line(exc), 1)
