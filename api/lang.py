"""The language a request is answered in: ``Accept-Language`` (RFC 9110 §12.5.4, q-values), else the
logged-in user's profile, else English for the API (French for the console, Mali's default)."""
from __future__ import annotations

from fastapi import Request

SUPPORTED = ("fr", "en", "bm")


def accepted(header: str | None) -> str | None:
    """The best supported language of an ``Accept-Language`` header, or None.

    >>> accepted("en-GB;q=0.8, fr-ML, *;q=0.1"), accepted("de, it"), accepted(None)
    ('fr', None, None)
    """
    if not header:
        return None
    ranked = []
    for i, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        for p in params.split(";"):
            name, _, value = p.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        base = tag.strip().lower().split("-")[0]
        if base in SUPPORTED and q > 0:
            ranked.append((-q, i, base))
    return min(ranked)[2] if ranked else None


def request_lang(request: Request, default: str = "en") -> str:
    return (accepted(request.headers.get("accept-language")) or getattr(request.state, "user_lang", None)
            or default)
