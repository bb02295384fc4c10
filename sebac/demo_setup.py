"""Setting up ``sebac serve --demo``: the database it may use, its settings, and what it prints.

**One database.** The demo writes into the configured database (``SEBAC_DATABASE_URL``, default
``sqlite:///./data/sebac.db``), the same one every other command opens, so the README's follow-up
commands (``sebac users api-key``, ``sebac replay``…) act on the demo's data. It starts afresh
each time, but it only ever wipes a database that is empty or that an earlier demo filled (its
history rows carry :data:`sebac.demo.DEMO_SOURCE`); any other database is refused with one line.

**Settings.** Escalation deadlines in minutes (``sebac/data/demo_escalation.yaml``, on the wall
clock), every SMS webhook enabled with a generated secret, unless the operator set them.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa

from sebac.demo import DEMO_SOURCE

DEMO_POLICY = Path(__file__).parent / "data" / "demo_escalation.yaml"


class NotADemoDatabase(Exception):
    pass


def database_state(url: str) -> str:
    """``empty``, ``demo`` or ``data`` (a database with reports or users the demo did not make)."""
    from sebac.db import make_engine

    if url.startswith("sqlite") and not _sqlite_path(url).exists():
        return "empty"
    engine = make_engine(url)
    try:
        names = set(sa.inspect(engine).get_table_names())
        if "reports" not in names:
            return "empty"
        with engine.connect() as conn:
            if conn.execute(sa.text("SELECT 1 FROM weekly_counts_history WHERE source = :s LIMIT 1"),
                            {"s": DEMO_SOURCE}).first():
                return "demo"
            for table in ("reports", "users", "alerts", "rejected_items"):
                if table in names and conn.execute(sa.text(f"SELECT 1 FROM {table} LIMIT 1")).first():
                    return "data"
        return "empty"
    finally:
        engine.dispose()


def reset_for_demo(url: str) -> str:
    """Empty the database for a new demo run; refuses a database that holds someone's data."""
    state = database_state(url)
    if state == "data":
        raise NotADemoDatabase(f"{_shown(url)} holds reports or users that are not the demo's; the demo starts "
                               "from an empty database: set SEBAC_DATABASE_URL to another one "
                               "(e.g. sqlite:///./data/demo.db)")
    if state == "demo":
        if url.startswith("sqlite"):
            path = _sqlite_path(url)
            for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                p.unlink(missing_ok=True)
        else:
            from sebac.db import make_engine

            engine = make_engine(url)
            with engine.begin() as conn:
                tables = [t for t in sa.inspect(conn).get_table_names() if t != "alembic_version"]
                conn.execute(sa.text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
            engine.dispose()
    return state


def demo_overrides(settings: Any) -> dict[str, Any]:
    """Settings the demo changes, unless the operator set them."""
    from sebac.demo_people import demo_gateway_secrets

    out: dict[str, Any] = demo_gateway_secrets(settings)
    if "escalation_policy_path" not in settings.model_fields_set:
        out["escalation_policy_path"] = DEMO_POLICY
    return out


def banner(base: str, users: list[Any], secrets: dict[str, str]) -> list[str]:
    """What ``make run`` ends with: the console, the people, and the SMS webhooks with their secrets."""
    lines = [f"SEBAC demo: console {base}/  (API {base}/api/v1, API docs {base}/docs)",
             "Demo users (log in at the console; nobody acts, so cholera alerts climb a level every few minutes):"]
    for u in users:
        lines.append(f"  {u.role:<9} {u.username:<15} password {u.password:<18} {u.orgunit_id:<24} {u.phone or ''}")
    if secrets:
        lines.append("SMS webhooks, enabled for the demo with these secrets:")
        for name, value in sorted(secrets.items()):
            gateway = name.removeprefix("sms_").removesuffix("_secret")
            lines.append(f"  {gateway:<9} POST {base}/api/v1/sms/{gateway}  secret {value}")
        if "sms_telerivet_secret" in secrets:
            lines.append(f"  try:  curl -s -X POST {base}/api/v1/sms/telerivet -d secret="
                         f"{secrets['sms_telerivet_secret']} -d event=incoming_message -d id=SMtry1 "
                         "-d from_number=+22370000001 --data-urlencode 'content=PALU 3 F 5+'")
    return lines


def _sqlite_path(url: str) -> Path:
    return Path(url.split("///", 1)[1]) if "///" in url else Path("")


def _shown(url: str) -> str:
    return sa.engine.make_url(url).render_as_string(hide_password=True)
