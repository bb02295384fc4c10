"""The demo's people: one user per level along the outbreak's chain of command, and gateway secrets.

Their phones (``+223 76 …``) are outside the demo CHW registry's range (``+223 70 00 …``,
:func:`ingest.chw.demo_chws`), so an SMS from a person is never taken for a CHW's report.
"""
from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from typing import Any

DEMO_PEOPLE = (  # (username, role, org unit, phone, full name)
    ("asc.mougna", "chw", "ML-MOP-DJENNE-MOUGNA-S1", None, "ASC de Mougna"),
    ("dtc.mougna", "cscom", "ML-MOP-DJENNE-MOUGNA", "+22376000002", "DTC du CSCom de Mougna"),
    ("epi.djenne", "district", "ML-MOP-DJENNE", "+22376000003", "Épidémiologiste du district de Djenné"),
    ("drs.mopti", "region", "ML-MOP", "+22376000004", "Direction régionale de la santé de Mopti"),
    ("dgshp.national", "national", "ML", "+22376000005", "DGSHP, surveillance nationale"),
    ("admin", "admin", "ML", None, "Administrateur SEBAC"),
)
GATEWAYS = ("telerivet", "rapidpro", "generic")  # SMS webhooks the demo enables, each with its secret


@dataclass(frozen=True)
class DemoUser:
    username: str
    password: str
    role: str
    orgunit_id: str
    phone: str | None


def demo_gateway_secrets(settings: Any) -> dict[str, str]:
    """A generated secret for each SMS webhook the operator left unset (the demo enables them all)."""
    return {f"sms_{g}_secret": secrets.token_urlsafe(12) for g in GATEWAYS
            if not getattr(settings, f"sms_{g}_secret", None)}


def create_demo_users(pipeline: Any, seed: int | None = None) -> list[DemoUser]:
    """One user per level (random passwords), each level subscribed to SMS alerts of its org unit."""
    from alerts.notify import SubscriptionIn, SubscriptionRepository
    from alerts.users import UserIn, UserRepository

    rng = random.Random(seed) if seed is not None else None
    people, subs, out = UserRepository(), SubscriptionRepository(), []
    with pipeline.db.begin() as conn:
        for username, role, orgunit, phone, full_name in DEMO_PEOPLE:
            if orgunit not in pipeline.pyramid:
                continue
            password = (f"demo-{rng.getrandbits(48):012x}" if rng else f"demo-{secrets.token_hex(6)}")
            user = people.create(conn, UserIn(username=username, password=password, role=role, orgunit_id=orgunit,
                                              phone=phone, full_name=full_name), pipeline.pyramid,
                                 pipeline.alert_clock.now())
            if phone and role not in ("chw", "admin"):
                subs.create(conn, SubscriptionIn(orgunit_id=orgunit, channel="sms", address=phone, lang="fr",
                                                 user_id=user.user_id), pipeline.pyramid)
            out.append(DemoUser(username, password, role, orgunit, phone))
    return out
