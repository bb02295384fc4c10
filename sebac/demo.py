"""Demo data: a simulated week of CHW reports in the Mali pyramid, 5 years of baseline, and a feeder.

What ``sebac serve --demo`` shows, every channel and every stage:

* **Channels.** Each simulated report has the payload the CHW app would post (``payload``) and a
  delivery ``channel``: ``sms`` (a demo CHW phone texts the grammar, e.g. ``CHOL 3 F 5+ 1811``, through
  the same SMS intake the gateway webhooks call — the reply is logged), ``dhis2`` (a tablet event
  through the DHIS2 tracker import with the shipped mapping) or ``http`` (the app's JSON report).
  One garbled SMS is rejected with a reply; one app report names an unknown place (rejected, kept).
* **Rules.** A cholera outbreak starts on day 3 in the health area of Mougna (district of Djenné,
  Mopti region) and spreads to Sofara ("1 case = alert", escalated CSCom → district → region →
  national as nobody acknowledges); measles in the district of San (≥ 5 cases in a month) and
  meningitis in a health area of Bandiagara (≥ 2 cases a week where population < 30 000).
* **Statistics.** :func:`demo_history` gives 5 years of weekly counts (malaria in the Mopti
  districts, ILI in Djenné's health areas) so the statistical detectors are out of warm-up; a malaria
  surge in Djenné (improved Farrington, district) and an ILI surge in Kouakour (EARS C2, health
  area) make them fire.
* **Late data.** A tablet syncs a cholera case from Sofara of the previous, already closed, epi
  week: its alert is *raised late* (with ``would_have_fired_at``).

The feeder replays the week on a :class:`~ingest.clock.CatchUpClock` (``--demo-seconds``, default
40) and logs a summary at the end: reports by channel, rejected items, alerts by disease and level,
escalations, and the demo users' credentials. Everything is seeded (same week for the same ``end``).
"""
from __future__ import annotations

import datetime as dt
import logging
import math
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import sqlalchemy as sa

from ingest.clock import Clock
from ingest.contracts import Channel
from ingest.pyramid import Pyramid

log = logging.getLogger("sebac.demo")

OUTBREAK_AREAS = ("ML-MOP-DJENNE-MOUGNA", "ML-MOP-DJENNE-SOFARA")
BACKGROUND = (("malaria", 6), ("acute_diarrhoea", 2), ("ili", 2))
MALARIA_SURGE_DISTRICT = "ML-MOP-DJENNE"       # ff_noufaily, district level
ILI_SURGE_AREA = "ML-MOP-DJENNE-KOUAKOUR"      # earsC_C2, health-area level
MEASLES_DISTRICT = "ML-SEG-SAN"                # rule measles_district_month (≥ 5 cases in a month)
MENINGITIS_AREA_PREFIX = "ML-MOP-BANDIAGARA"   # rule meningitis_rate (health area: ≥ 2 cases a week)
UNKNOWN_SITE = "ML-MOP-DJENNE-NOWHERE"
GARBLED_SMS = "CHOLRA 3 fme"

# SMS keywords of the shipped disease catalogue (ingest/data/diseases.yaml)
SMS_KEYWORDS = {"cholera": "CHOL", "malaria": "PALU", "ili": "SG", "acute_diarrhoea": "DIAR",
                "measles": "ROUG", "meningitis": "MENI"}
# diseases the shipped DHIS2 program (SbcSignal01) has option codes for
TABLET_DISEASES = ("cholera", "malaria", "measles", "meningitis")
DHIS2_PROGRAM, DHIS2_STAGE = "SbcSignal01", "SbcStage001"

# synthetic baselines: (disease, level, org unit prefix, weekly mean at the seasonal mean, amplitude, peak week)
HISTORY_SERIES = (
    ("malaria", "district", "ML-MOP-", 14.0, 0.6, 40),   # rainy-season malaria, peak in early October
    ("ili", "health_area", "ML-MOP-DJENNE-", 3.0, 0.3, 5),  # cool-season ILI, peak in early February
)
HISTORY_YEARS = 5


@dataclass(frozen=True)
class DemoReport:
    """One simulated item. ``payload`` is what the CHW app would post (``POST /api/v1/reports``);
    ``channel`` says how the demo delivers it (``http``, ``sms`` as ``sms_text``, ``dhis2`` as a
    tracker event built from the payload)."""
    received_at: dt.datetime
    payload: dict[str, Any]
    channel: Channel = Channel.http
    sms_text: str | None = None
    story: str = ""  # what the item shows, for the log
    live: bool = False  # delivered once the catch-up clock has reached real time


def sms_text(payload: dict[str, Any]) -> str:
    """The grammar a CHW would text for a payload: ``CHOL 3 F 5+ 1811`` (onset as DDMM)."""
    parts = [SMS_KEYWORDS[payload["disease"]], str(payload["cases"])]
    parts += [payload[k] for k in ("sex", "age_group") if payload.get(k)]
    parts.append(dt.date.fromisoformat(payload["onset_date"]).strftime("%d%m"))
    return " ".join(parts)


def simulate_week(pyramid: Pyramid, end: dt.datetime, seed: int = 7) -> list[DemoReport]:
    """Items received between ``end - 7 days`` and ``end``, sorted by receipt time."""
    rng = random.Random(seed)
    start = end - dt.timedelta(days=7)
    sites = sorted(u.id for u in pyramid.at_level("site"))
    out: list[DemoReport] = []
    n = 0

    def add(received: dt.datetime, site: str, disease: str | None, cases: int, onset: dt.date,
            channel: Channel | None = None, story: str = "", text: str | None = None, live: bool = False,
            **extra: Any) -> None:
        nonlocal n
        n += 1
        payload = {"client_id": f"demo-{seed}-{n}", "orgunit_id": site, "disease": disease, "cases": cases,
                   "onset_date": onset.isoformat(), "report_date": received.date().isoformat(),
                   "reporter": f"ASC-{site[-12:]}"} | extra
        if channel is None:  # background: a third by SMS, tablets (DHIS2) where the program has the disease
            draw = rng.random()
            channel = (Channel.sms if draw < 0.35 else
                       Channel.dhis2 if draw < 0.6 and disease in TABLET_DISEASES else Channel.http)
        if channel is Channel.sms and text is None:
            text = sms_text(payload)
        out.append(DemoReport(received, payload, channel, text, story, live))

    def at(day: int, hours: float) -> dt.datetime:
        return start + dt.timedelta(days=day, hours=hours)

    for day in range(7):
        for site in rng.sample(sites, k=min(25, len(sites))):
            disease, mean = rng.choice(BACKGROUND)
            received = at(day, rng.uniform(7, 19))
            onset = (received - dt.timedelta(days=rng.choice((0, 1, 1, 2)))).date()
            add(received, site, disease, max(1, int(rng.expovariate(1 / mean))), onset)

    by_prefix = lambda prefix: [s for s in sites if s.startswith(prefix)]  # noqa: E731
    mougna, sofara = by_prefix(OUTBREAK_AREAS[0]), by_prefix(OUTBREAK_AREAS[1])
    if mougna and sofara:
        # cholera: the CHW of Mougna S1 texts, Mougna S2 has a tablet, Mougna S3 uses the app
        via = {0: Channel.sms, 1: Channel.dhis2, 2: Channel.http}
        for day in range(2, 7):
            for i, site in enumerate(mougna[: 1 + (day - 2) // 2]):
                received = at(day, rng.uniform(8, 12))
                add(received, site, "cholera", 1 + day - 2, (received - dt.timedelta(days=1)).date(),
                    channel=via[i % 3], story="cholera outbreak", sex="F", age_group="5+",
                    text=None if via[i % 3] is Channel.sms else "diarrhée aqueuse, vomissements")
        # the outbreak reaches Sofara (SMS)
        received = at(6, 10.5)
        add(received, sofara[0], "cholera", 2, (received - dt.timedelta(days=1)).date(), channel=Channel.sms,
            story="cholera reaches Sofara", sex="M", age_group="<5")
        # a tablet that syncs late: a case from the previous epi week, already closed when it arrives
        late = at(5, 15)
        closed_sunday = late.date() - dt.timedelta(days=3 + (late.date() - dt.timedelta(days=3)).isoweekday() % 7)
        add(late, sofara[-1], "cholera", 2, closed_sunday - dt.timedelta(days=1), channel=Channel.dhis2,
            story="late tablet sync (raised late)")
    # a garbled SMS (rejected, with a reply) and the CHW's corrected SMS
    if mougna:
        add(at(3, 7.5), mougna[-1], None, 0, at(3, 0).date(), channel=Channel.sms, story="garbled SMS",
            text=GARBLED_SMS)
    # malaria surge in Djenné (days 3-6): improved Farrington at district level
    djenne = by_prefix(MALARIA_SURGE_DISTRICT + "-")
    for day in range(3, 7):
        for site in rng.sample(djenne, k=min(4, len(djenne))):
            received = at(day, rng.uniform(8, 18))
            add(received, site, "malaria", rng.randint(6, 10), (received - dt.timedelta(days=1)).date(),
                story="malaria surge", sex=rng.choice("FM"), age_group=rng.choice(("<5", "5+")))
    # ILI surge in Kouakour (days 4-6): EARS C2 at health-area level
    for day in range(4, 7):
        for site in by_prefix(ILI_SURGE_AREA):
            received = at(day, rng.uniform(8, 18))
            add(received, site, "ili", rng.randint(3, 5), received.date(), story="ILI surge")
    # IDSR rules: measles in San (6 cases, one onset day, so one calendar month) and meningitis in a
    # health area of Bandiagara (3 cases in one week)
    san = by_prefix(MEASLES_DISTRICT + "-")
    for i, site in enumerate(san[:3]):
        add(at(3 + i, 11), site, "measles", 2, at(3, 0).date(), story="measles (count rule)",
            channel=(Channel.sms, Channel.dhis2, Channel.http)[i])
    bandiagara = by_prefix(MENINGITIS_AREA_PREFIX + "-")
    if bandiagara:
        area = pyramid.ancestor_at(bandiagara[0], "health_area")
        for i, site in enumerate(s for s in bandiagara if pyramid.ancestor_at(s, "health_area") == area):
            if i < 2:
                add(at(4 + i, 9), site, "meningitis", 1 + i, at(4, 0).date(), story="meningitis (rate rule)",
                    channel=(Channel.sms, Channel.dhis2)[i])
    # an item the engine must reject and keep
    add(at(4, 9), UNKNOWN_SITE, "cholera", 1, at(4, 0).date(), channel=Channel.http, story="unknown place")
    out.sort(key=lambda r: r.received_at)
    # after the replay the engine runs live: one SMS at the end of the week, delivered in real time
    bamako = by_prefix("ML-BAM-")
    if bamako:
        add(end, bamako[0], "malaria", 2, end.date(), channel=Channel.sms, story="live", live=True)
    return out


# -- baseline history (5 years of weekly counts) ------------------------------------------------------

def demo_history(pyramid: Pyramid, end: dt.datetime, seed: int = 7, years: int = HISTORY_YEARS) -> list:
    """Synthetic weekly counts (``ingest.history.HistoryRow``) for the ISO weeks of the ``years``
    years before the demo week (up to the week before ``end - 7 days``; the demo week's own counts
    come from its reports). Negative binomial around a seasonal mean
    ``μ(w) = m · exp(a · cos(2π (w − peak) / 52))`` (size 10), seeded."""
    import numpy as np

    from ingest.history import HistoryRow

    rng = np.random.default_rng(seed)
    first_demo_day = (end - dt.timedelta(days=7)).date()
    last = first_demo_day - dt.timedelta(days=first_demo_day.isoweekday() - 1 + 7)   # Monday of the week before
    monday = last - dt.timedelta(weeks=52 * years)
    weeks = []
    while monday <= last:
        weeks.append(monday.isocalendar()[:2])
        monday += dt.timedelta(weeks=1)
    rows = []
    for disease, level, prefix, mean, amplitude, peak in HISTORY_SERIES:
        for unit in sorted((u.id for u in pyramid.at_level(level) if u.id.startswith(prefix))):
            mu = np.array([mean * math.exp(amplitude * math.cos(2 * math.pi * (w - peak) / 52)) for _, w in weeks])
            counts = rng.negative_binomial(10, 10 / (10 + mu))
            rows += [HistoryRow(unit, disease, int(y), int(w), int(c)) for (y, w), c in zip(weeks, counts)]
    return rows


def load_demo_history(pipeline: Any, end: dt.datetime, seed: int = 7) -> int:
    """Store :func:`demo_history` in ingest's ``weekly_counts_history``; the row count.

    The demo's series are replaced as a whole (one delete per series, one multi-row insert) rather
    than cell by cell as ``ingest.history.store_history`` does for uploads: ~0.2 s instead of ~1-3 s
    for 2,600 weeks on a loaded machine, same rows.
    """
    from ingest.tables import weekly_counts_history as t

    rows = demo_history(pipeline.pyramid, end, seed)
    now, source = pipeline.clock.now(), "sebac demo (synthetic)"
    with pipeline.db.begin() as conn:
        for area, disease in sorted({(r.area_id, r.disease) for r in rows}):
            conn.execute(t.delete().where((t.c.area_id == area) & (t.c.disease == disease)))
        conn.execute(t.insert(), [{"area_id": r.area_id, "disease": r.disease, "iso_year": r.iso_year,
                                   "iso_week": r.iso_week, "count": r.count, "source": source, "loaded_at": now}
                                  for r in rows])
    n = len(rows)
    log.info("demo: %d weeks of baseline history (%s)", n,
             ", ".join(f"{d} by {lvl} in {p}*" for d, lvl, p, *_ in HISTORY_SERIES))
    return n


# -- delivery through the real intake paths ------------------------------------------------------------

def dhis2_event(report: DemoReport, pyramid: Pyramid, mapping: Any) -> dict[str, Any]:
    """The DHIS2 tracker event a tablet would sync for a demo report, written with the mapping in force
    (data elements and option codes reversed): what ``POST /api/v1/dhis2/tracker`` receives."""
    p = report.payload
    prog = mapping.find(DHIS2_PROGRAM, DHIS2_STAGE)
    unit = pyramid.get(p["orgunit_id"]) if p["orgunit_id"] in pyramid else None
    values = []
    for fld, de in prog.dataElements.items():
        if p.get(fld) in (None, ""):
            continue
        reverse = {v: k for k, v in prog.options.get(fld, {}).items()}
        values.append({"dataElement": de, "value": reverse.get(str(p[fld]), str(p[fld]))})
    uid = "Dm" + "".join(c for c in p["client_id"] if c.isalnum())[-9:].rjust(9, "0")
    return {"event": uid, "program": DHIS2_PROGRAM, "programStage": DHIS2_STAGE,
            "orgUnit": (unit.dhis2_uid if unit and unit.dhis2_uid else p["orgunit_id"]),
            "occurredAt": p["onset_date"], "completedAt": p.get("report_date"), "status": "COMPLETED",
            "storedBy": p.get("reporter"), "dataValues": values}


@dataclass
class DemoTally:
    """What the replay did, for the summary."""
    items: Counter = field(default_factory=Counter)      # channel -> items
    outcomes: Counter = field(default_factory=Counter)   # (channel, status) -> items
    rejected: Counter = field(default_factory=Counter)   # error key -> items


class DemoFeeder(threading.Thread):
    """Delivers each demo item when the (catch-up) clock passes its receipt time, through the intake
    the real channel uses (SMS intake, DHIS2 import, pipeline submit), then logs a summary."""

    def __init__(self, pipeline: Any, reports: list[DemoReport], clock: Clock, stop: threading.Event, *,
                 channels: Any = None, users: Sequence[Any] = ()):
        super().__init__(name="sebac-demo-feeder", daemon=True)
        self.pipeline = pipeline
        self.reports = reports
        self.clock = clock
        self.stop_event = stop
        self.users = list(users)
        self.tally = DemoTally()
        self.finished = threading.Event()
        self._channels = channels
        self._phones: dict[str, str] | None = None
        self._seen_alert = 0

    @property
    def channels(self) -> Any:
        if self._channels is None:
            from ingest.channels import build_channels

            self._channels = build_channels(self.pipeline)
        return self._channels

    def phone_of(self, site: str) -> str | None:
        if self._phones is None:
            self._phones = {}
            for c in self.channels.registry.by_id.values():
                self._phones.setdefault(c.site_id, c.phone)
        return self._phones.get(site)

    def run(self) -> None:
        by = Counter(r.channel.value for r in self.reports)
        log.info("demo: replaying %d CHW reports of the past week (%s)", len(self.reports),
                 ", ".join(f"{n} {c}" for c, n in sorted(by.items())))
        for r in self.reports:
            while self.clock.now() < r.received_at:
                if self.stop_event.wait(0.02):
                    return
            if r.live:
                self._wait_until_live()
                log.info("demo: the week is replayed and the clock has caught up with real time; the engine "
                         "runs live now (POST /api/v1/reports, or an SMS gateway once its secret is set)")
            self.feed(r)
        log.info("demo: replay finished; see GET /api/v1/alerts")
        for line in self.summary():
            log.info("demo: %s", line)
        self.finished.set()

    def _wait_until_live(self, limit: float = 5.0) -> None:
        """Until the clock reads real time (a CatchUpClock that caught up), at most ``limit`` seconds:
        a live item's processing time is then measured in real seconds (``sebac_pipeline_lag_seconds``),
        not in demo seconds, which run ~15,000 times faster."""
        deadline = time.monotonic() + limit
        while (dt.datetime.now(dt.timezone.utc) - self.clock.now() > dt.timedelta(seconds=0.5)
               and time.monotonic() < deadline):
            if self.stop_event.wait(0.02):
                return

    def feed(self, r: DemoReport) -> str:
        try:
            status = self.deliver(r)
        except Exception:  # keep the demo alive; the error is in the log
            log.exception("demo report failed")
            status = "error"
        self.tally.items[r.channel.value] += 1
        self.tally.outcomes[(r.channel.value, status)] += 1
        self._log_new_alerts()
        return status

    def deliver(self, r: DemoReport) -> str:
        if r.channel is Channel.sms and r.sms_text is not None and (phone := self.phone_of(r.payload["orgunit_id"])):
            return self._sms(r, phone)
        if r.channel is Channel.dhis2 and r.payload.get("disease") in TABLET_DISEASES:
            return self._dhis2(r)
        res = self.pipeline.submit(r.payload, Channel.http)
        self._count_rejected(res.errors)
        if res.status == "rejected":
            log.info("demo: app report rejected (%s)", ", ".join(e.key for e in res.errors))
        return res.status

    def _sms(self, r: DemoReport, phone: str) -> str:
        """As ``POST /api/v1/sms/generic`` does: the gateway's message → SMS intake → reply."""
        from ingest.sms.gateways import InboundSms
        from ingest.sms.metrics import SMS_WEBHOOK_REQUESTS

        sms = InboundSms("generic", phone, r.sms_text, f"demo-{r.payload['client_id']}", r.received_at)
        outcome = self.channels.sms.handle(sms)
        SMS_WEBHOOK_REQUESTS.labels("generic", outcome.status).inc()
        self._count_rejected(outcome.errors)
        (log.warning if outcome.status in ("rejected", "unregistered") else log.info)(
            "demo: SMS from %s %r → %s; reply: %s", phone, r.sms_text, outcome.status, outcome.reply)
        return outcome.status

    def _dhis2(self, r: DemoReport) -> str:
        """As ``POST /api/v1/dhis2/tracker`` does: the tablet's event → DHIS2 import with the mapping."""
        from ingest.dhis2 import import_events

        event = dhis2_event(r, self.pipeline.pyramid, self.channels.dhis2_mapping)
        report = import_events(self.pipeline, self.channels.dhis2_mapping, {"events": [event]})
        stats = report["stats"]
        errors = report["validationReport"]["errorReports"]
        for e in errors:
            self.tally.rejected[e["errorCode"]] += 1
        status = "accepted" if stats["created"] else "duplicate" if stats["ignored"] and not errors else "rejected"
        log.info("demo: DHIS2 tracker event %s (%s) → import %s", event["event"], r.story or r.payload["disease"],
                 report["status"])
        return status

    def _count_rejected(self, errors: Iterable[Any]) -> None:
        for e in list(errors)[:1]:
            self.tally.rejected[e.key] += 1

    def _log_new_alerts(self) -> None:
        from alerts.tables import alerts

        with self.pipeline.db.connect() as conn:
            rows = conn.execute(sa.select(alerts.c.alert_id, alerts.c.disease, alerts.c.orgunit_id,
                                          alerts.c.raised_late).where(alerts.c.alert_id > self._seen_alert)
                                .order_by(alerts.c.alert_id)).all()
        for alert_id, disease, orgunit, late in rows:
            self._seen_alert = max(self._seen_alert, alert_id)
            if late:
                log.warning("demo: ALERT #%d (%s at %s) was RAISED LATE: its epi week had closed when the "
                            "data arrived (GET /api/v1/alerts/%d shows would_have_fired_at)",
                            alert_id, disease, orgunit, alert_id)

    def summary(self) -> list[str]:
        """Reports by channel, rejected items, alerts by disease and level, escalations, users."""
        from alerts.tables import alert_events, alert_signals, alerts

        t = self.tally
        lines = ["reports by channel: " + ", ".join(
            f"{c} {n} (" + ", ".join(f"{s} {k}" for (cc, s), k in sorted(t.outcomes.items()) if cc == c) + ")"
            for c, n in sorted(t.items.items()))]
        lines.append(f"rejected: {sum(t.rejected.values())} (" + ", ".join(
            f"{k} {n}" for k, n in sorted(t.rejected.items())) + ")")
        with self.pipeline.db.connect() as conn:
            rows = conn.execute(sa.select(alerts.c.alert_id, alerts.c.disease, alerts.c.level, alerts.c.orgunit_id,
                                          alerts.c.raised_late)).all()
            detectors: dict[int, set[str]] = {}
            for alert_id, key in conn.execute(sa.select(alert_signals.c.alert_id, alert_signals.c.dedup_key)):
                detectors.setdefault(alert_id, set()).add(key.split(":")[2])
            escalations = conn.execute(sa.select(alert_events.c.data).where(alert_events.c.type == "escalated")).all()
        by_disease: dict[str, Counter] = {}
        for _, disease, level, _, _ in rows:
            by_disease.setdefault(disease, Counter())[level] += 1
        lines.append(f"alerts: {len(rows)}: " + "; ".join(
            f"{d} {sum(c.values())} (" + ", ".join(f"{lvl} {n}" for lvl, n in sorted(c.items())) + ")"
            for d, c in sorted(by_disease.items())))
        raised_by = Counter(det for a, *_ in rows for det in detectors.get(a, ()))
        lines.append("alerts by rule/detector: " + ", ".join(f"{d} {n}" for d, n in sorted(raised_by.items())))
        late = [f"#{a} {d} at {o}" for a, d, _, o, is_late in rows if is_late]
        lines.append("raised late: " + (", ".join(late) or "none"))
        causes = Counter((e[0] or {}).get("cause", "?") for e in escalations)
        lines.append(f"escalations: {len(escalations)} (" + ", ".join(f"{c} {n}" for c, n in sorted(causes.items()))
                     + ")")
        if self.users:
            lines.append("demo users (log in with POST /api/v1/auth/token): " + ", ".join(
                f"{u.username}/{u.password}" for u in self.users))
        return lines


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
