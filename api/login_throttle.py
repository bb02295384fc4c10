"""Login throttling: failures in a row per account and per address, in the database (every API
process sees the same counts), judged by :mod:`api.login_policy`.

:func:`check_and_record` is the one call of a login route, after the password was checked: a key
still waiting refuses the attempt (the password is then not considered, right or wrong) and nothing
is recorded; otherwise a failure is counted on both keys and a success ends the account's streak (not
the address's: one good account must not reset a guessing client). :func:`wait` lets the route
refuse before paying for the password hash. :func:`unlock` is the administrator's way out.

Keys are stored as SHA-256 of ``account:<username>`` / ``address:<ip>``: the table holds neither a
username that may be a mistyped password nor an address. The address is the peer's as the ASGI
server sees it (behind a reverse proxy, run uvicorn with ``--proxy-headers`` and
``--forwarded-allow-ips`` so it is the client's).

A refusal is logged (limit, streak, wait and the first 12 hex digits of the key, to correlate; never
the username or the address) and counted in ``sebac_login_throttled_total{limit}``.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import math
from dataclasses import dataclass

import sqlalchemy as sa
from prometheus_client import Counter
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from api.login_policy import ACCOUNT, ADDRESS, ZERO, BackoffPolicy
from ingest.messages import register
from ingest.tables import metadata

log = logging.getLogger("sebac.auth")

login_failures = sa.Table(
    "login_failures",
    metadata,
    sa.Column("key_hash", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),  # account | address
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_login_failures_last_failure_at", "last_failure_at"),
)

LIMITS = ("account", "address")
THROTTLED = Counter("sebac_login_throttled", "Login attempts refused while an account or an address waits "
                    "after failures in a row, by the limit that refused", ["limit"])
for _limit in LIMITS:
    THROTTLED.labels(_limit)

register("en", {"auth.login.throttled": "Too many failed logins. Try again in {seconds} s."})
register("fr", {"auth.login.throttled": "Trop d'échecs de connexion. Réessayez dans {seconds} s."})

POLICIES: dict[str, BackoffPolicy] = {"account": ACCOUNT, "address": ADDRESS}


@dataclass(frozen=True)
class Decision:
    """``allowed``: the attempt was judged. Otherwise ``limit`` refused it for ``retry_after``."""

    allowed: bool
    retry_after: dt.timedelta = ZERO
    limit: str | None = None

    @property
    def retry_after_seconds(self) -> int:
        """Whole seconds for ``Retry-After`` (at least 1 when refused)."""
        return max(1, math.ceil(self.retry_after.total_seconds())) if not self.allowed else 0


def key_hash(kind: str, value: str) -> str:
    return hashlib.sha256(f"{kind}:{value}".encode("utf-8")).hexdigest()


def _keys(username: str, address: str | None) -> dict[str, str]:
    return {"account": key_hash("account", username), "address": key_hash("address", address or "unknown")}


def _utc(v: dt.datetime) -> dt.datetime:
    return v if v.tzinfo else v.replace(tzinfo=dt.timezone.utc)


def wait(conn: Connection, username: str, address: str | None, now: dt.datetime) -> Decision:
    """Whether an attempt may be judged now; refused by the limit with the longest wait."""
    keys = _keys(username, address)
    rows = {r.key_hash: r for r in conn.execute(sa.select(login_failures)
                                                .where(login_failures.c.key_hash.in_(list(keys.values()))))}
    worst, streak, worst_key = Decision(True), 0, ""
    for limit, key in keys.items():
        row = rows.get(key)
        if row is None:
            continue
        left = POLICIES[limit].wait(row.failures, _utc(row.last_failure_at), now)
        if left > worst.retry_after:
            worst, streak, worst_key = Decision(False, left, limit), row.failures, key
    if not worst.allowed:
        THROTTLED.labels(worst.limit).inc()
        log.warning("login throttled by the %s limit: %d failures in a row, retry in %ss (key %s)",
                    worst.limit, streak, worst.retry_after_seconds, worst_key[:12])
    return worst


def _insert(conn: Connection):
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(login_failures)


def record_failure(conn: Connection, username: str, address: str | None, now: dt.datetime) -> None:
    """One more failure in a row on both keys, atomically (concurrent processes add up)."""
    for limit, key in _keys(username, address).items():
        stale = now - POLICIES[limit].forget_after
        stmt = _insert(conn).values(key_hash=key, kind=limit, failures=1, last_failure_at=now)
        conn.execute(stmt.on_conflict_do_update(index_elements=[login_failures.c.key_hash], set_={
            "failures": sa.case((login_failures.c.last_failure_at <= stale, 1), else_=login_failures.c.failures + 1),
            "last_failure_at": now}))
    # forgotten streaks are useless: keep the table as small as the set of keys failing today
    oldest = now - max(p.forget_after for p in POLICIES.values())
    conn.execute(login_failures.delete().where(login_failures.c.last_failure_at <= oldest))


def check_and_record(conn: Connection, username: str, address: str | None, ok: bool,
                     now: dt.datetime) -> Decision:
    """The login route's one call, once the password was checked (``ok``).

    Refused (``allowed`` False): a key still waits; nothing is recorded and ``ok`` is ignored, so a
    right password during a lock does not log in. Allowed: a failure is counted on the account and
    the address; a success clears the account's streak.
    """
    decision = wait(conn, username, address, now)
    if not decision.allowed:
        return decision
    if ok:
        conn.execute(login_failures.delete().where(login_failures.c.key_hash == key_hash("account", username)))
    else:
        record_failure(conn, username, address, now)
    return decision


def unlock(conn: Connection, username: str) -> bool:
    """End the account's streak (and lock); True when there was one."""
    res = conn.execute(login_failures.delete().where(login_failures.c.key_hash == key_hash("account", username)))
    return res.rowcount > 0
