"""Re-process a rejected item after the pyramid, the CHW registry or the DHIS2 mapping was fixed.

The raw item kept in ``rejected_items`` is read again by its channel's adapter:

* an SMS envelope (``{"sms": {...}}``) → :meth:`SmsIntake.interpret` (phone → CHW, grammar);
* a DHIS2 event (``{"event": ..., "dataValues": ...}``) → :func:`ingest.dhis2.event_to_payload`;
* anything else that is a JSON object → a report submission (HTTP, CSV, SMS-derived payloads).

The result is validated *without storing* first (pure :func:`validate_report`); if it still fails,
the same rejected item keeps the new reasons (no second row); if it passes, it goes through
``pipeline.submit`` under the item's original idempotency key (so a report that meanwhile arrived
again is answered "duplicate", never counted twice) and the item is marked ``reprocessed`` with
the report id. Raw bodies that are not JSON (invalid UTF-8, malformed JSON, oversized) cannot be
re-read: ``rejected.not_reprocessable``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ingest.contracts import Channel
from ingest.dhis2 import EventError, event_to_payload
from ingest.errors import DomainError, ErrorDetail, ValidationFailed
from ingest.sms.gateways import InboundSms
from ingest.validation import validate_report


@dataclass
class ReprocessResult:
    rejected_id: str
    status: str  # accepted | duplicate | zero | rejected | not_reprocessable
    report_id: str | None = None
    errors: list[ErrorDetail] = field(default_factory=list)


def reprocess(pipeline: Any, channels: Any, rejected_id: str) -> ReprocessResult:
    with pipeline.db.connect() as conn:
        item = pipeline.rejected.get(conn, rejected_id)
    if item is None:
        raise DomainError("rejected.not_found", f"rejected item {rejected_id} not found", status=404,
                          rejected_id=rejected_id)
    if item.status != "rejected":
        raise DomainError("rejected.already_reprocessed", f"rejected item {rejected_id} was already reprocessed",
                          status=409, rejected_id=rejected_id)
    try:
        raw = json.loads(item.raw)
    except ValueError:
        raw = None
    if not isinstance(raw, dict):
        return ReprocessResult(rejected_id, "not_reprocessable",
                               errors=[ErrorDetail("rejected.not_reprocessable", None, {})])
    now = pipeline.clock.now()
    key = item.idempotency_key
    channel = item.channel
    try:
        if "sms" in raw:
            sms = InboundSms.from_envelope(raw)
            key = key or sms.idempotency_key
            reading = channels.sms.interpret(sms, now)
            if reading.errors:
                raise ValidationFailed(reading.errors)
            if reading.zero is not None:
                out = channels.sms.record_zero(reading, key, now)
                return _done(pipeline, item, ReprocessResult(rejected_id, "zero", report_id=out.report_id), now)
            payload = reading.payload
        elif channel == Channel.dhis2 and "dataValues" in raw:
            uid, payload = event_to_payload(raw, channels.dhis2_mapping, pipeline.diseases)
            key = key or f"dhis2:{uid}"
        else:
            payload = raw
        validate_report(payload, channel=channel, pyramid=pipeline.pyramid, diseases=pipeline.diseases, now=now,
                        limits=pipeline.limits, idempotency_key=key)
    except EventError as exc:
        return _still_failing(pipeline, rejected_id, [exc.detail])
    except ValidationFailed as exc:
        return _still_failing(pipeline, rejected_id, exc.errors)
    except (KeyError, TypeError, ValueError) as exc:
        return _still_failing(pipeline, rejected_id, [ErrorDetail("report.format.invalid", None,
                                                                  {"detail": str(exc)[:200]})])
    res = pipeline.submit(payload, channel, idempotency_key=key)
    if res.status == "rejected":  # validated a moment ago: only a concurrent change gets here
        return ReprocessResult(rejected_id, "rejected", errors=res.errors)
    return _done(pipeline, item, ReprocessResult(rejected_id, res.status, report_id=res.report.report_id), now)


def _still_failing(pipeline: Any, rejected_id: str, errors: list[ErrorDetail]) -> ReprocessResult:
    with pipeline.db.begin() as conn:
        pipeline.rejected.update_errors(conn, rejected_id, errors)
    return ReprocessResult(rejected_id, "rejected", errors=errors)


def _done(pipeline: Any, item: Any, result: ReprocessResult, now: Any) -> ReprocessResult:
    with pipeline.db.begin() as conn:
        pipeline.rejected.mark_reprocessed(conn, item.rejected_id, result.report_id or "", now)
    return result
