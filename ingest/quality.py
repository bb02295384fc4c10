"""Reporting quality per site and CSCom (health area) for one epi week: completeness, promptness,
duplicate rate, silent sites.

Definitions (IDSR practice, WHO AFRO *Technical Guidelines for IDSR*, 3rd ed. 2019, §1):

* **expected**: every site (lowest pyramid level) sends ≥ 1 report — possibly a zero report
  (``RAS``) — per epi week ``W``. A report is *for* ``W`` when its ``report_date`` is in ``W``
  (event time); a zero report carries its week.
* **completeness** of a unit = sites with ≥ 1 report for ``W`` / sites expected;
* **promptness** = sites whose *first* report for ``W`` was received before the deadline / sites
  expected, deadline = end of ``W`` + ``deadline_days`` (default 1: by the end of the Monday after
  a Monday-to-Sunday week);
* **duplicate rate** = reports for ``W`` flagged as possible duplicates / reports for ``W``;
* **silent sites**: nothing received from the site (report or zero report, any week) during the
  ``silent_days`` (default 3) days before ``now``.

:func:`compute_quality` is pure (receipts in, indicators out); :func:`load_receipts` is the SQL.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ingest.epiweek import EpiWeek, week_end, week_start
from ingest.pyramid import Pyramid
from ingest.tables import possible_duplicates, reports, zero_reports


@dataclass
class SiteReceipts:
    reports: int = 0                       # reports (and zero reports) for the week
    first_received: dt.datetime | None = None
    last_received: dt.datetime | None = None  # anything, any week, up to now
    flagged: int = 0                       # reports for the week flagged as possible duplicates


@dataclass(frozen=True)
class SiteQuality:
    site_id: str
    name: str
    health_area_id: str | None
    reports: int
    complete: bool
    prompt: bool
    first_received: dt.datetime | None
    last_received: dt.datetime | None
    silent: bool


@dataclass(frozen=True)
class UnitQuality:
    orgunit_id: str
    name: str
    level: str
    sites: int
    complete: int
    prompt: int
    reports: int
    flagged: int

    @property
    def completeness(self) -> float | None:
        return self.complete / self.sites if self.sites else None

    @property
    def promptness(self) -> float | None:
        return self.prompt / self.sites if self.sites else None

    @property
    def duplicate_rate(self) -> float | None:
        return self.flagged / self.reports if self.reports else None


@dataclass(frozen=True)
class QualityReport:
    week: EpiWeek
    scope_id: str
    deadline: dt.datetime
    silent_since: dt.datetime
    summary: UnitQuality
    health_areas: list[UnitQuality] = field(default_factory=list)
    sites: list[SiteQuality] = field(default_factory=list)


def deadline_of(week: EpiWeek, deadline_days: int, start_day: int = 0) -> dt.datetime:
    """Receipts strictly before this instant are prompt: midnight UTC after the deadline day."""
    last = week_end(week, start_day) + dt.timedelta(days=deadline_days)
    return dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), dt.UTC)


def compute_quality(pyramid: Pyramid, scope_id: str, week: EpiWeek, receipts: dict[str, SiteReceipts], *,
                    now: dt.datetime, deadline_days: int = 1, silent_days: int = 3, start_day: int = 0
                    ) -> QualityReport:
    """Pure: indicators for every site under ``scope_id`` (and every health area, and the scope)."""
    deadline = deadline_of(week, deadline_days, start_day)
    silent_since = now - dt.timedelta(days=silent_days)
    site_level = pyramid.levels[-1]
    site_rows: list[SiteQuality] = []
    for unit in pyramid.descendants(scope_id):
        if unit.level != site_level:
            continue
        r = receipts.get(unit.id, SiteReceipts())
        area = pyramid.ancestor_at(unit.id, "health_area") if "health_area" in pyramid.levels else None
        site_rows.append(SiteQuality(
            site_id=unit.id, name=unit.name, health_area_id=area.id if area else None, reports=r.reports,
            complete=r.reports > 0, prompt=r.first_received is not None and r.first_received < deadline,
            first_received=r.first_received, last_received=r.last_received,
            silent=r.last_received is None or r.last_received < silent_since))
    site_rows.sort(key=lambda s: s.site_id)

    def unit_quality(uid: str, rows: list[SiteQuality]) -> UnitQuality:
        u = pyramid.get(uid)
        flagged = sum(receipts.get(s.site_id, SiteReceipts()).flagged for s in rows)
        return UnitQuality(uid, u.name, u.level, len(rows), sum(s.complete for s in rows),
                           sum(s.prompt for s in rows), sum(s.reports for s in rows), flagged)

    by_area: dict[str, list[SiteQuality]] = {}
    for s in site_rows:
        if s.health_area_id:
            by_area.setdefault(s.health_area_id, []).append(s)
    areas = [unit_quality(a, rows) for a, rows in sorted(by_area.items())]
    return QualityReport(week, scope_id, deadline, silent_since, unit_quality(scope_id, site_rows), areas, site_rows)


def quality_report(conn: Connection, pyramid: Pyramid, scope_id: str, week: EpiWeek, *, now: dt.datetime,
                   start_day: int = 0, deadline_days: int = 1, silent_days: int = 3) -> QualityReport:
    """:func:`load_receipts` then :func:`compute_quality`: the indicators of ``scope_id`` for ``week``."""
    receipts = load_receipts(conn, week, now, start_day=start_day, silent_days=silent_days)
    return compute_quality(pyramid, scope_id, week, receipts, now=now, start_day=start_day,
                           deadline_days=deadline_days, silent_days=silent_days)


def _utc(v: dt.datetime | None) -> dt.datetime | None:
    return v if v is None or v.tzinfo else v.replace(tzinfo=dt.UTC)


def load_receipts(conn: Connection, week: EpiWeek, now: dt.datetime, *, start_day: int = 0,
                  silent_days: int = 3) -> dict[str, SiteReceipts]:
    """Per reporting unit: reports for ``week``, first receipt, last receipt, flagged duplicates."""
    start, end = week_start(week, start_day), week_end(week, start_day)
    out: dict[str, SiteReceipts] = {}

    def get(uid: str) -> SiteReceipts:
        return out.setdefault(uid, SiteReceipts())

    q = (sa.select(reports.c.orgunit_id, sa.func.count(), sa.func.min(reports.c.received_at))
         .where(reports.c.report_date >= start, reports.c.report_date <= end, reports.c.received_at <= now,
                reports.c.state != "retracted")  # a report deleted at the source was not sent
         .group_by(reports.c.orgunit_id))
    for uid, n, first in conn.execute(q):
        r = get(uid)
        r.reports += int(n)
        r.first_received = _utc(first)
    q = (sa.select(zero_reports.c.orgunit_id, sa.func.count(), sa.func.min(zero_reports.c.received_at))
         .where(zero_reports.c.epiweek == str(week), zero_reports.c.received_at <= now)
         .group_by(zero_reports.c.orgunit_id))
    for uid, n, first in conn.execute(q):
        r = get(uid)
        r.reports += int(n)
        first = _utc(first)
        r.first_received = min(r.first_received, first) if r.first_received and first else first
    # last receipt: only the recent past matters (silence is measured over the last days)
    horizon = min(now - dt.timedelta(days=max(silent_days, 1) * 10),
                  dt.datetime.combine(start, dt.time(), dt.UTC))
    for table in (reports, zero_reports):
        q = (sa.select(table.c.orgunit_id, sa.func.max(table.c.received_at))
             .where(table.c.received_at >= horizon, table.c.received_at <= now).group_by(table.c.orgunit_id))
        for uid, last in conn.execute(q):
            r = get(uid)
            last = _utc(last)
            r.last_received = max(r.last_received, last) if r.last_received and last else last
    q = (sa.select(reports.c.orgunit_id, sa.func.count(sa.distinct(possible_duplicates.c.report_id)))
         .join(reports, reports.c.report_id == possible_duplicates.c.report_id)
         .where(reports.c.report_date >= start, reports.c.report_date <= end)
         .group_by(reports.c.orgunit_id))
    for uid, n in conn.execute(q):
        get(uid).flagged += int(n)
    return out
