"""A stand-in for three SMS gateways' send APIs, a real HTTP server on loopback, answering as their
docs describe:

* Telerivet ``POST /v1/projects/{project_id}/messages/send`` (basic auth, API key as user name):
  ``200`` with the message object (``status: "queued"``); a bad key ``401`` and a missing parameter
  ``400``, both as ``{"error": {"code", "message"}}``;
* RapidPro ``POST /api/v2/broadcasts.json`` (``Authorization: Token …``): ``201`` with the broadcast;
  a bad token ``401 {"detail": "Invalid token."}``; missing ``urns``/``text`` ``400`` per field;
* Africa's Talking ``POST /version1/messaging`` (form; ``apiKey`` header): ``201`` with
  ``SMSMessageData.Recipients``; a bad key ``401`` (text); a number without ``+`` gets recipient
  status ``403 InvalidPhoneNumber`` inside a ``201``.

``faults`` injects what the next requests meet, in order: an HTTP status (answered with a body in
the vendor's error shape), ``"slow"`` (the answer comes after ``slow_seconds``), or
``("recipient", code, status)`` for Africa's Talking's per-recipient status.
"""
from __future__ import annotations

import base64
import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self
from urllib.parse import parse_qs

from tests.conftest import free_port

TELERIVET_KEY, TELERIVET_PROJECT = "tr-api-key-0123456789", "PJ2a7f1c0e"
RAPIDPRO_TOKEN = "rp-api-token-0123456789abcdef"
AT_USERNAME, AT_KEY = "sebac-mali", "at-api-key-0123456789abcdef"


class GatewayStandIn:
    def __init__(self, slow_seconds: float = 1.5):
        self.requests: list[dict] = []
        self.faults: list = []
        self.slow_seconds = slow_seconds
        ids = itertools.count(1)
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("content-length", 0)))
                ctype = self.headers.get("content-type", "")
                body = (json.loads(raw) if "json" in ctype
                        else {k: v[0] for k, v in parse_qs(raw.decode(), keep_blank_values=True).items()})
                standin.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                fault = standin.faults.pop(0) if standin.faults else None
                if fault == "slow":
                    time.sleep(standin.slow_seconds)
                    fault = None
                if self.path.startswith("/v1/projects/"):
                    self._telerivet(body, fault, next(ids))
                elif self.path == "/api/v2/broadcasts.json":
                    self._rapidpro(body, fault, next(ids))
                elif self.path == "/version1/messaging":
                    self._africastalking(body, fault, next(ids))
                else:
                    self._answer(404, {"error": {"code": "not_found", "message": "Not found"}})

            def _answer(self, status, doc, ctype="application/json"):
                data = doc.encode() if isinstance(doc, str) else json.dumps(doc).encode()
                try:
                    self.send_response(status)
                    self.send_header("content-type", ctype)
                    self.send_header("content-length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
                    pass

            def _telerivet(self, body, fault, n):
                user = base64.b64decode(self.headers.get("authorization", "Basic ").split(" ", 1)[1] or b"").decode()
                project = self.path.split("/")[3]
                if isinstance(fault, int):
                    return self._answer(fault, {"error": {"code": "internal_error", "message": "Server error"}})
                if user != f"{TELERIVET_KEY}:" or project != TELERIVET_PROJECT:
                    return self._answer(401, {"error": {"code": "invalid_api_key", "message": "Invalid API key"}})
                if not body.get("to_number") or not body.get("content"):
                    return self._answer(400, {"error": {"code": "invalid_param", "param": "to_number",
                                                        "message": "to_number is required"}})
                self._answer(200, {"id": f"SM{n:012d}", "direction": "outgoing", "status": "queued",
                                   "message_type": "sms", "to_number": body["to_number"],
                                   "content": body["content"], "project_id": project,
                                   "route_id": body.get("route_id"), "time_created": int(time.time())})

            def _rapidpro(self, body, fault, n):
                if isinstance(fault, int):
                    return self._answer(fault, {"detail": "Server Error"})
                if self.headers.get("authorization") != f"Token {RAPIDPRO_TOKEN}":
                    return self._answer(401, {"detail": "Invalid token."})
                errors = {k: ["This field is required."] for k in ("urns", "text") if not body.get(k)}
                if errors:
                    return self._answer(400, errors)
                self._answer(201, {"id": n, "urns": body["urns"], "contacts": [], "groups": [],
                                   "text": {"eng": body["text"]}, "status": "queued",
                                   "created_on": "2026-12-07T10:00:00.000000Z"})

            def _africastalking(self, body, fault, n):
                if isinstance(fault, int):
                    return self._answer(fault, "Internal Server Error", "text/plain")
                if self.headers.get("apikey") != AT_KEY or body.get("username") != AT_USERNAME:
                    return self._answer(401, "The supplied authentication is invalid", "text/plain")
                if not body.get("to") or not body.get("message"):
                    return self._answer(400, "Request is missing required form field 'to'", "text/plain")
                recipients = []
                for number in body["to"].split(","):
                    code, status = (101, "Success") if number.startswith("+") else (403, "InvalidPhoneNumber")
                    if isinstance(fault, tuple):
                        code, status = fault[1], fault[2]
                    recipients.append({"statusCode": code, "number": number, "status": status,
                                       "cost": "XOF 25.0000" if code == 101 else "0", "messageId": f"ATXid_{n}"})
                sent = sum(r["statusCode"] == 101 for r in recipients)
                self._answer(201, {"SMSMessageData": {"Message": f"Sent to {sent}/{len(recipients)} Total Cost: "
                                                                 f"XOF {25 * sent}", "Recipients": recipients}})

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
