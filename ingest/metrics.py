"""Prometheus metrics of the ingest stage: intake counters (updated at the call site) and reporting
quality gauges (computed from the database at scrape time, see :func:`reporting_quality`).

Labels are bounded (STYLE principle 9): ``channel`` (the :class:`Channel` enum), ``region`` and
``district`` (org unit ids at those two pyramid levels, never a health area, site, person or phone),
``reason`` (a stable error key from the message catalogue, anything else becomes ``other``).
Call sites use the ``observe_*`` helpers, which resolve the labels from the report and the pyramid.

Reporting quality per district (completeness, promptness, duplicate rate, silent sites) for the last
complete epi week is computed at scrape time with :mod:`ingest.quality` (one definition, shared with
``GET /api/v1/quality``).
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Iterable

import sqlalchemy as sa
from prometheus_client import Counter, Histogram

from ingest.contracts import Channel, Report
from ingest.epiweek import epiweek
from ingest.messages import CATALOGUE
from ingest.pyramid import Pyramid
from ingest.quality import compute_quality, load_receipts

UNKNOWN = "unknown"
OTHER = "other"
DAY = 86400.0
LATENESS_BUCKETS = tuple(d * DAY for d in (0.5, 1, 2, 3, 5, 7, 14, 28))

REPORTS_RECEIVED = Counter("sebac_reports_received", "Reports accepted (new), by channel, region and district",
                           ["channel", "region", "district"])
REPORTS_DUPLICATE = Counter("sebac_reports_duplicate", "Reports answered 'duplicate' (same idempotency key)",
                            ["channel", "region", "district"])
REPORTS_REJECTED = Counter("sebac_reports_rejected", "Input items rejected, by channel and first error key",
                           ["channel", "reason"])
REPORT_LATENESS = Histogram("sebac_report_lateness_seconds", "Receipt time minus onset date (midnight UTC) "
                            "of accepted reports", ["channel", "region"], buckets=LATENESS_BUCKETS)

REPORTS_REVISED = Counter("sebac_reports_revised", "Stored reports revised, by change (corrected, retracted, "
                          "held, released, duplicate)", ["change"])
REVISION_CHANGES = ("corrected", "retracted", "held", "released", "duplicate")  # ingest.corrections.CHANGES

_KEY = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")


def known_reasons() -> list[str]:
    """Every error key the message catalogue knows (bounded by code), plus ``other``."""
    keys = {k for k in CATALOGUE.get("en", {}) if _KEY.match(k) and k not in ("report.accepted", "report.duplicate")}
    return sorted(keys) + [OTHER]


def reason_label(key: str) -> str:
    """A catalogue key stays itself; anything else (a key carrying data, a typo) becomes ``other``."""
    return key if _KEY.match(key or "") and key in CATALOGUE.get("en", {}) else OTHER


def region_district(pyramid: Pyramid, district_id: str | None) -> tuple[str, str]:
    """``(region id, district id)`` labels of a district id, ``unknown`` when not in the pyramid."""
    if not district_id or district_id not in pyramid:
        return UNKNOWN, UNKNOWN
    district = pyramid.ancestor_at(district_id, "district")
    region = pyramid.ancestor_at(district_id, "region")
    return (region.id if region else UNKNOWN), (district.id if district else UNKNOWN)


def observe_report_received(report: Report, pyramid: Pyramid) -> None:
    """A new report was stored: count it and observe its lateness (receipt − onset)."""
    region, district = region_district(pyramid, report.district_id)
    REPORTS_RECEIVED.labels(report.channel.value, region, district).inc()
    onset = dt.datetime.combine(report.onset_date, dt.time(), dt.timezone.utc)
    REPORT_LATENESS.labels(report.channel.value, region).observe(max(0.0, (report.received_at - onset).total_seconds()))


def observe_report_duplicate(report: Report, pyramid: Pyramid) -> None:
    region, district = region_district(pyramid, report.district_id)
    REPORTS_DUPLICATE.labels(report.channel.value, region, district).inc()


def observe_report_revised(change: str) -> None:
    REPORTS_REVISED.labels(change if change in REVISION_CHANGES else OTHER).inc()


def observe_report_rejected(channel: Channel, error_keys: Iterable[str]) -> None:
    """Count a rejected item once, under its first error key."""
    first = next(iter(error_keys), OTHER)
    REPORTS_REJECTED.labels(channel.value, reason_label(first)).inc()


def precreate(pyramid: Pyramid) -> None:
    """Start every known label set at 0 (channels × districts, channels × reasons, revision changes)."""
    for change in REVISION_CHANGES:
        REPORTS_REVISED.labels(change)
    pairs = [region_district(pyramid, d.id) for d in pyramid.at_level("district")] + [(UNKNOWN, UNKNOWN)]
    for ch in Channel:
        for region, district in pairs:
            REPORTS_RECEIVED.labels(ch.value, region, district)
            REPORTS_DUPLICATE.labels(ch.value, region, district)
        for region in {r for r, _ in pairs if r != UNKNOWN}:  # accepted reports have a district
            REPORT_LATENESS.labels(ch.value, region)
        for reason in known_reasons():
            REPORTS_REJECTED.labels(ch.value, reason)


# -- reporting quality, from the database at scrape time ---------------------------------------------
@dataclass(frozen=True)
class DistrictQuality:
    region: str
    district: str
    sites: int
    silent: int
    completeness: float
    promptness: float
    duplicate_rate: float


def reporting_quality(conn: sa.Connection, pyramid: Pyramid, now: dt.datetime, *, start_day: int = 0,
                      silent_days: int = 3, deadline_days: int = 1) -> list[DistrictQuality]:
    """Per-district indicators of the last complete epi week, with the definitions (and the SQL) of
    :mod:`ingest.quality`, the same as ``GET /api/v1/quality``: one read of the receipts, then
    :func:`~ingest.quality.compute_quality` per district."""
    week = epiweek(now.date() - dt.timedelta(days=7), start_day)
    receipts = load_receipts(conn, week, now, start_day=start_day, silent_days=silent_days)
    out = []
    for d in sorted(pyramid.at_level("district"), key=lambda u: u.id):
        q = compute_quality(pyramid, d.id, week, receipts, now=now, deadline_days=deadline_days,
                            silent_days=silent_days, start_day=start_day)
        region, district = region_district(pyramid, d.id)
        s = q.summary
        out.append(DistrictQuality(region, district, s.sites, sum(site.silent for site in q.sites),
                                   s.completeness or 0.0, s.promptness or 0.0, s.duplicate_rate or 0.0))
    return out
