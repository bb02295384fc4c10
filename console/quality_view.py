"""Data of the data-quality page: completeness and promptness per health area and site for one epi
week (definitions in :mod:`ingest.quality`), the silent sites, and the possible duplicates waiting for
a person to confirm or dismiss them (:mod:`ingest.duplicates`).

The scope is the user's org unit, or a district (or health area) within it chosen on the page.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Any

from alerts.users import User, alert_scope
from console.access import require
from console.i18n import N_, catalogue, when
from console.views import _disease as disease_name
from console.views import _name as place_name
from ingest.duplicates import pending_possible_duplicates
from ingest.epiweek import EpiWeek, epiweek, week_end, week_start
from ingest.errors import DomainError
from ingest.quality import UnitQuality, quality_report

WEEK = re.compile(r"^\d{4}-W\d{2}$")
DECISIONS = {"confirm": "confirmed", "dismiss": "distinct"}


def parse_week(text: str | None, now: dt.datetime, start_day: int) -> EpiWeek:
    """``2026-W48``; empty: the last complete week. Anything else is a 404 page (no such week)."""
    if not text:
        return epiweek(now.date() - dt.timedelta(days=7), start_day)
    wk = EpiWeek.parse(text) if WEEK.match(text) else None
    if wk is None or not 1 <= wk.week <= 53 or not 2000 <= wk.year <= 2100 \
            or epiweek(week_start(wk, start_day), start_day) != wk:
        raise DomainError("quality.week.invalid", f"no week {text[:20]}", status=404, week=text[:20])
    return wk


def shift(wk: EpiWeek, n: int, start_day: int) -> EpiWeek:
    return epiweek(week_start(wk, start_day) + dt.timedelta(weeks=n), start_day)


def scope_of(pipeline: Any, user: User, unit_id: str | None) -> str:
    """``unit_id`` when it is within the user's jurisdiction, else the user's own org unit."""
    scope, _ = alert_scope(user, pipeline.pyramid)
    if not unit_id:
        return scope
    unit = pipeline.pyramid.resolve(unit_id)
    if unit is None or not pipeline.pyramid.is_within(unit.id, scope):
        raise DomainError("auth.scope.forbidden", f"{unit_id[:64]} is outside your jurisdiction", status=403)
    return unit.id


def pct(v: float | None) -> str:
    return "—" if v is None else f"{round(100 * v)} %"


def unit_row(u: UnitQuality) -> dict[str, Any]:
    return {"id": u.orgunit_id, "name": u.name, "sites": u.sites, "complete": u.complete, "prompt": u.prompt,
            "reports": u.reports, "flagged": u.flagged, "completeness": pct(u.completeness),
            "promptness": pct(u.promptness), "duplicate_rate": pct(u.duplicate_rate),
            "low": u.completeness is not None and u.completeness < 0.8}


def silent_rows(q: Any, pyramid: Any, lang: str) -> list[dict[str, str]]:
    """The silent sites of a quality report, with their health area and last receipt."""
    t = catalogue(lang).gettext
    return [{"name": s.name, "area": pyramid.get(s.health_area_id).name if s.health_area_id else "—",
             "last": when(s.last_received, lang, "short") if s.last_received else t(N_("never"))}
            for s in q.sites if s.silent]


def quality_view(pipeline: Any, settings: Any, user: User, week: str | None, unit_id: str | None,
                 now: dt.datetime, lang: str) -> dict[str, Any]:
    require(user, "quality")
    t = catalogue(lang).gettext
    start_day = pipeline.start_day
    wk = parse_week(week, now, start_day)
    scope = scope_of(pipeline, user, unit_id)
    pyramid = pipeline.pyramid
    with pipeline.db.connect() as conn:
        q = quality_report(conn, pyramid, scope, wk, now=now, start_day=start_day,
                           deadline_days=settings.promptness_deadline_days, silent_days=settings.silent_after_days)
        pairs = pending_possible_duplicates(conn, limit=500)
        pairs = [p for p in pairs if pyramid.is_within(p.orgunit_id, scope)][:100]
        reports = {r: pipeline.reports.get(conn, r) for p in pairs for r in (p.report_id, p.duplicate_of)}
    own, _ = alert_scope(user, pyramid)
    choices = [u for u in pyramid.descendants(own) if u.level in ("district", "health_area")]
    return {
        "week": str(wk), "prev": str(shift(wk, -1, start_day)), "next": str(shift(wk, 1, start_day)),
        "has_next": week_start(shift(wk, 1, start_day), start_day) <= now.date(),
        "from": when(week_start(wk, start_day), lang, "short"), "to": when(week_end(wk, start_day), lang, "short"),
        "deadline": when(q.deadline, lang, "short"),
        "scope": {"id": scope, "name": pyramid.get(scope).name}, "summary": unit_row(q.summary),
        "areas": [unit_row(a) for a in q.health_areas],
        "silent": silent_rows(q, pyramid, lang),
        "silent_days": settings.silent_after_days,
        "units": [{"value": u.id, "label": f"{u.name} ({t(N_('district')) if u.level == 'district' else t(N_('health area'))})"}
                  for u in sorted(choices, key=lambda u: (u.level != "district", u.name))],
        "duplicates": [{
            "report_id": p.report_id, "duplicate_of": p.duplicate_of,
            "place": place_name(pipeline, p.orgunit_id), "disease": disease_name(pipeline, p.disease, lang),
            "cases": p.cases, "onset": when(p.onset_date, lang, "short"),
            "a": _brief(reports.get(p.report_id), lang), "b": _brief(reports.get(p.duplicate_of), lang),
            "cross_channel": p.cross_channel, "held": p.report_state == "held",
        } for p in pairs],
    }


def _brief(report: Any, lang: str) -> dict[str, str]:
    if report is None:
        return {"channel": "—", "received": "—", "reporter": "—", "text": ""}
    channel = report.channel.value if hasattr(report.channel, "value") else str(report.channel)
    return {"channel": channel, "received": when(report.received_at, lang, "short"),
            "reporter": report.reporter or "—", "text": getattr(report, "text", None) or ""}


def decide_duplicate(pipeline: Any, user: User, report_id: str, duplicate_of: str, decision: str) -> str:
    """Confirm (the same cases twice: the later report stops counting) or dismiss (two real reports:
    a report held out of the counts counts again) a possible-duplicate pair
    (:meth:`sebac.pipeline.Pipeline.decide_duplicate`)."""
    require(user, "duplicates")
    status = DECISIONS.get(decision)
    if status is None:
        raise DomainError("duplicate.decision.unknown", f"unknown decision {decision[:20]!r}", status=404)
    scope, _ = alert_scope(user, pipeline.pyramid)
    with pipeline.db.connect() as conn:
        report = pipeline.reports.get(conn, report_id[:36])
    if report is None or not pipeline.pyramid.is_within(report.orgunit_id, scope):
        raise DomainError("duplicate.not_found", "no such possible-duplicate pair", status=404)
    pipeline.decide_duplicate(report_id[:36], duplicate_of[:36], status, by=user.username)
    return status
