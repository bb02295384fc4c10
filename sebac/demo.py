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

The feeder (:mod:`sebac.demo_feeder`) replays the week on a :class:`~ingest.clock.CatchUpClock`
(``--demo-seconds``, default 40) and logs a summary at the end: reports by channel, rejected items, alerts by disease and level,
escalations, and the demo users' credentials. Everything is seeded (same week for the same ``end``).
"""
from __future__ import annotations

import datetime as dt
import logging
import math
import random
from dataclasses import dataclass
from typing import Any

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
DEMO_SOURCE = "sebac demo (synthetic)"  # source of the demo's history rows: marks a database as the demo's


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
    now, source = pipeline.clock.now(), DEMO_SOURCE
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
