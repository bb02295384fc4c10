"""Console pages about the data rather than the alerts: rejected items, data quality, the weekly
district sitrep (HTML and PDF). Page data comes from :mod:`console.rejected_view`,
:mod:`console.quality_view` and :mod:`console.sitrep`; this module reads the request, checks the
session and CSRF, and renders."""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from alerts.users import alert_scope
from api.deps import get_services, get_settings
from api.routers._ingest_deps import get_channels
from console import session
from console.pdf import html_to_pdf
from console.quality_view import decide_duplicate, parse_week, quality_view
from console.rejected_view import RejectedFilters, rejected_view, reprocess_items
from console.routes import _error, _lang, _to_login, _user, env, render
from console.sitrep import sitrep_view
from ingest.errors import DomainError

router = APIRouter(include_in_schema=False)
RESULT = re.compile(r"^([a-z_]{1,20}\.\d{1,4},?){1,12}$")
IDS = re.compile(r"^[0-9a-f-]{36}$")


def _rejected_filters(request: Request) -> RejectedFilters:
    try:
        return RejectedFilters.model_validate(dict(request.query_params))
    except ValidationError:
        return RejectedFilters()


def _result(text: str) -> list[tuple[str, int]]:
    if not RESULT.match(text or ""):
        return []
    return [(k, int(n)) for k, n in (part.split(".") for part in text.split(",") if part)]


def _page(request: Request, name: str, build: Any, **ctx: Any) -> Response:
    """Log-in check, then ``build(user, lang)`` → the page, or the translated refusal."""
    user = _user(request)
    if user is None:
        return _to_login(request)
    lang = _lang(request, user)
    try:
        data = build(user, lang)
    except DomainError as exc:
        return _error(request, lang, user, exc)
    return render(request, name, lang, user=user, page=data, **ctx)


@router.get("/rejected")
def rejected_page(request: Request) -> Response:
    pipeline, f = get_services(request), _rejected_filters(request)
    registry = get_channels(request).registry
    result = _result(request.query_params.get("result", ""))
    return _page(request, "rejected.html", lambda user, lang: rejected_view(pipeline, registry, user, f, lang, result),
                 query=urlencode({k: v for k, v in f.model_dump().items() if v}))


@router.post("/rejected/reprocess")
async def rejected_reprocess(request: Request) -> Response:
    user = _user(request)
    if user is None:
        return _to_login(request)
    lang = _lang(request, user)
    form = await request.form()
    f = _rejected_filters(request)
    if not session.csrf_ok(request, str(form.get("csrf", ""))):
        return _error(request, lang, user, DomainError("console.form.expired", "form expired", status=403))
    ids = [str(i) for i in form.getlist("id") if IDS.match(str(i))]
    pipeline, channels = get_services(request), get_channels(request)
    try:
        counts = await run_in_threadpool(reprocess_items, pipeline, channels, user, ids)
    except DomainError as exc:
        return _error(request, lang, user, exc)
    query = {k: v for k, v in f.model_dump().items() if v} | {
        "result": ",".join(f"{k}.{n}" for k, n in sorted(counts.items())) or "none.0"}
    return RedirectResponse("/rejected?" + urlencode(query), status_code=303)


@router.get("/quality")
def quality_page(request: Request) -> Response:
    pipeline, settings = get_services(request), get_settings(request)
    week, unit = request.query_params.get("week", "")[:10], request.query_params.get("unit", "")[:64]
    return _page(request, "quality.html", lambda user, lang: quality_view(
        pipeline, settings, user, week, unit, pipeline.alert_clock.now(), lang))


@router.post("/quality/duplicates/{report_id}/{duplicate_of}/{decision}")
async def duplicate_decision(request: Request, report_id: str, duplicate_of: str, decision: str) -> Response:
    user = _user(request)
    if user is None:
        return _to_login(request)
    lang = _lang(request, user)
    form = await request.form()
    if not session.csrf_ok(request, str(form.get("csrf", ""))):
        return _error(request, lang, user, DomainError("console.form.expired", "form expired", status=403))
    try:
        decide_duplicate(get_services(request), user, report_id, duplicate_of, decision)
    except DomainError as exc:
        return _error(request, lang, user, exc)
    back = {k: str(form.get(k, ""))[:64] for k in ("week", "unit") if form.get(k)}
    return RedirectResponse("/quality" + ("?" + urlencode(back) if back else ""), status_code=303)


@router.get("/sitrep")
def sitrep_chooser(request: Request) -> Response:
    """The user's district and the last complete week, or a form to choose them."""
    user = _user(request)
    if user is None:
        return _to_login(request)
    lang = _lang(request, user)
    pipeline = get_services(request)
    now = pipeline.alert_clock.now()
    try:
        scope, _ = alert_scope(user, pipeline.pyramid)
        week = parse_week(request.query_params.get("week", "")[:10], now, pipeline.start_day)
    except DomainError as exc:
        return _error(request, lang, user, exc)
    district = request.query_params.get("district", "")[:64]
    if not district and pipeline.pyramid.get(scope).level == "district":
        district = scope
    if district:
        return RedirectResponse(f"/sitrep/{district}/{week}", status_code=303)
    districts = sorted((u for u in pipeline.pyramid.descendants(scope) if u.level == "district"), key=lambda u: u.name)
    return render(request, "sitrep_choose.html", lang, user=user, week=str(week),
                  districts=[{"value": u.id, "label": u.name} for u in districts])


@router.get("/sitrep/{district_id}/{iso_week}")
async def sitrep_page(request: Request, district_id: str, iso_week: str) -> Response:
    user = _user(request)
    if user is None:
        return _to_login(request)
    lang = _lang(request, user)
    pipeline, settings = get_services(request), get_settings(request)
    try:
        data = await run_in_threadpool(sitrep_view, pipeline, settings, user, district_id[:64], iso_week[:10],
                                       pipeline.alert_clock.now(), lang)
    except DomainError as exc:
        return _error(request, lang, user, exc)
    if request.query_params.get("format") != "pdf":
        return render(request, "sitrep.html", lang, user=user, page=data, layout="base.html")
    html = env(lang).get_template("sitrep.html").render(page=data, lang=lang, layout="print.html", user=None)
    pdf = await run_in_threadpool(html_to_pdf, html)
    name = f"sitrep-{data['district']['id']}-{data['week']}.pdf"
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{name}"', "Cache-Control": "no-store"})
