"""Bound every request body before any route parses it: size, then JSON nesting depth.

Python's ``json`` parser recurses once per ``[`` or ``{``: a body nested 100,000 levels deep raises
``RecursionError`` (a 500), and a few hundred levels already make ``json.dumps`` of the stored raw
item and pydantic's validation slow. No SEBAC payload nests more than a handful of levels (a DHIS2
tracker import: ``{events: [{dataValues: [{...}]}]}`` is 5), so :data:`MAX_JSON_DEPTH` is generous.

:class:`BodyLimits` is a pure ASGI middleware: it reads the body (at most the path's limit, so an
oversized body never sits in memory), measures its depth (:func:`json_depth`, in regex and numpy
passes, never recursing) and answers 413 or 400 with a stable key, or replays the body to the app
unchanged. It applies to every route and content type, because the SMS webhooks and the NDJSON
uploads decide on JSON by looking at the body, not at ``Content-Type``.

Limits by path (:func:`body_limit`): uploads ``UPLOAD_FACTOR × SEBAC_MAX_BODY_BYTES``; the other
ingest routes (reports, DHIS2, SMS) twice ``SEBAC_MAX_BODY_BYTES``, so that their own, lower limit
answers first and keeps the body's head as a rejected item (after authentication); every other
route ``SEBAC_MAX_BODY_BYTES``. A refusal here runs before authentication, so it stores nothing: it
is logged (path, size, depth; never the content).
"""
from __future__ import annotations

import logging
import re
from typing import Any

import numpy as np
from starlette.responses import JSONResponse
from starlette.types import Message, Receive, Send

from api.errors import error_body
from ingest.errors import ErrorDetail
from ingest.messages import register, translate

log = logging.getLogger("sebac.api")

MAX_JSON_DEPTH = 64
UPLOAD_FACTOR = 20  # an upload may be this many times the single-report body limit (SEBAC_MAX_BODY_BYTES)
UPLOADS_PREFIX = "/api/v1/uploads/"
INGEST_PREFIXES = ("/api/v1/reports", "/api/v1/dhis2/", "/api/v1/sms/")

register("en", {"request.json.too_deep": "The JSON is nested more than {max} levels deep.",
                "request.body.too_large": "The request body is too large (maximum {max} bytes)."})
register("fr", {"request.json.too_deep": "Le JSON est imbriqué sur plus de {max} niveaux.",
                "request.body.too_large": "Le corps de la requête est trop volumineux (maximum {max} octets)."})

# A JSON string, closed or running to its line's end (a JSON string never holds a raw newline): its
# brackets are text. The possessive ``*+`` never backtracks, so the pass stays linear on any input.
_STRING = re.compile(rb'"(?:[^"\\\n]|\\.)*+(?:"|\\)?')
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = np.zeros(256, dtype=np.int64)
_STEP[list(b"[{")] = 1
_STEP[list(b"]}")] = -1


def json_depth(body: bytes) -> int:
    """The deepest ``[``/``{`` nesting outside strings, never less than what ``json.loads`` reaches.

    Holds for one JSON document and for NDJSON (one document a line): brackets are counted across
    lines without resetting (a pretty-printed document spans lines), a surplus closer counts as 0
    rather than negative (so ``]]]`` on one line cannot hide ``[[[`` on the next), and an unclosed
    string ends at its line's end. The count is exact up to the first syntax error of each line,
    which is as far as ``json.loads`` reads it; beyond, it can only be too high.

    >>> json_depth(b'{"a": [1, {"b": "[[["}]}'), json_depth(b']]]\\n[[1]]'), json_depth(b'no json')
    (3, 2, 0)
    """
    structure = _STRING.sub(b"", body).translate(None, _NOT_BRACKET)
    if not structure:
        return 0
    walk = np.cumsum(_STEP[np.frombuffer(structure, dtype=np.uint8)])
    # the walk reflected at 0 (a surplus closer leaves the depth at 0): x_t - min(0, min_{s<=t} x_s)
    return int(np.max(walk - np.minimum(np.minimum.accumulate(walk), 0)))


def is_ingest(path: str) -> bool:
    return path.startswith(INGEST_PREFIXES) or path.startswith(UPLOADS_PREFIX)


def body_limit(path: str, max_body_bytes: int) -> int:
    if path.startswith(UPLOADS_PREFIX):
        return max_body_bytes * UPLOAD_FACTOR
    return 2 * max_body_bytes if path.startswith(INGEST_PREFIXES) else max_body_bytes


def _lang(scope: dict[str, Any]) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"accept-language":
            return "fr" if value.decode("latin-1").lower().startswith("fr") else "en"
    return "en"


def _declared_length(scope: dict[str, Any]) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length" and value.isdigit():
            return int(value)
    return None




class BodyLimits:
    """ASGI middleware: 413 above the path's byte limit, 400 above :data:`MAX_JSON_DEPTH`."""

    def __init__(self, app: Any, max_depth: int = MAX_JSON_DEPTH):
        self.app = app
        self.max_depth = max_depth

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        path = scope.get("path", "")
        limit = body_limit(path, state.settings.max_body_bytes)
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            await self._refuse(scope, send, 413, "body.too_large", {"bytes": declared, "max": limit})
            return
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client left: nothing to answer
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._refuse(scope, send, 413, "body.too_large", {"bytes": f">{limit}", "max": limit})
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if body.count(b"[") + body.count(b"{") > self.max_depth and json_depth(body) > self.max_depth:
            await self._refuse(scope, send, 400, "json.too_deep", {"bytes": len(body), "max": self.max_depth})
            return
        await self.app(scope, _replay(body, receive), send)

    async def _refuse(self, scope: dict[str, Any], send: Send, status: int, what: str,
                      params: dict[str, Any]) -> None:
        path, lang = scope.get("path", ""), _lang(scope)
        # the ingest routes' own key for an oversized report; a request.* key everywhere else
        key = "report.body.too_large" if what == "body.too_large" and is_ingest(path) else f"request.{what}"
        log.warning("refused %s %s before parsing: %s (%s)", scope.get("method"), path, key,
                    ", ".join(f"{k}={v}" for k, v in params.items()))
        message = translate(key, lang, **params)
        detail = ErrorDetail(key, None, params).as_dict() | {"message": message}
        await JSONResponse(error_body(key, message, [detail]), status_code=status)(scope, _no_body, send)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()  # after the body: wait for the disconnect as usual
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def _no_body() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}
