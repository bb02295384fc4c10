"""Data of the rejected-items page: what could not become a report, with its reasons, channel and raw
text, and the re-processing of one or many once the registry, the pyramid or the mapping is fixed.

A rejected item has no org unit column (it failed before one was known), so its *place* is read from
what it carries: an org unit id in the payload (``orgunit_id``, DHIS2's ``orgUnit``) or the sender's
phone in the CHW registry. A user sees the items whose place is within their jurisdiction; items
with no known place are seen by the national level and the admins only.
"""
from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from alerts.users import User, visible_scope
from console.access import require
from console.i18n import N_, catalogue, when
from ingest.contracts import Channel
from ingest.errors import DomainError, ErrorDetail
from ingest.messages import translate_detail
from ingest.reprocess import reprocess

SCAN = 1000      # newest items examined per page view
SHOWN = 100      # rows shown
MAX_BATCH = 200  # items re-processed by one form
ORGUNIT_KEYS = ("orgunit_id", "orgUnit", "org_unit", "orgunit")
PHONE_KEYS = ("phone", "from_number", "from", "sender", "msisdn")


OUTCOME = {"accepted": N_("accepted"), "duplicate": N_("already received"), "zero": N_("zero report"),
           "rejected": N_("still rejected"), "not_reprocessable": N_("cannot be re-processed"),
           "forbidden": N_("outside your area"), "missing": N_("not found"), "already": N_("already re-processed"),
           "error": N_("error"), "none": N_("nothing selected")}


class RejectedFilters(BaseModel):
    model_config = ConfigDict(extra="ignore")

    channel: str = Field(default="", pattern=r"^[a-z0-9_]{0,16}$")
    reason: str = Field(default="", max_length=120)
    status: str = Field(default="rejected", pattern=r"^(rejected|reprocessed|all)$")


def _doc(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _find(doc: Any, keys: tuple[str, ...], depth: int = 0) -> str | None:
    """The first string under one of ``keys`` in ``doc`` (nested dicts and lists, a few levels)."""
    if depth > 4:
        return None
    if isinstance(doc, dict):
        for k in keys:
            if isinstance(doc.get(k), str) and doc[k]:
                return doc[k]
        children = list(doc.values())
    elif isinstance(doc, list):
        children = doc[:20]
    else:
        return None
    for child in children:
        found = _find(child, keys, depth + 1)
        if found:
            return found
    return None


def place_of(raw: str, pyramid: Any, registry: Any) -> str | None:
    """The org unit a rejected item comes from, when what it carries says so."""
    doc = _doc(raw)
    unit_ref = _find(doc, ORGUNIT_KEYS)
    if unit_ref:
        unit = pyramid.resolve(unit_ref)
        if unit is not None:
            return unit.id
    phone = _find(doc, PHONE_KEYS) or ""
    chw = registry.by_number(phone.removeprefix("tel:")) if phone else None
    return chw.site_id if chw else None


def _sees(user: User, place: str | None, pyramid: Any) -> bool:
    scope = visible_scope(user)
    if scope is None or scope not in pyramid:
        return False
    if pyramid.get(scope).parent_id is None:
        return True
    return place is not None and place in pyramid and pyramid.is_within(place, scope)


def _pretty(raw: str) -> str:
    doc = _doc(raw)
    if isinstance(doc, dict) and isinstance(doc.get("sms"), dict):
        return str(doc["sms"].get("text") or "")
    if doc is None:
        return raw[:2000]
    return json.dumps(doc, ensure_ascii=False, indent=1)[:2000]


def visible_items(pipeline: Any, registry: Any, user: User, f: RejectedFilters) -> list[tuple[Any, str | None]]:
    """The items ``user`` may see under the filters, newest first, with their place."""
    channel = Channel(f.channel) if f.channel in {c.value for c in Channel} else None
    with pipeline.db.connect() as conn:
        items = pipeline.rejected.list(conn, status=None if f.status == "all" else f.status, channel=channel,
                                       reason=f.reason or None, limit=SCAN)
    out = []
    for item in items:
        place = place_of(item.raw, pipeline.pyramid, registry)
        if _sees(user, place, pipeline.pyramid):
            out.append((item, place))
    return out


def rejected_view(pipeline: Any, registry: Any, user: User, f: RejectedFilters, lang: str,
                  result: list[tuple[str, int]] = ()) -> dict[str, Any]:  # type: ignore[assignment]
    require(user, "rejected")
    t = catalogue(lang).gettext
    rows = visible_items(pipeline, registry, user, f)
    pyramid = pipeline.pyramid
    reasons: dict[str, int] = {}
    for item, _ in rows:
        for e in item.errors:
            reasons[e["key"]] = reasons.get(e["key"], 0) + 1
    return {
        "rows": [{
            "id": item.rejected_id, "channel": item.channel.value, "received": when(item.received_at, lang, "short"),
            "status": item.status, "status_label": t(N_("waiting")) if item.status == "rejected" else t(N_("re-processed")),
            "place": pyramid.get(place).name if place and place in pyramid else "—",
            "reasons": [translate_detail(ErrorDetail(e["key"], e.get("field"), e.get("params") or {}), lang)
                        for e in item.errors],
            "keys": [e["key"] for e in item.errors], "raw": _pretty(item.raw),
        } for item, place in rows[:SHOWN]],
        "result": [{"key": k, "label": t(OUTCOME[k]), "n": n} for k, n in result if k in OUTCOME],
        "total": len(rows), "shown": min(len(rows), SHOWN), "filters": f.model_dump(),
        "reasons": sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])),
        "channels": [c.value for c in Channel],
        "statuses": [("rejected", t(N_("waiting"))), ("reprocessed", t(N_("re-processed"))), ("all", t(N_("all")))],
    }


def reprocess_items(pipeline: Any, channels: Any, user: User, ids: list[str]) -> dict[str, int]:
    """Re-process the items among ``ids`` that ``user`` may see; counts per outcome (``forbidden`` for
    the others, ``missing`` for unknown ids)."""
    require(user, "reprocess")
    counts: dict[str, int] = {}
    with pipeline.db.connect() as conn:
        items = {i: pipeline.rejected.get(conn, i) for i in dict.fromkeys(ids[:MAX_BATCH])}
    for rid, item in items.items():
        if item is None:
            outcome = "missing"
        elif not _sees(user, place_of(item.raw, pipeline.pyramid, channels.registry), pipeline.pyramid):
            outcome = "forbidden"
        else:
            try:
                outcome = reprocess(pipeline, channels, rid).status
            except DomainError as exc:
                outcome = "already" if exc.key == "rejected.already_reprocessed" else "error"
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts
