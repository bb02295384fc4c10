"""Demo data: a simulated week of CHW reports in the Mali pyramid, with a cholera outbreak.

Background: every day a few sites report malaria, acute diarrhoea and ILI in small numbers. From
day 3 a cholera outbreak starts in the health area of Mougna (district of Djenné, Mopti region) and
spreads to Sofara; one tablet syncs three days late; one SMS-like report names an unknown place
(rejected, kept). The feeder replays the week on a :class:`~ingest.clock.CatchUpClock` so a
newcomer sees alerts appear within seconds (log lines and ``GET /api/v1/alerts``).
"""
from __future__ import annotations

import datetime as dt
import logging
import random
import threading
from dataclasses import dataclass
from typing import Any

from ingest.clock import Clock
from ingest.contracts import Channel
from ingest.pyramid import Pyramid

log = logging.getLogger("sebac.demo")

OUTBREAK_AREAS = ("ML-MOP-DJENNE-MOUGNA", "ML-MOP-DJENNE-SOFARA")
BACKGROUND = (("malaria", 6), ("acute_diarrhoea", 2), ("ili", 2))


@dataclass(frozen=True)
class DemoReport:
    received_at: dt.datetime
    payload: dict[str, Any]
    channel: Channel = Channel.demo


def simulate_week(pyramid: Pyramid, end: dt.datetime, seed: int = 7) -> list[DemoReport]:
    """Reports received between ``end - 7 days`` and ``end``, sorted by receipt time."""
    rng = random.Random(seed)
    start = end - dt.timedelta(days=7)
    sites = sorted(u.id for u in pyramid.at_level("site"))
    out: list[DemoReport] = []
    n = 0

    def add(received: dt.datetime, site: str, disease: str, cases: int, onset: dt.date, **extra: Any) -> None:
        nonlocal n
        n += 1
        payload = {"client_id": f"demo-{seed}-{n}", "orgunit_id": site, "disease": disease, "cases": cases,
                   "onset_date": onset.isoformat(), "report_date": received.date().isoformat(),
                   "reporter": f"ASC-{site[-12:]}"} | extra
        out.append(DemoReport(received, payload))

    for day in range(7):
        for site in rng.sample(sites, k=min(25, len(sites))):
            disease, mean = rng.choice(BACKGROUND)
            received = start + dt.timedelta(days=day, hours=rng.uniform(7, 19))
            onset = (received - dt.timedelta(days=rng.choice((0, 1, 1, 2)))).date()
            add(received, site, disease, max(1, int(rng.expovariate(1 / mean))), onset)
    outbreak_sites = [s for s in sites if s.startswith(OUTBREAK_AREAS)]
    if outbreak_sites:
        for day in range(2, 7):
            for site in outbreak_sites[: 1 + (day - 2) // 2]:
                received = start + dt.timedelta(days=day, hours=rng.uniform(8, 12))
                add(received, site, "cholera", 1 + day - 2, (received - dt.timedelta(days=1)).date(),
                    sex="F", age_group="5+", text="diarrhée aqueuse, vomissements")
        # a tablet that syncs three days late
        late = start + dt.timedelta(days=5, hours=15)
        add(late, outbreak_sites[-1], "cholera", 2, (late - dt.timedelta(days=4)).date())
    # an item the engine must reject and keep
    add(start + dt.timedelta(days=4, hours=9), "ML-MOP-DJENNE-NOWHERE", "cholera", 1,
        (start + dt.timedelta(days=4)).date())
    out.sort(key=lambda r: r.received_at)
    return out


class DemoFeeder(threading.Thread):
    """Submits each demo report when the (catch-up) clock passes its receipt time."""

    def __init__(self, pipeline: Any, reports: list[DemoReport], clock: Clock, stop: threading.Event):
        super().__init__(name="sebac-demo-feeder", daemon=True)
        self.pipeline = pipeline
        self.reports = reports
        self.clock = clock
        self.stop_event = stop

    def run(self) -> None:
        log.info("demo: replaying %d CHW reports of the past week", len(self.reports))
        for r in self.reports:
            while self.clock.now() < r.received_at:
                if self.stop_event.wait(0.02):
                    return
            try:
                self.pipeline.submit(r.payload, r.channel)
            except Exception:  # keep the demo alive; the error is in the log
                log.exception("demo report failed")
        log.info("demo: replay finished; see GET /api/v1/alerts")


# -- demo people (helper-alerts): one user per level along the outbreak's chain of command ---------------
DEMO_PEOPLE = (  # (username, role, org unit, phone)
    ("asc.mougna", "chw", "ML-MOP-DJENNE-MOUGNA-S1", "+22370000001"),
    ("dtc.mougna", "cscom", "ML-MOP-DJENNE-MOUGNA", "+22370000002"),
    ("epi.djenne", "district", "ML-MOP-DJENNE", "+22370000003"),
    ("drs.mopti", "region", "ML-MOP", "+22370000004"),
    ("dgshp.national", "national", "ML", "+22370000005"),
    ("admin", "admin", "ML", None),
)


@dataclass(frozen=True)
class DemoUser:
    username: str
    password: str
    role: str
    orgunit_id: str
    phone: str | None


def create_demo_users(pipeline: Any, seed: int | None = None) -> list[DemoUser]:
    """One user per level (random passwords), each level subscribed to SMS alerts of its org unit."""
    import secrets

    from alerts.notify import SubscriptionIn, SubscriptionRepository
    from alerts.users import UserIn, UserRepository

    rng = random.Random(seed) if seed is not None else None
    people, subs, out = UserRepository(), SubscriptionRepository(), []
    with pipeline.db.begin() as conn:
        for username, role, orgunit, phone in DEMO_PEOPLE:
            if orgunit not in pipeline.pyramid:
                continue
            password = (f"demo-{rng.getrandbits(48):012x}" if rng else f"demo-{secrets.token_hex(6)}")
            user = people.create(conn, UserIn(username=username, password=password, role=role, orgunit_id=orgunit,
                                              phone=phone), pipeline.pyramid, pipeline.clock.now())
            if phone and role not in ("chw", "admin"):
                subs.create(conn, SubscriptionIn(orgunit_id=orgunit, channel="sms", address=phone, lang="fr",
                                                 user_id=user.user_id), pipeline.pyramid)
            out.append(DemoUser(username, password, role, orgunit, phone))
    return out
