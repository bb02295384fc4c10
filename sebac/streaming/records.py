"""What the worker stages take and give: consumed messages, records to emit, a batch's result, a
week cell due for closing, and the rejected record of a poison message."""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from ingest.contracts import Channel, Report
from sebac.streaming.codec import RejectedRecord, raw_text, stable_id


@dataclass(frozen=True)
class Message:
    """A consumed record: raw value and where it came from (``topic:partition:offset``)."""

    value: bytes | None
    source: str


@dataclass
class Output:
    """A record to emit: logical topic name (``signals``, ``alert-events``...), key and JSON value."""

    topic: str
    key: str | None
    value: bytes

    def as_dict(self) -> dict[str, Any]:
        return {"topic": self.topic, "key": self.key, "value": self.value.decode()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Output":
        return cls(d["topic"], d["key"], d["value"].encode())


@dataclass
class ReportsDone:
    new: list[Report] = field(default_factory=list)
    duplicates: list[Report] = field(default_factory=list)
    outputs: list[Output] = field(default_factory=list)
    #: reports to add to the weekly counts, with the offset of the message that first stored them:
    #: new reports, and redeliveries of that same message (not client resends under another offset)
    counted: list[tuple[Report, int]] = field(default_factory=list)
    #: ids of the reports stored by this batch: never counted before, whatever their offset
    first_time: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class WeekCell:
    """One (health area, disease, epi week) of the worker's weekly-counts table, due for closing."""

    health_area_id: str
    disease: str
    epiweek: str
    cases: int
    reports: int
    reclosed: bool = False


def _channel_of(raw: bytes | None) -> str:
    """The channel named in a poison message when readable, else ``http`` (``Channel`` has no
    "stream" value; the message's ``topic:partition:offset`` is kept in the error params)."""
    try:
        return Channel(json.loads(raw or b"").get("channel")).value
    except (ValueError, AttributeError, TypeError):
        return Channel.http.value


def poison(msg: Message, key: str, now: dt.datetime, **params: Any) -> RejectedRecord:
    return RejectedRecord(rejected_id=stable_id("poison", msg.source), channel=_channel_of(msg.value),
                          received_at=now, raw=raw_text(msg.value),
                          errors=[{"key": key, "field": None, "params": params | {"source": msg.source}}],
                          source=msg.source)


def offset_of(source: str) -> int:
    """The offset in a ``topic:partition:offset`` source."""
    return int(source.rsplit(":", 1)[-1])


def rejected_output(record: RejectedRecord) -> Output:
    return Output("rejected", record.rejected_id, record.model_dump_json().encode())
