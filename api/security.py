"""Security headers on every response (OWASP Secure Headers; REST Security Cheat Sheet).

* ``X-Content-Type-Options: nosniff`` — a JSON error echoing input is never sniffed into HTML;
* ``Referrer-Policy: same-origin`` — links out of the app carry no path (ids, filters) in Referer;
* ``X-Frame-Options: DENY`` and CSP ``frame-ancestors 'none'`` — no framing (clickjacking);
* ``Content-Security-Policy``: HTML gets :data:`HTML_POLICY` (``default-src 'self'``, so no inline
  script, no plugin, no ``<base>``); anything else :data:`API_POLICY` (``default-src 'none'``: a JSON
  body opened in a browser can load nothing). A route that needs another policy sets its own header,
  which is kept (the API docs: :mod:`api.routers.docs`).

A pure ASGI middleware: it edits the response start message only, so streamed bodies stay streamed.
"""
from __future__ import annotations

from typing import Any, Awaitable, Callable

HTML_POLICY = ("default-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
               "frame-ancestors 'none'")
API_POLICY = "default-src 'none'; frame-ancestors 'none'"
HEADERS = ((b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"same-origin"),
           (b"x-frame-options", b"DENY"))
CSP = b"content-security-policy"


def policy_for(content_type: str) -> str:
    return HTML_POLICY if content_type.split(";", 1)[0].strip().lower() == "text/html" else API_POLICY


def with_security_headers(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The response headers plus the security headers it lacks (a header already set is kept)."""
    present = {name.lower() for name, _ in headers}
    out = list(headers) + [(name, value) for name, value in HEADERS if name not in present]
    if CSP not in present:
        ctype = next((v.decode("latin-1") for n, v in headers if n.lower() == b"content-type"), "")
        out.append((CSP, policy_for(ctype).encode()))
    return out


class SecurityHeaders:
    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Callable[[], Awaitable[dict[str, Any]]],
                       send: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = message | {"headers": with_security_headers(list(message.get("headers", [])))}
            await send(message)

        await self.app(scope, receive, send_with_headers)
