"""Data of the weekly district situation report (*bilan hebdomadaire*), the page a district sends up
the pyramid every Monday: cases per disease and health area for the week against the four weeks
before, the alerts raised and their status, 7-1-7 performance, completeness and promptness, and
the silent sites.

Definitions:

* cases of week *W* are the reports' cases by **onset week** (as the detectors and the alert chart
  count them, :mod:`detectors.weekly`); deaths likewise;
* *previous weeks* are W−4 … W−1; *mean* is their arithmetic mean; *trend* compares W with the
  mean (up when W > mean + 1, down when W < mean − 1);
* alerts *of the week* are those created during W (UTC) or whose emergence (earliest onset) is in W
  — a Monday's detection of last week's cases belongs to last week's report; *still active* are the
  other alerts neither closed nor discarded at generation time;
* 7-1-7 (:mod:`alerts.timeliness`) counts, per milestone, the alerts raised in W whose milestone is
  met / missed / pending at generation time;
* completeness, promptness, silent sites: :mod:`ingest.quality`.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from alerts.timeliness import timeliness
from alerts.users import User
from console.access import require
from console.i18n import catalogue, when
from console.views import STATUS
from console.views import _disease as disease_name
from console.views import _name as place_name
from console.quality_view import parse_week, scope_of, shift, silent_rows, unit_row
from ingest.epiweek import EpiWeek, epiweek, week_end, week_start
from ingest.errors import DomainError
from ingest.quality import quality_report
from ingest.tables import reports

BEFORE = 4  # previous weeks shown beside the report week
ACTIVE = ("open", "acknowledged", "verified", "response")
MILESTONES = ("detection", "notification", "response")


def weekly_cases(conn: Any, district_id: str, first: dt.date, last: dt.date
                 ) -> list[tuple[str, str, dt.date, int, int]]:
    """(health area, disease, onset date, cases, deaths) of the district's reports, onset in [first, last]."""
    q = (sa.select(reports.c.health_area_id, reports.c.disease, reports.c.onset_date,
                   sa.func.sum(reports.c.cases), sa.func.sum(reports.c.deaths))
         .where(reports.c.district_id == district_id, reports.c.onset_date >= first, reports.c.onset_date <= last)
         .group_by(reports.c.health_area_id, reports.c.disease, reports.c.onset_date))
    return [(a, d, o, int(c or 0), int(x or 0)) for a, d, o, c, x in conn.execute(q)]


def _trend(now: int, mean: float) -> str:
    return "up" if now > mean + 1 else "down" if now < mean - 1 else "flat"


def case_tables(rows: list[tuple[str, str, dt.date, int, int]], weeks: list[EpiWeek], start_day: int,
                pyramid: Any, diseases: Any, lang: str) -> list[dict[str, Any]]:
    """One table per disease with cases: rows per health area, columns ``weeks``, then a total row."""
    col = {str(w): i for i, w in enumerate(weeks)}
    cells: dict[str, dict[str, list[int]]] = {}
    deaths: dict[str, dict[str, int]] = {}
    for area, disease, onset, cases, dead in rows:
        i = col.get(str(epiweek(onset, start_day)))
        if i is None:
            continue
        cells.setdefault(disease, {}).setdefault(area, [0] * len(weeks))[i] += cases
        if i == len(weeks) - 1:
            deaths.setdefault(disease, {})[area] = deaths.get(disease, {}).get(area, 0) + dead
    out = []
    for disease in sorted(cells, key=lambda d: diseases.get(d).name(lang) if d in diseases else d):
        areas = cells[disease]
        total = [sum(v[i] for v in areas.values()) for i in range(len(weeks))]

        def row(name: str, counts: list[int], dead: int) -> dict[str, Any]:
            mean = sum(counts[:-1]) / (len(counts) - 1)
            return {"name": name, "counts": counts, "mean": round(mean, 1), "now": counts[-1], "deaths": dead,
                    "trend": _trend(counts[-1], mean)}

        out.append({
            "code": disease, "name": diseases.get(disease).name(lang) if disease in diseases else disease,
            "rows": [row(pyramid.get(a).name if a in pyramid else a, v, deaths.get(disease, {}).get(a, 0))
                     for a, v in sorted(areas.items(), key=lambda kv: (pyramid.get(kv[0]).name
                                                                        if kv[0] in pyramid else kv[0]))],
            "total": row("", total, sum(deaths.get(disease, {}).values())),
        })
    return out


def _alert_row(pipeline: Any, a: Any, now: dt.datetime, lang: str, labels: dict[str, str]) -> dict[str, Any]:
    tl = timeliness(a, now)
    return {"id": a.alert_id, "disease": disease_name(pipeline, a.disease, lang), "place": place_name(pipeline, a.orgunit_id),
            "status": a.status.value, "status_label": labels.get(a.status.value, a.status.value),
            "cases": int(a.cases), "created": when(a.created_at, lang, "short"),
            "milestones": {m: tl["status"].get(m) for m in MILESTONES}}


def sitrep_view(pipeline: Any, settings: Any, user: User, district_id: str, week: str, now: dt.datetime,
                lang: str) -> dict[str, Any]:
    require(user, "sitrep")
    t = catalogue(lang).gettext
    start_day = pipeline.start_day
    wk = parse_week(week, now, start_day)
    district = scope_of(pipeline, user, district_id)
    pyramid = pipeline.pyramid
    if pyramid.get(district).level != "district":
        raise DomainError("sitrep.district.invalid", f"{district} is not a district", status=404)
    weeks = [shift(wk, -n, start_day) for n in range(BEFORE, -1, -1)]
    start, end = week_start(wk, start_day), week_end(wk, start_day)
    t0 = dt.datetime.combine(start, dt.time(), dt.UTC)
    t1 = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), dt.UTC)
    with pipeline.db.connect() as conn:
        rows = weekly_cases(conn, district, week_start(weeks[0], start_day), end)
        q = quality_report(conn, pyramid, district, wk, now=now, start_day=start_day,
                           deadline_days=settings.promptness_deadline_days, silent_days=settings.silent_after_days)
        recent = pipeline.alerts.list(conn, district_ids=[district], created_since=t0, limit=1000)
        active = pipeline.alerts.list(conn, district_ids=[district], status=list(ACTIVE), limit=1000)
    labels = {k: t(v) for k, v in STATUS.items()}
    raised = sorted((a for a in recent if a.created_at < t1 or start <= a.emergence_date <= end),
                    key=lambda a: a.created_at)
    seen = {a.alert_id for a in raised}
    older = sorted((a for a in active if a.alert_id not in seen), key=lambda a: a.created_at)
    perf = {m: {"met": 0, "missed": 0, "pending": 0} for m in MILESTONES}
    for a in raised:
        if a.discarded_at is None:
            for m, s in timeliness(a, now)["status"].items():
                if s in perf[m]:
                    perf[m][s] += 1
    region = pyramid.ancestor_at(district, "region") if "region" in pyramid.levels else None
    return {
        "district": {"id": district, "name": pyramid.get(district).name}, "region": region.name if region else "",
        "week": str(wk), "from": when(start, lang, "long"), "to": when(end, lang, "long"),
        "generated": when(now, lang, "short"), "weeks": [str(w) for w in weeks],
        "diseases": case_tables(rows, weeks, start_day, pyramid, pipeline.diseases, lang),
        "raised": [_alert_row(pipeline, a, now, lang, labels) for a in raised],
        "older": [_alert_row(pipeline, a, now, lang, labels) for a in older],
        "perf": [{"name": m, "met": perf[m]["met"], "missed": perf[m]["missed"], "pending": perf[m]["pending"]}
                 for m in MILESTONES],
        "quality": unit_row(q.summary), "areas": [unit_row(a) for a in q.health_areas],
        "silent": silent_rows(q, pyramid, lang),
        "prev": str(shift(wk, -1, start_day)), "next": str(shift(wk, 1, start_day)),
    }
