"""Console pages (server-rendered HTML; every action a plain form POST → 303, boosted by htmx when
JavaScript is on). Page data comes from :mod:`console.views`; this module only reads the request,
checks the session and CSRF, and renders."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from alerts.lifecycle import ACTIONS
from alerts.messages import message
from api.auth import tokens, user_of_token
from api.deps import get_services, get_settings
from api.params import DB_INT_MAX
from api.routers.auth import _judge
from console import session
from console.access import menu
from console.i18n import catalogue, languages, page_lang
from console.views import InboxFilters, alert_view, inbox_view
from ingest.errors import DomainError

router = APIRouter(include_in_schema=False)
TEMPLATES = Path(__file__).parent / "templates"
VENDOR = Path(__file__).parent / "static" / "vendor"
_envs: dict[str, Environment] = {}


def env(lang: str) -> Environment:
    if lang not in _envs:
        e = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                        extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True)
        e.install_gettext_translations(catalogue(lang), newstyle=True)  # type: ignore[attr-defined]
        _envs[lang] = e
    return _envs[lang]


def _user(request: Request) -> Any:
    raw = session.session_token(request)
    return user_of_token(get_services(request), raw) if raw else None


def render(request: Request, name: str, lang: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    raw = session.session_token(request)
    values = {"user": None, "lang": lang, "csrf": session.csrf_for(raw) if raw else "",
              "htmx": (VENDOR / "htmx.min.js").exists(), "languages": languages(), "layout": "base.html"} | ctx
    values["menu"] = menu(values["user"]) if values["user"] else []
    page = env(lang).get_template(name).render(**values)
    return HTMLResponse(page, status_code=status, headers={"Cache-Control": "no-store"})


def _error(request: Request, lang: str, user: Any, exc: DomainError) -> HTMLResponse:
    text = message(exc.key, lang, str(exc), **getattr(exc, "params", {}))
    return render(request, "error.html", lang, status=exc.status, user=user, error=text, key=exc.key)


def _lang(request: Request, user: Any) -> str:
    return page_lang(user.lang if user else None, request.headers.get("accept-language"))


def _to_login(request: Request) -> RedirectResponse:
    target = "/login?" + urlencode({"next": request.url.path + (f"?{request.url.query}" if request.url.query else "")})
    return RedirectResponse(target, status_code=303)


@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:
    lang = _lang(request, None)
    token = session.login_csrf(request)
    resp = render(request, "login.html", lang, csrf=token, next=_safe_next(next))
    session.set_cookie(resp, request, session.LOGIN_CSRF_COOKIE, token, max_age=3600)
    return resp


def _safe_next(target: str) -> str:
    return target if target.startswith("/") and not target.startswith("//") else "/"


@router.post("/login")
async def login_submit(request: Request) -> Response:
    form = await request.form()
    lang = _lang(request, None)
    username, password = str(form.get("username", "")), str(form.get("password", ""))
    nxt = _safe_next(str(form.get("next", "/")))
    if not session.login_csrf_ok(request, str(form.get("csrf", ""))):
        return render(request, "login.html", lang, status=403, csrf=session.login_csrf(request), next=nxt,
                      error=catalogue(lang).gettext("The form expired; please try again."), username=username)
    pipeline = get_services(request)
    ttl = dt.timedelta(hours=get_settings(request).auth_token_hours)
    address = request.client.host if request.client else None
    decision, user, issued = await run_in_threadpool(_judge, pipeline, username, password, address, ttl)
    if not decision.allowed:
        text = message("auth.login.throttled", lang, "too many attempts", seconds=decision.retry_after_seconds)
        return render(request, "login.html", lang, status=429, csrf=session.login_csrf(request), next=nxt,
                      error=text, username=username)
    if user is None or issued is None:
        return render(request, "login.html", lang, status=401, csrf=session.login_csrf(request), next=nxt,
                      error=message("auth.login.failed", lang, "wrong username or password"), username=username)
    raw, expires = issued
    resp = RedirectResponse(nxt, status_code=303)
    session.set_cookie(resp, request, session.SESSION_COOKIE, raw, max_age=int(ttl.total_seconds()))
    return resp


@router.post("/logout")
async def logout(request: Request) -> Response:
    form = await request.form()
    raw = session.session_token(request)
    if raw and session.csrf_ok(request, str(form.get("csrf", ""))):
        pipeline = get_services(request)
        with pipeline.db.begin() as conn:
            tokens.revoke(conn, raw, pipeline.alert_clock.now())
    resp = RedirectResponse("/login", status_code=303)
    session.clear_session(resp)
    return resp


def _filters(request: Request) -> InboxFilters:
    try:
        return InboxFilters.model_validate(dict(request.query_params))
    except ValidationError:
        return InboxFilters()


@router.get("/")
def inbox(request: Request) -> Response:
    user = _user(request)
    if user is None:
        return _to_login(request)
    lang = _lang(request, user)
    f = _filters(request)
    try:
        services = get_services(request)
        data = inbox_view(services, user, f, services.alert_clock.now(), lang)
    except DomainError as exc:
        return _error(request, lang, user, exc)
    query = urlencode({k: v for k, v in f.model_dump().items() if v})
    partial = request.headers.get("hx-request") == "true" and request.headers.get("hx-target") == "inbox-rows"
    return render(request, "_inbox_rows.html" if partial else "inbox.html", lang, user=user, page=data, query=query)


@router.get("/alerts/{alert_id}")
def alert_page(request: Request, alert_id: int) -> Response:
    user = _user(request)
    if user is None:
        return _to_login(request)
    lang = _lang(request, user)
    return _alert(request, lang, user, alert_id)


def _known_id(alert_id: int) -> None:
    """An id no row can have (beyond the ``integer`` column) is a 404 page, before SQL overflows."""
    if not 1 <= alert_id <= DB_INT_MAX:
        raise DomainError("alert.notFound", f"alert {alert_id} not found", status=404, id=alert_id)


def _alert(request: Request, lang: str, user: Any, alert_id: int, status: int = 200, error: str = "") -> Response:
    pipeline = get_services(request)
    try:
        _known_id(alert_id)
        data = alert_view(pipeline, user, alert_id, pipeline.alert_clock.now(), lang)
    except DomainError as exc:
        return _error(request, lang, user, exc)
    return render(request, "alert.html", lang, status=status, user=user, a=data, error=error)


@router.post("/alerts/{alert_id}/{action}")
async def alert_action(request: Request, alert_id: int, action: str) -> Response:
    user = _user(request)
    if user is None:
        return _to_login(request)
    lang = _lang(request, user)
    form = await request.form()
    if not session.csrf_ok(request, str(form.get("csrf", ""))):
        return _alert(request, lang, user, alert_id, status=403,
                      error=catalogue(lang).gettext("The form expired; please try again."))
    pipeline = get_services(request)
    reason = str(form.get("reason", "")).strip() or None
    assessment = None
    if action == "assess":
        assessment = {"kind": str(form.get("kind", "")), "text": str(form.get("text", "")).strip()}
        if form.get("risk"):
            assessment["risk"] = str(form.get("risk"))
    try:
        if action not in ACTIONS:
            raise DomainError("alert.action.unknown", f"unknown action {action!r}", status=404)
        _known_id(alert_id)
        with pipeline.db.begin() as conn:
            pipeline.alerting.act(conn, alert_id, action, user, pipeline.alert_clock.now(), reason=reason,
                                  assessment=assessment)
    except DomainError as exc:
        text = message(exc.key, lang, str(exc), **getattr(exc, "params", {}))
        return _alert(request, lang, user, alert_id, status=exc.status, error=text)
    return RedirectResponse(f"/alerts/{alert_id}", status_code=303)
