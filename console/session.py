"""Console sessions: the login token of :mod:`api.auth` in a cookie, and CSRF tokens.

* ``sebac_session``: the raw ``sbt_…`` token (stored server-side as SHA-256 only, with expiry and
  revocation, like API logins). HttpOnly, SameSite=Lax, Secure when the request came over HTTPS.
* CSRF (OWASP CSRF Prevention Cheat Sheet, "signed double-submit"): every POST form carries
  ``csrf = HMAC-SHA256(session token, "sebac-csrf")``; a form whose field does not match the cookie's
  session is refused. Before login there is no session: the login form's token is a random value
  also set in the ``sebac_login_csrf`` cookie.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request, Response

SESSION_COOKIE = "sebac_session"
LOGIN_CSRF_COOKIE = "sebac_login_csrf"


def session_token(request: Request) -> str | None:
    raw = request.cookies.get(SESSION_COOKIE)
    return raw if raw and raw.startswith("sbt_") else None


def csrf_for(raw: str) -> str:
    return hmac.new(raw.encode(), b"sebac-csrf", hashlib.sha256).hexdigest()[:40]


def csrf_ok(request: Request, sent: str | None) -> bool:
    raw = session_token(request)
    return bool(raw and sent and hmac.compare_digest(csrf_for(raw), sent))


def login_csrf(request: Request) -> str:
    return request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)


def login_csrf_ok(request: Request, sent: str | None) -> bool:
    kept = request.cookies.get(LOGIN_CSRF_COOKIE)
    return bool(kept and sent and hmac.compare_digest(kept, sent))


def _secure(request: Request) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"


def set_cookie(response: Response, request: Request, name: str, value: str, max_age: int | None) -> None:
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="lax", secure=_secure(request),
                        path="/")


def clear_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")
