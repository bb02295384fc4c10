"""Keep a rejected item once: a client re-sending the same bad payload adds no second row.

Gateways and DHIS2 tablets retry until they get a 2xx, and a bad payload never gets one; keeping a
row per attempt would fill the rejected list with copies of one problem. :func:`reject_once` keeps
the item under a key (the channel's idempotency key, or :func:`content_key` when the payload has
none) and, when an item with the same key *and the same raw text* is still waiting, answers with
that item instead (refreshing its reasons if they changed, e.g. after a mapping change).

The pipeline is duck-typed (``reject``, ``db``, ``rejected``) because ingest must not import the
composition layer.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from ingest.contracts import Channel
from ingest.errors import ErrorDetail
from ingest.repository import printable_raw

MAX_KEY_CHARS = 200  # rejected_items.idempotency_key is VARCHAR(200)


@dataclass(frozen=True)
class KeptRejection:
    """What :func:`reject_once` kept (``is_new``) or found; shaped like the pipeline's result."""

    rejected_id: str
    errors: list[ErrorDetail] = field(default_factory=list)
    is_new: bool = True
    status: str = "rejected"
    report: None = None


def raw_text(raw: Any) -> str:
    """The text kept for ``raw``: bytes and str as they are, anything else as JSON."""
    if isinstance(raw, bytes):
        return printable_raw(raw)
    if isinstance(raw, str):
        return printable_raw(raw)
    return printable_raw(json.dumps(raw, default=str, ensure_ascii=False))


def content_key(prefix: str, raw: Any) -> str:
    """``<prefix>:h<sha256 of the raw text>``, for payloads that carry no id of their own."""
    digest = hashlib.sha256(raw_text(raw).encode("utf-8")).hexdigest()
    return f"{prefix}:h{digest[:40]}"


def bounded_key(prefix: str, ident: Any, raw: Any) -> str:
    """``<prefix>:<ident>`` when ``ident`` is a usable string, else :func:`content_key`."""
    if isinstance(ident, str) and ident and len(prefix) + 1 + len(ident) <= MAX_KEY_CHARS:
        return f"{prefix}:{ident}"
    return content_key(prefix, raw)


def reject_once(pipeline: Any, channel: Channel, raw: Any, errors: list[ErrorDetail],
                key: str) -> KeptRejection:
    """Keep ``raw`` with ``errors`` under ``key``, unless the same raw text is already kept there."""
    text = raw_text(raw)
    with pipeline.db.connect() as conn:
        kept = pipeline.rejected.find_waiting(conn, key, text)
    if kept is None:
        res = pipeline.reject(channel, text, errors, key)
        return KeptRejection(res.rejected_id, list(errors))
    if json.loads(json.dumps([e.as_dict() for e in errors], default=str)) != kept.errors:
        with pipeline.db.begin() as conn:
            pipeline.rejected.update_errors(conn, kept.rejected_id, errors)
    return KeptRejection(kept.rejected_id, list(errors), is_new=False)
