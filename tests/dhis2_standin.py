"""A stand-in DHIS2 server for the pull tests: ``http.server`` in a thread on a real loopback socket,
answering in the shapes of DHIS2's documentation (developer manual, *Web API* → *Metadata* and
*Tracker* → *Tracker export*).

* ``GET /api/system/info`` → ``{"version": "2.40.4", ...}``;
* ``GET /api/organisationUnits?fields=…&page=&pageSize=`` → ``{"pager": {"page", "pageCount",
  "total", "pageSize", "nextPage"}, "organisationUnits": [...]}`` (``nextPage`` an absolute link);
* ``GET /api/tracker/events?program=&orgUnit=&ouMode=|orgUnitMode=&updatedAfter=&order=&page=
  &pageSize=&includeDeleted=`` → 2.36–2.40: ``{"page", "pageSize", "instances": [...]}``; 2.41+:
  ``{"pager": {"page", "pageSize"}, "events": [...]}``. The org unit mode is read from the parameter
  the server's version documents (``ouMode`` before 2.41, ``orgUnitMode`` from 2.41): the other one
  is ignored, so only the root's own events come back, as DHIS2's default ``SELECTED`` does.
* ``updatedAfter`` compares with ``>=`` or ``>`` (``strict``), ``order=updatedAt:asc`` is honoured
  unless ``honour_order`` is False; deleted events only with ``includeDeleted=true``;
* 401 (WebMessage) without the right ``Authorization``; 409 for a program it does not know; and
  scripted failures: ``fail_next`` (statuses answered to the next requests), ``delay`` (a slow page),
  ``on_request`` (a hook run before answering, e.g. to update an event mid-run).
"""
from __future__ import annotations

import base64
import datetime as dt
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs, urlencode, urlsplit

TOKEN = "d2pat_5xVA12xyUbWNedQxy4ohH77WlxRGVvZZ1151814092"
USER, PASSWORD = "sebac-sync", "district-2026!"


def web_message(status: int, message: str) -> dict[str, Any]:
    reason = {401: "Unauthorized", 403: "Forbidden", 409: "Conflict", 500: "Internal Server Error",
              502: "Bad Gateway", 503: "Service Unavailable"}.get(status, "Error")
    return {"httpStatus": reason, "httpStatusCode": status, "status": "ERROR", "message": message}


@dataclass
class Dhis2State:
    version: str = "2.40.4"
    org_units: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    programs: set[str] = field(default_factory=set)
    strict: bool = False                 # updatedAfter: > instead of >=
    honour_order: bool = True
    fail_next: list[int | str] = field(default_factory=list)   # statuses, or "html" / "reset"
    delay: float = 0.0                   # seconds before answering an events page
    on_request: Callable[["Dhis2State", str, dict[str, str]], None] | None = None
    requests: list[tuple[str, dict[str, str], str]] = field(default_factory=list)  # (path, params, auth)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def new_api(self) -> bool:
        major, minor = (int(x) for x in self.version.split(".")[:2])
        return (major, minor) >= (2, 41)

    def event(self, uid: str) -> dict[str, Any]:
        return next(e for e in self.events if e["event"] == uid)

    def touch(self, uid: str, updated_at: str, **changes: Any) -> None:
        """An edit on a tablet synced: the event's new version."""
        with self.lock:
            self.event(uid).update(changes, updatedAt=updated_at)


def _instant(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", ""))


class _Handler(BaseHTTPRequestHandler):
    state: Dhis2State
    base: str
    context: str  # the servlet context path (/dhis), stripped as a servlet container does

    def log_message(self, *_args: Any) -> None:  # quiet
        pass

    def _send(self, status: int, doc: Any, content_type: str = "application/json") -> None:
        body = doc.encode() if isinstance(doc, str) else json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        path = self.path[len(self.context):] if self.path.startswith(self.context + "/") else self.path
        parts = urlsplit(path)
        params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        st = self.state
        st.requests.append((parts.path, params, self.headers.get("Authorization", "")))
        if st.on_request is not None:
            st.on_request(st, parts.path, params)
        if st.fail_next:
            what = st.fail_next.pop(0)
            if what == "reset":
                self.connection.close()
                return
            if what == "html":
                return self._send(200, "<html><body>Login</body></html>", "text/html")
            return self._send(int(what), web_message(int(what), "scripted failure"))
        auth = self.headers.get("Authorization", "")
        basic = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        if auth not in (f"ApiToken {TOKEN}", basic):
            return self._send(401, web_message(401, "Unauthorized"))
        if parts.path == "/api/system/info":
            return self._send(200, {"version": st.version, "revision": "abc1234", "contextPath": self.base})
        if parts.path == "/api/organisationUnits":
            return self._org_units(params)
        if parts.path == "/api/tracker/events":
            if st.delay:
                time.sleep(st.delay)
            return self._events(params)
        self._send(404, web_message(404, f"{parts.path} not found"))

    def _org_units(self, params: dict[str, str]) -> None:
        units = self.state.org_units
        page, size = int(params.get("page", 1)), int(params.get("pageSize", 50))
        count = max(1, -(-len(units) // size))
        pager: dict[str, Any] = {"page": page, "pageCount": count, "total": len(units), "pageSize": size}
        if page < count:
            pager["nextPage"] = f"{self.base}/api/organisationUnits?" + urlencode(params | {"page": page + 1})
        self._send(200, {"pager": pager, "organisationUnits": units[(page - 1) * size:page * size]})

    def _events(self, params: dict[str, str]) -> None:
        st = self.state
        program = params.get("program")
        if program not in st.programs:
            return self._send(409, web_message(409, f"Program is specified but does not exist: {program}"))
        root = params.get("orgUnit")
        mode = params.get("orgUnitMode" if st.new_api else "ouMode", "SELECTED")
        with st.lock:
            rows = [dict(e) for e in st.events if e["program"] == program]
        paths = {u["id"]: u.get("path", "") for u in st.org_units}
        if mode == "DESCENDANTS":
            rows = [e for e in rows if f"/{root}" in paths.get(e["orgUnit"], "") + "/" or e["orgUnit"] == root]
        else:
            rows = [e for e in rows if e["orgUnit"] == root]
        if params.get("includeDeleted") != "true":
            rows = [e for e in rows if not e.get("deleted")]
        if "updatedAfter" in params:
            after = _instant(params["updatedAfter"])
            rows = [e for e in rows if (_instant(e["updatedAt"]) > after if st.strict
                                        else _instant(e["updatedAt"]) >= after)]
        if st.honour_order and params.get("order") == "updatedAt:asc":
            rows.sort(key=lambda e: _instant(e["updatedAt"]))
        page, size = int(params.get("page", 1)), int(params.get("pageSize", 50))
        chunk = rows[(page - 1) * size:page * size]
        if st.new_api:
            return self._send(200, {"pager": {"page": page, "pageSize": size}, "events": chunk})
        self._send(200, {"page": page, "pageSize": size, "instances": chunk})


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a slow page still sleeping does not hold the test up at shutdown

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):  # the client gave up
            super().handle_error(request, client_address)


class StandInDhis2:
    """``with StandInDhis2(state) as dhis2: dhis2.url`` — serving until the block ends."""

    def __init__(self, state: Dhis2State | None = None, context: str = "/dhis"):
        self.state = state or Dhis2State()
        self.httpd = _Server(("127.0.0.1", 0), _Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}{context}"
        self.httpd.RequestHandlerClass = type("Handler", (_Handler,), {"state": self.state, "base": self.url,
                                                                       "context": context})
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def __enter__(self) -> "StandInDhis2":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)

    def requests_to(self, path: str) -> list[dict[str, str]]:
        return [p for (q, p, _a) in self.state.requests if q == path]


def mali_org_units(pyramid: Any) -> list[dict[str, Any]]:
    """The demo pyramid as DHIS2 would export it (UIDs as ids, codes, paths; parent only on some)."""
    out = []
    for unit in pyramid.units.values():
        chain = [u.dhis2_uid for u in reversed(pyramid.ancestors(unit.id))]
        doc: dict[str, Any] = {"id": unit.dhis2_uid, "code": unit.id, "name": unit.name,
                               "level": pyramid.depth(unit.id) + 1, "path": "/" + "/".join(chain)}
        if unit.parent_id and len(out) % 2 == 0:  # half with parent[id], half with the path only
            doc["parent"] = {"id": pyramid.get(unit.parent_id).dhis2_uid}
        out.append(doc)
    return out


def signal_event(uid: str, org_unit: str, updated_at: str, *, disease: str = "CHOLERA", cases: str = "2",
                 onset: str = "2026-11-17", deleted: bool = False, stage: str = "SbcStage001") -> dict[str, Any]:
    """An event of the demo mapping's multi-disease program, as ``GET /api/tracker/events`` gives it."""
    return {"event": uid, "status": "COMPLETED", "program": "SbcSignal01", "programStage": stage,
            "orgUnit": org_unit, "occurredAt": "2026-11-18T00:00:00.000", "followUp": False, "deleted": deleted,
            "createdAt": updated_at, "updatedAt": updated_at, "attributeOptionCombo": "HllvX50cXC0",
            "dataValues": [{"dataElement": "DeMaladie01", "value": disease},
                           {"dataElement": "DeNbCas0001", "value": cases},
                           {"dataElement": "DeDebut0001", "value": onset}],
            "notes": []}
