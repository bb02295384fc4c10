"""Wire format of the topics: UTF-8 JSON values, health-area keys, deterministic ids.

Values are the domain contracts serialised by pydantic (``Report``, ``Signal``, ``AlertEvent``...),
decoded from raw bytes with ``model_validate_json`` (pydantic-core, no intermediate dict). Ids that
must survive redelivery are derived from what identifies the thing (UUIDv5), never drawn at random:

* ``report_id = uuid5(NS, idempotency_key)`` — a client retry after a 503 is the same report;
* ``signal_id = uuid5(NS, dedup_key | source)`` — re-running a rule on a redelivered report emits
  the same signal, which the alert inbox then ignores;
* ``rejected_id = uuid5(NS, topic:partition:offset)`` for poison messages met by a worker.
"""
from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from detectors.contracts import Signal
from ingest.contracts import Report
from ingest.repository import printable_raw

NAMESPACE = uuid.UUID("6f1c2f6e-3c0b-5a8e-9d55-5ebac0000001")


def stable_id(*parts: str) -> str:
    """UUIDv5 over ``parts`` joined by ``|``.

    >>> stable_id("http:c-1") == stable_id("http:c-1") != stable_id("http:c-2")
    True
    """
    return str(uuid.uuid5(NAMESPACE, "|".join(parts)))


def report_id_for(idempotency_key: str) -> str:
    return stable_id("report", idempotency_key)


def with_stable_signal_id(signal: Signal, source: str) -> Signal:
    """The same rule fired by the same source (report id, closed week...) has the same signal id."""
    return signal.model_copy(update={"signal_id": stable_id("signal", signal.dedup_key, source)})


class RejectedRecord(BaseModel):
    """What goes on the ``rejected`` topic: the raw item and why it was refused."""

    model_config = ConfigDict(extra="forbid")

    rejected_id: str
    channel: str
    received_at: dt.datetime
    raw: str
    errors: list[dict[str, Any]]
    idempotency_key: str | None = None
    source: str = Field(default="api", description="api, or topic:partition:offset of a poison message")


class WeekCount(BaseModel):
    """A closed (or re-closed, after late data) epi week of one disease in one health area."""

    model_config = ConfigDict(extra="forbid")

    health_area_id: str
    disease: str
    epiweek: str
    cases: int
    reports: int
    closed_at: dt.datetime
    reclosed: bool = False


def encode(model: BaseModel) -> bytes:
    return model.model_dump_json().encode()


def decode_report(raw: bytes | str) -> Report:
    return Report.model_validate_json(raw)


def raw_text(raw: bytes | str | None, limit: int = 100_000) -> str:
    """Printable text of a raw item (at most ``limit`` characters), as the rejected table stores it."""
    return printable_raw(raw, limit)


def dumps(data: Any) -> bytes:
    return json.dumps(data, default=str, ensure_ascii=False, separators=(",", ":")).encode()
