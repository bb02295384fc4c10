"""Prometheus metrics of the ingest stage: intake counters (updated at the call site) and reporting
quality gauges (computed from the database at scrape time, see :func:`reporting_quality`).

Labels are bounded (STYLE principle 9): ``channel`` (the :class:`Channel` enum), ``region`` and
``district`` (org unit ids at those two pyramid levels, never a health area, site, person or phone),
``reason`` (a stable error key from the message catalogue, anything else becomes ``other``).
Call sites use the ``observe_*`` helpers, which resolve the labels from the report and the pyramid.

Reporting quality, per district, for the last complete epi week ``W = [start, end)``:

* completeness = sites with ≥ 1 report (or zero report) for ``W`` / sites;
* promptness   = sites whose first report for ``W`` was received before ``end + deadline`` / sites;
* silent sites = sites with nothing received during the last ``silent_days`` days (IDSR community
  practice: a site silent for ≥ 3 days is followed up).

A report is "for W" when its ``report_date`` falls in ``W`` (event time, principle 7). Reference:
WHO AFRO, *Technical Guidelines for IDSR*, 3rd ed. (2019), section 1 (completeness and timeliness).
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Iterable, Mapping

import sqlalchemy as sa
from prometheus_client import Counter, Histogram

from ingest.contracts import Channel, Report
from ingest.messages import CATALOGUE
from ingest.pyramid import Pyramid
from ingest.tables import metadata, reports

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


def observe_report_rejected(channel: Channel, error_keys: Iterable[str]) -> None:
    """Count a rejected item once, under its first error key."""
    first = next(iter(error_keys), OTHER)
    REPORTS_REJECTED.labels(channel.value, reason_label(first)).inc()


def precreate(pyramid: Pyramid) -> None:
    """Start every known label set at 0 (channels × districts, channels × reasons)."""
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


def quality_from_rows(pyramid: Pyramid, *, deadline: dt.datetime, silent_since: dt.datetime,
                      first_received: Mapping[str, dt.datetime],
                      last_received: Mapping[str, dt.datetime]) -> list[DistrictQuality]:
    """Pure: per-district indicators from, per reporting unit, the first receipt of a report for the
    week being measured (``first_received``) and the last receipt of anything (``last_received``).

    A report filed at a health area (not a site) counts for that area's sites' district but not for a
    site: the denominators are the pyramid's lowest-level units ("sites").
    """
    out = []
    site_level = pyramid.levels[-1]
    for d in sorted(pyramid.at_level("district"), key=lambda u: u.id):
        sites = [u.id for u in pyramid.descendants(d.id) if u.level == site_level]
        region, district = region_district(pyramid, d.id)
        n = len(sites)
        complete = sum(1 for s in sites if s in first_received)
        prompt = sum(1 for s in sites if s in first_received and first_received[s] < deadline)
        silent = sum(1 for s in sites if s not in last_received or last_received[s] < silent_since)
        out.append(DistrictQuality(region, district, n, silent, complete / n if n else 0.0,
                                   prompt / n if n else 0.0))
    return out


def _utc(v: dt.datetime) -> dt.datetime:
    return v if v.tzinfo else v.replace(tzinfo=dt.timezone.utc)


def last_complete_week(now: dt.datetime, start_day: int = 0) -> tuple[dt.date, dt.date]:
    """``[start, end)`` of the last epi week that ended before ``now`` (weeks start on ``start_day``)."""
    today = now.date()
    this_start = today - dt.timedelta(days=(today.weekday() - start_day) % 7)
    return this_start - dt.timedelta(days=7), this_start


def reporting_quality(conn: sa.Connection, pyramid: Pyramid, now: dt.datetime, *, start_day: int = 0,
                      silent_days: int = 3, deadline_days: int = 2) -> list[DistrictQuality]:
    """Read the receipts that matter (bounded by ``received_at`` windows) and compute the indicators."""
    start, end = last_complete_week(now, start_day)
    midnight = dt.datetime.combine(start, dt.time(), dt.timezone.utc)
    deadline = dt.datetime.combine(end, dt.time(), dt.timezone.utc) + dt.timedelta(days=deadline_days)
    silent_since = now - dt.timedelta(days=silent_days)
    first: dict[str, dt.datetime] = {}
    last: dict[str, dt.datetime] = {}
    # received_at ≥ week start is implied by report_date ≥ week start (no report is dated after receipt)
    rows = conn.execute(sa.select(reports.c.orgunit_id, sa.func.min(reports.c.received_at))
                        .where(reports.c.received_at >= midnight, reports.c.report_date >= start,
                               reports.c.report_date < end)
                        .group_by(reports.c.orgunit_id))
    for uid, at in rows:
        first[uid] = _utc(at)
    recent_from = min(silent_since, midnight)
    for uid, at in conn.execute(sa.select(reports.c.orgunit_id, sa.func.max(reports.c.received_at))
                                .where(reports.c.received_at >= recent_from).group_by(reports.c.orgunit_id)):
        last[uid] = _utc(at)
    zero = metadata.tables.get("zero_reports")
    if zero is not None:  # "nothing to report" counts for completeness and against silence
        from ingest.epiweek import epiweek  # noqa: PLC0415 (module added with zero reports)

        week = str(epiweek(start, start_day))
        for uid, at in conn.execute(sa.select(zero.c.orgunit_id, sa.func.min(zero.c.received_at))
                                    .where(zero.c.epiweek == week).group_by(zero.c.orgunit_id)):
            at = _utc(at)
            first[uid] = min(first.get(uid, at), at)
        for uid, at in conn.execute(sa.select(zero.c.orgunit_id, sa.func.max(zero.c.received_at))
                                    .where(zero.c.received_at >= recent_from).group_by(zero.c.orgunit_id)):
            at = _utc(at)
            last[uid] = max(last.get(uid, at), at)
    return quality_from_rows(pyramid, deadline=deadline, silent_since=silent_since,
                             first_received=first, last_received=last)
