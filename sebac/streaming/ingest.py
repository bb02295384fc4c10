"""The API side of the scale-out mode: validate, then publish instead of storing.

:class:`StreamingPipeline` is the embedded :class:`~sebac.pipeline.Pipeline` (same validation, same
read paths for the other routers) whose ``accept`` publishes the validated report to the
``reports`` topic, keyed by health area, and whose ``reject`` publishes the refused item to the
``rejected`` topic. The workers store them. A report's id is derived from its idempotency key, so
a client that retries after a 503 (or after a lost answer) re-sends *the same* report.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from typing import Any

from ingest.contracts import Channel, Report
from ingest.errors import ErrorDetail
from ingest.metrics import observe_report_duplicate, observe_report_rejected
from sebac.pipeline import Pipeline, SubmitResult
from sebac.streaming.codec import RejectedRecord, encode, report_id_for
from sebac.streaming.publisher import Publisher, Record
from sebac.streaming.topics import Topics

log = logging.getLogger("sebac.streaming.ingest")


class StreamingPipeline(Pipeline):
    publisher: Publisher
    topics: Topics

    def __init__(self, *args: Any, publisher: Publisher, topics: Topics, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.publisher = publisher
        self.topics = topics

    @classmethod
    def around(cls, pipeline: Pipeline, publisher: Publisher, topics: Topics) -> "StreamingPipeline":
        """The same pipeline (database, pyramid, catalogue, stages, clock), publishing instead of storing."""
        wrapped = cls.__new__(cls)
        wrapped.__dict__.update(pipeline.__dict__)
        wrapped.publisher = publisher
        wrapped.topics = topics
        return wrapped

    def accept(self, report: Report) -> SubmitResult:
        report = report.model_copy(update={"report_id": report_id_for(report.idempotency_key)})
        with self.db.connect() as conn:  # answered from the database when already processed
            stored = self.reports.by_idempotency_key(conn, report.idempotency_key)
        if stored is not None:
            observe_report_duplicate(stored, self.pyramid)
            return SubmitResult("duplicate", report=stored)
        self.publisher.publish([Record(self.topics.reports, report.health_area_id.encode(), encode(report))])
        log.debug("published report %s (%s at %s)", report.report_id[:8], report.disease, report.health_area_id)
        return SubmitResult("accepted", report=report)

    def accept_many(self, batch, now=None) -> list[SubmitResult]:
        """Published one by one (the workers store and detect; see :meth:`accept`)."""
        return [self.accept(r) for r in batch]

    def reject(self, channel: Channel, raw: Any, errors: list[ErrorDetail],
               idempotency_key: str | None = None) -> SubmitResult:
        if isinstance(raw, bytes):
            text = raw.decode("utf-8", errors="backslashreplace")
        elif isinstance(raw, str):
            text = raw
        else:
            text = json.dumps(raw, default=str, ensure_ascii=False)
        record = RejectedRecord(rejected_id=str(uuid.uuid4()), channel=channel.value,
                                received_at=self.clock.now().astimezone(dt.timezone.utc), raw=text,
                                errors=[e.as_dict() for e in errors], idempotency_key=idempotency_key)
        self.publisher.publish([Record(self.topics.rejected, record.rejected_id.encode(), encode(record))])
        observe_report_rejected(channel, (e.key for e in errors))  # after the broker's ack, once
        return SubmitResult("rejected", errors=errors, rejected_id=record.rejected_id)
