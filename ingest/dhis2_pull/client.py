"""The HTTP client of a DHIS2 server: ``GET`` JSON with a personal access token or Basic auth.

Credentials travel in the ``Authorization`` header only — ``ApiToken d2pat_…`` (DHIS2 ≥ 2.37 personal
access tokens) or ``Basic`` — never in a URL, a log line or an error message. Links the server hands
back (``pager.nextPage``) are followed only on the server's own origin, so a misconfigured proxy
cannot make us send the credentials elsewhere; redirects are not followed.

Every failure is one :class:`PullError` with a ``kind`` that says what a caller can do about it:

======== =================================================== ==========
kind     cause                                               transient
======== =================================================== ==========
auth     401, 403: the token or password was refused         no
refused  409 and other 4xx: DHIS2 refused the query          no
server   5xx, 429                                            yes
network  connection refused, DNS, TLS, timeout               yes
protocol the answer is not DHIS2's JSON (an HTML page, ...)  no
======== =================================================== ==========

Reference: DHIS2 developer manual, *Web API* → *Authentication* (personal access tokens).
"""
from __future__ import annotations

import json
from typing import Any, Mapping
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

TRANSIENT = frozenset({"server", "network"})


class PullError(Exception):
    """A failed request to DHIS2; ``str()`` is one line a person can act on."""

    def __init__(self, kind: str, message: str, status: int | None = None):
        super().__init__(message)
        self.kind = kind
        self.status = status

    @property
    def transient(self) -> bool:
        return self.kind in TRANSIENT


def server_key(url: str) -> str:
    """The server's identity for cursors: ``scheme://host[:port]/context`` (lower-case host, no ``/api``)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"--url must be an http(s) URL of a DHIS2 server, not {url!r}")
    if parts.username or parts.password:
        raise ValueError("--url must not hold credentials: use --token, or --username and --password")
    path = parts.path.rstrip("/")
    if path.endswith("/api"):
        path = path[:-4]
    host = parts.hostname.lower() + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, host, path, "", ""))


def auth_header(token: str | None, username: str | None, password: str | None) -> str:
    """The ``Authorization`` header value: a token, or a user and password — exactly one of them."""
    import base64

    if token and (username or password):
        raise ValueError("give --token or --username/--password, not both")
    if token:
        if not token.startswith("d2pat_"):
            raise ValueError("--token must be a DHIS2 personal access token (d2pat_…)")
        return f"ApiToken {token}"
    if username and password:
        return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    raise ValueError("give --token d2pat_…, or --username and --password")


def _server_message(response: httpx.Response) -> str:
    """DHIS2's WebMessage ``message`` (``{"httpStatus", "status": "ERROR", "message"}``), if any."""
    try:
        doc = response.json()
    except ValueError:
        return ""
    message = doc.get("message") if isinstance(doc, Mapping) else None
    return " ".join(str(message).split())[:300] if message else ""


class Dhis2Client:
    """``GET`` JSON from one DHIS2 server. ``transport``: an httpx transport (tests only)."""

    def __init__(self, url: str, authorization: str, *, timeout: float = 30.0,
                 transport: httpx.BaseTransport | None = None):
        self.base = server_key(url)
        self._http = httpx.Client(headers={"Authorization": authorization, "Accept": "application/json",
                                           "User-Agent": "sebac-dhis2-pull"},
                                  timeout=httpx.Timeout(timeout), follow_redirects=False, transport=transport)
        self.timeout = timeout

    def __enter__(self) -> "Dhis2Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def url(self, path_or_link: str) -> str:
        """``api/...`` relative to the server, or a link the server gave (same origin only)."""
        full = urljoin(self.base + "/", path_or_link)
        if urlsplit(full)[:2] != urlsplit(self.base)[:2]:
            raise PullError("protocol", f"DHIS2 sent a link to another server ({urlsplit(full).netloc}); "
                                        "not following it with your credentials")
        return full

    def get(self, path_or_link: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        url = self.url(path_or_link)
        where = urlsplit(url).path
        try:
            response = self._http.get(url, params=dict(params) if params else None)  # a link keeps its query
        except httpx.TimeoutException:
            raise PullError("network", f"DHIS2 did not answer {where} within {self.timeout:g}s") from None
        except httpx.HTTPError as exc:
            detail = " ".join(str(exc).split()) or type(exc).__name__
            raise PullError("network", f"cannot reach DHIS2 at {self.base}: {detail}") from None
        return self._read(response, where)

    def _read(self, response: httpx.Response, where: str) -> dict[str, Any]:
        status = response.status_code
        said = _server_message(response)
        tail = f": {said}" if said else ""
        if status in (401, 403):
            what = "refused the credentials" if status == 401 else "denies this user access"
            raise PullError("auth", f"DHIS2 {what} ({status}) at {where}{tail}; check --token or "
                                    "--username/--password and the user's authorities", status)
        if 300 <= status < 400:
            raise PullError("protocol", f"DHIS2 redirected {where} to {response.headers.get('location', '?')} "
                                        "(a login page: the URL or the credentials are wrong)", status)
        if status == 429 or status >= 500:
            raise PullError("server", f"DHIS2 answered {status} at {where}{tail}", status)
        if status >= 400:
            raise PullError("refused", f"DHIS2 refused the query ({status}) at {where}{tail}", status)
        try:
            doc = response.json()
        except (ValueError, json.JSONDecodeError):
            kind = response.headers.get("content-type", "?").split(";")[0]
            raise PullError("protocol", f"DHIS2 answered {where} with {kind}, not JSON "
                                        "(is --url the DHIS2 server?)", status) from None
        if not isinstance(doc, dict):
            raise PullError("protocol", f"DHIS2 answered {where} with JSON that is not an object", status)
        return doc

    def version(self) -> tuple[int, int] | None:
        """``(2, 41)`` from ``GET /api/system/info`` (also the first check of the credentials)."""
        info = self.get("api/system/info")
        return parse_version(info.get("version"))


def parse_version(value: Any) -> tuple[int, int] | None:
    """``"2.41.1"``, ``"2.40-SNAPSHOT"``, ``"v42.0"`` → ``(2, 41)``, ``(2, 40)``, ``(2, 42)``; None if unreadable."""
    import re

    m = re.match(r"v?(\d+)\.(\d+)", str(value or ""))
    if not m:
        return None
    major, minor = int(m.group(1)), int(m.group(2))
    return (2, major) if major >= 40 and major != 2 else (major, minor)
