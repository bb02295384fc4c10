"""The data of each console page, as plain dicts: one function per page, callable by a test without a
browser or an HTTP server. Templates only loop and test over what these return.

Jurisdiction is the API's: :func:`alerts.users.alert_scope` for lists, :func:`authorize_read` for
one alert, :meth:`AlertService.allowed_actions` for the buttons.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from alerts.assessment import RISK_GRADES, summary
from alerts.lifecycle import TRANSITIONS
from alerts.outbox import OutboxRepository
from alerts.timeliness import timeliness
from alerts.users import User, alert_scope, authorize_read
from console.chart import weekly_chart
from console.i18n import N_, ago, catalogue, when
from console.series import alert_series
from ingest.errors import DomainError

STATUS = {"open": N_("open"), "acknowledged": N_("acknowledged"), "verified": N_("verified"),
          "discarded": N_("discarded"), "response": N_("in response"), "closed": N_("closed")}
LEVEL = {"site": N_("site"), "health_area": N_("health area"), "district": N_("district"),
         "region": N_("region"), "national": N_("national")}
ACTION = {"acknowledge": N_("Acknowledge"), "verify": N_("Verify (confirmed)"),
          "discard": N_("Discard (not an outbreak)"), "respond": N_("Start the response"),
          "close": N_("Close"), "escalate": N_("Escalate to the next level"), "take_over": N_("Take over")}
EVENT = {"created": N_("created"), "signal_merged": N_("signal merged"), "acknowledged": N_("acknowledged"),
         "verified": N_("verified"), "discarded": N_("discarded"), "response_started": N_("response started"),
         "closed": N_("closed"), "escalated": N_("escalated"), "taken_over": N_("taken over"),
         "assessed": N_("assessed"), "notified": N_("notified"), "notification_sent": N_("notification sent"), "reopened": N_("reopened"),
         "report_corrected": N_("report corrected"), "report_retracted": N_("report retracted"),
         "report_duplicate": N_("report confirmed as a duplicate")}
RISK = {"low": N_("low"), "moderate": N_("moderate"), "high": N_("high"), "very_high": N_("very high")}
MILESTONE = {"met": N_("met"), "missed": N_("missed"), "pending": N_("pending")}
RISK_ORDER = {1: "low", 2: "moderate", 3: "high", 4: "very_high"}
PERIODS = (7, 30, 90, 365)
outbox = OutboxRepository()


class InboxFilters(BaseModel):
    model_config = ConfigDict(extra="ignore")

    status: str = Field(default="", pattern=r"^[a-z_]{0,20}$")
    disease: str = Field(default="", max_length=64)
    district: str = Field(default="", max_length=64)
    level: str = Field(default="", pattern=r"^[a-z_]{0,20}$")
    period: int = Field(default=0, ge=0, le=3660, description="days back; 0 = all")


def _t(lang: str):
    return catalogue(lang).gettext


def _name(pipeline: Any, uid: str | None) -> str:
    return pipeline.pyramid.get(uid).name if uid and uid in pipeline.pyramid else (uid or "—")


def _disease(pipeline: Any, code: str, lang: str) -> str:
    return pipeline.diseases.get(code).name(lang) if code in pipeline.diseases else code


def inbox_view(pipeline: Any, user: User, f: InboxFilters, now: dt.datetime, lang: str) -> dict[str, Any]:
    t = _t(lang)
    scope, jurisdiction = alert_scope(user, pipeline.pyramid)
    filters: dict[str, Any] = dict(district_ids=[f.district] if f.district else None, disease=f.disease or None,
                                   orgunit_ids=jurisdiction, level=f.level or None,
                                   created_since=now - dt.timedelta(days=f.period) if f.period else None)
    with pipeline.db.connect() as conn:
        counts = pipeline.alerts.count_by_status(conn, **filters)
        rows = pipeline.alerts.list(conn, status=[f.status] if f.status else None, limit=100, **filters)
    items = [{
        "id": a.alert_id, "disease": _disease(pipeline, a.disease, lang), "place": _name(pipeline, a.orgunit_id),
        "district": _name(pipeline, a.district_id), "status": a.status.value, "status_label": t(STATUS[a.status.value]),
        "level_label": t(LEVEL.get(a.level, a.level)), "risk": RISK_ORDER[a.risk],
        "risk_label": t(RISK[RISK_ORDER[a.risk]]), "cases": int(a.cases), "created": ago(a.created_at, now, lang),
        "created_at": when(a.created_at, lang, "short"),
        "deadline": ago(a.escalate_at, now, lang) if a.status.value == "open" and a.escalate_at else "",
        "overdue": bool(a.status.value == "open" and a.escalate_at and a.escalate_at <= now),
    } for a in rows]
    districts = [u for u in pipeline.pyramid.descendants(scope) if u.level == "district"]
    return {
        "alerts": items, "filters": f.model_dump(),
        "counts": [{"status": s, "label": t(label), "n": counts.get(s, 0)} for s, label in STATUS.items()],
        "total": sum(counts.values()),
        "options": {
            "status": [{"value": s, "label": t(label)} for s, label in STATUS.items()],
            "disease": [{"value": d.code, "label": d.name(lang)} for d in pipeline.diseases],
            "district": [{"value": u.id, "label": u.name} for u in sorted(districts, key=lambda u: u.name)],
            "level": [{"value": v, "label": t(label)} for v, label in LEVEL.items() if v in pipeline.pyramid.levels],
            "period": [{"value": d, "label": t(N_("last %(n)d days")) % {"n": d}} for d in PERIODS],
        },
        "scope": _name(pipeline, scope),
    }


def _reports(pipeline: Any, conn: Any, signals: list[Any], lang: str) -> list[dict[str, Any]]:
    ids: list[str] = []
    for s in signals:
        ids += [r for r in s.report_ids if r not in ids and not r.startswith("day:")]
    out = []
    for rid in ids[:50]:
        r = pipeline.reports.get(conn, rid)
        if r is None:
            continue
        out.append({"received": when(r.received_at, lang, "short"), "reporter": r.reporter or "—",
                    "channel": r.channel.value if hasattr(r.channel, "value") else str(r.channel),
                    "cases": r.cases, "onset": when(r.onset_date, lang, "short"), "place": _name(pipeline, r.orgunit_id),
                    "text": getattr(r, "text", None) or ""})
    return out


def alert_view(pipeline: Any, user: User, alert_id: int, now: dt.datetime, lang: str) -> dict[str, Any]:
    t = _t(lang)
    with pipeline.db.connect() as conn:
        alert = pipeline.alerts.get(conn, alert_id)
        if alert is None:
            raise DomainError("alert.notFound", f"alert {alert_id} not found", status=404, id=alert_id)
        authorize_read(user, alert, pipeline.pyramid)
        events = pipeline.alerts.events(conn, alert_id)
        signals = pipeline.alerts.signals(conn, alert_id)
        sent = outbox.for_alert(conn, alert_id)
        series = alert_series(pipeline, conn, alert, signals)
        reports = _reports(pipeline, conn, signals, lang)
    path = [u.name for u in reversed(pipeline.pyramid.ancestors(alert.orgunit_id))] \
        if alert.orgunit_id in pipeline.pyramid else [alert.orgunit_id]
    allowed = pipeline.alerting.allowed_actions(user, alert)
    needs_reason = {tr.action for tr in TRANSITIONS.values() if tr.needs_reason}
    tl = timeliness(alert, now)
    assess = summary(events)
    return {
        "id": alert.alert_id, "disease": _disease(pipeline, alert.disease, lang), "path": path,
        "status": alert.status.value, "status_label": t(STATUS[alert.status.value]),
        "level_label": t(LEVEL.get(alert.level, alert.level)), "risk": RISK_ORDER[alert.risk],
        "risk_label": t(RISK[RISK_ORDER[alert.risk]]), "cases": int(alert.cases), "detector": alert.detector,
        "created": when(alert.created_at, lang), "created_ago": ago(alert.created_at, now, lang),
        "deadline": ago(alert.escalate_at, now, lang) if alert.status.value == "open" and alert.escalate_at else "",
        "chart": weekly_chart(series.weeks, series.counts, series.thresholds, series.alert_week),
        "chart_rows": list(zip(series.weeks, series.counts, series.thresholds)),
        "alert_week": series.alert_week,
        "reports": reports,
        "signals": [{"week": s.epiweek, "detector": s.detector, "observed": s.observed,
                     "threshold": None if s.threshold is None else round(s.threshold, 2),
                     "detected": when(s.detected_at, lang, "short")} for s in signals],
        "events": [{"type": t(EVENT.get(e.type, e.type)), "at": when(e.at, lang, "short"), "by": e.by,
                    "level": t(LEVEL.get(e.level, e.level)), "reason": e.reason or ""} for e in events],
        "notifications": [{"channel": n["channel"], "level": t(LEVEL.get(n["level"], n["level"] or "")),
                           "status": n["status"], "attempts": n["attempts"], "created": when(n["created_at"], lang, "short"),
                           "error": n["last_error"] or ""} for n in sent],
        "milestones": [{"name": t(name), "status": tl["status"].get(key), "status_label": t(MILESTONE[tl["status"][key]])
                        if tl["status"].get(key) else "—", "days": tl["days"].get(key),
                        "target": tl["targets_days"][key]}
                       for key, name in (("detection", N_("Detection (≤ 7 days after emergence)")),
                                         ("notification", N_("Notification (≤ 1 day)")),
                                         ("response", N_("Early response (≤ 7 days)")))],
        "actions": [{"name": a, "label": t(ACTION[a]), "needs_reason": a in needs_reason} for a in allowed
                    if a in ACTION],
        "can_assess": "assess" in allowed,
        "risk_grades": [{"value": g, "label": t(RISK[g])} for g in RISK_GRADES],
        "assessment": {
            "verification": assess["verification"] and {
                "outcome": t(N_("confirmed") if assess["verification"]["outcome"] == "confirmed" else N_("discarded")),
                "text": assess["verification"]["text"] or ""},
            "risk": assess["risk"] and {"grade": t(RISK.get(assess["risk"]["grade"], "")), "text": assess["risk"]["text"]},
            "response": [r["text"] for r in assess["response"]],
            "outcome": assess["outcome"] and assess["outcome"]["text"],
        },
    }
