"""``sebac users create|list|api-key``: bootstrap people and device/gateway keys from the shell."""
from __future__ import annotations

import secrets
from typing import Optional

import typer

users_app = typer.Typer(help="Users (people who act on alerts) and API keys (devices, gateways)",
                        no_args_is_help=True)


def _pipeline():
    from sebac.commands.common import open_pipeline

    return open_pipeline()


@users_app.command("create")
def create(username: str = typer.Option(..., help="login name"),
           role: str = typer.Option(..., help="chw, cscom, district, region, national or admin"),
           orgunit: str = typer.Option(..., help="org unit id at the role's level (e.g. ML-MOP-DJENNE)"),
           password: Optional[str] = typer.Option(None, help="at least 10 characters; generated when omitted"),
           phone: Optional[str] = typer.Option(None, help="for SMS notifications and SMS commands (OK 12)"),
           email: Optional[str] = typer.Option(None),
           full_name: Optional[str] = typer.Option(None),
           lang: str = typer.Option("fr", help="language of messages: fr, en"),
           notify: str = typer.Option("", help="subscribe the user's org unit: comma list of sms,email")) -> None:
    """Create a user (and optionally subscribe them to alerts of their org unit)."""
    from alerts.notify import SubscriptionIn, SubscriptionRepository
    from alerts.users import UserIn, UserRepository
    from ingest.errors import DomainError

    pipeline = _pipeline()
    generated = password is None
    password = password or secrets.token_urlsafe(12)
    try:
        with pipeline.db.begin() as conn:
            user = UserRepository().create(conn, UserIn(username=username, password=password, role=role,
                                                        orgunit_id=orgunit, phone=phone, email=email,
                                                        full_name=full_name, lang=lang),
                                           pipeline.pyramid, pipeline.alert_clock.now())
            for channel in filter(None, (c.strip() for c in notify.split(","))):
                address = user.phone if channel == "sms" else user.email
                if not address:
                    raise typer.BadParameter(f"--notify {channel} needs the user's {'phone' if channel == 'sms' else 'email'}")
                SubscriptionRepository().create(conn, SubscriptionIn(orgunit_id=orgunit, channel=channel, address=address,
                                                                     lang=lang, user_id=user.user_id), pipeline.pyramid)
    except DomainError as exc:
        typer.echo(f"error: {exc.key}: {exc.message}", err=True)
        raise typer.Exit(1)
    typer.echo(f"user {user.username} ({user.role} at {user.orgunit_id}) created, id {user.user_id}")
    if generated:
        typer.echo(f"password: {password}")


@users_app.command("list")
def list_users() -> None:
    """List users."""
    from alerts.users import UserRepository

    pipeline = _pipeline()
    with pipeline.db.connect() as conn:
        for u in UserRepository().list(conn):
            typer.echo(f"{u.user_id:>4}  {u.username:<20} {u.role:<9} {u.orgunit_id:<28} {u.phone or '-':<14} "
                       f"{'active' if u.active else 'disabled'}")


@users_app.command("api-key")
def api_key(name: str = typer.Option(..., help="what holds the key, e.g. 'tablet ASC Mougna 3'"),
            kind: str = typer.Option("device", help="device (CHW app) or gateway (SMS gateway)"),
            orgunit: Optional[str] = typer.Option(None, help="org unit the device belongs to")) -> None:
    """Create an API key; it is printed once and stored hashed."""
    from api.auth import ApiKeyRepository
    from ingest.errors import DomainError

    pipeline = _pipeline()
    try:
        with pipeline.db.begin() as conn:
            key, raw = ApiKeyRepository().create(conn, name, kind, orgunit, pipeline.alert_clock.now())
    except DomainError as exc:
        typer.echo(f"error: {exc.key}: {exc.message}", err=True)
        raise typer.Exit(1)
    typer.echo(f"{kind} key {key.key_id} for {name!r}: {raw}")
    typer.echo("store it now: it is not shown again")


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")
