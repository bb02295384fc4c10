"""Helpers shared by the ingest routers (no ``router`` here, so app discovery skips this module)."""
from __future__ import annotations

import json
import math
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import JSONResponse

from api.deps import get_settings
from api.errors import error_body
from ingest.channels import IngestChannels, channels_from_settings
from ingest.contracts import Channel
from ingest.errors import ErrorDetail
from ingest.messages import translate, translate_detail
from ingest.rejections import content_key, reject_once


class SafeJSONResponse(JSONResponse):
    """JSON with non-ASCII escaped: kept raw items may hold lone surrogates (a client's JSON
    ``"\\ud800"``), which UTF-8 cannot encode but a ``\\u`` escape can."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":"),
                          default=str).encode("ascii")


def get_channels(request: Request) -> IngestChannels:
    """Built by composition (``app.state.ingest_channels``), or lazily here from the settings."""
    state = request.app.state
    channels = getattr(state, "ingest_channels", None)
    if channels is None:
        channels = state.ingest_channels = channels_from_settings(state.pipeline, state.settings)
    return channels


ChannelsDep = Annotated[IngestChannels, Depends(get_channels)]


def request_lang(request: Request) -> str:
    return "fr" if request.headers.get("accept-language", "").lower().startswith("fr") else "en"


def translated(errors: list[ErrorDetail], lang: str) -> list[dict[str, Any]]:
    return [dict(e.as_dict(), message=translate_detail(e, lang)) for e in errors]


def _refuse(pipeline: Any, channel: Channel, raw: Any, detail: ErrorDetail, status: int, lang: str,
            once: bool = True) -> JSONResponse:
    """Keep ``raw`` (once per distinct body, unless ``once`` is False) and answer ``status``."""
    if once:
        res = reject_once(pipeline, channel, raw, [detail], content_key(channel.value, raw))
    else:
        res = pipeline.reject(channel, raw, [detail])
    body = error_body(detail.key, translate(detail.key, lang, **detail.params), translated([detail], lang))
    return JSONResponse(body | {"rejected_id": res.rejected_id}, status_code=status)


async def read_body_text(request: Request, pipeline: Any, channel: Channel, lang: str,
                         limit: int | None = None) -> str | JSONResponse:
    """The body as text, or a 4xx answer after keeping the raw bytes as a rejected item.

    The size check reads at most ``limit + 1`` bytes, so an oversized body never sits in memory.
    """
    limit = limit or get_settings(request).max_body_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        return _refuse(pipeline, channel, f"<{declared} bytes not read>",
                       ErrorDetail("report.body.too_large", None, {"bytes": int(declared), "max": limit}), 413, lang,
                       once=False)  # not the body itself: two bodies of one size are not one payload
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            head = b"".join(chunks)[:4096]
            return _refuse(pipeline, channel, head, ErrorDetail("report.body.too_large", None,
                                                                  {"bytes": f">{limit}", "max": limit}), 413, lang,
                           once=False)
        chunks.append(chunk)
    body = b"".join(chunks)
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return _refuse(pipeline, channel, body, ErrorDetail("report.encoding.invalid", None, {"position": exc.start}),
                       400, lang)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (RFC 8259)")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:20]} is out of range")
    return value


def loads_strict(text: str) -> Any:
    """``json.loads`` refusing ``NaN`` / ``Infinity`` and numbers beyond a float (``1e999``): Python
    accepts them, no JSON client may send them, and a kept item holding one could not be answered as
    JSON again.

    Raises :class:`json.JSONDecodeError` for both, so callers have one error to handle.
    """
    try:
        return json.loads(text, parse_constant=_no_constant, parse_float=_finite)
    except ValueError as exc:
        if isinstance(exc, json.JSONDecodeError):
            raise
        raise json.JSONDecodeError(str(exc), text, 0) from None


async def read_json_body(request: Request, pipeline: Any, channel: Channel, lang: str,
                         limit: int | None = None) -> Any | JSONResponse:
    text = await read_body_text(request, pipeline, channel, lang, limit)
    if isinstance(text, JSONResponse):
        return text
    try:
        return loads_strict(text)
    except json.JSONDecodeError as exc:
        return _refuse(pipeline, channel, text, ErrorDetail("report.json.malformed", None,
                                                            {"line": exc.lineno, "column": exc.colno}), 400, lang)


def require_within(pipeline: Any, user: Any, orgunit_id: str) -> None:
    """A user reads data of their org unit and below only (jurisdiction, as for alerts)."""
    from ingest.errors import DomainError

    if user.role != "admin" and not pipeline.pyramid.is_within(orgunit_id, user.orgunit_id):
        raise DomainError("auth.scope.forbidden", f"{orgunit_id} is outside your jurisdiction ({user.orgunit_id})",
                          status=403, orgunit_id=orgunit_id)
