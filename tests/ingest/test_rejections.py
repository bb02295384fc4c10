"""Keeping a rejected item once per (key, raw text), on a real SQLite database."""
from __future__ import annotations

import pytest

from ingest.contracts import Channel
from ingest.errors import ErrorDetail
from ingest.rejections import bounded_key, content_key, reject_once

MISSING = ErrorDetail("dhis2.dataelement.missing", "occurredAt", {"dataElement": "DeDebut0001", "field": "onset_date"})


def count(pipeline) -> int:
    with pipeline.db.connect() as conn:
        return pipeline.rejected.count(conn)


def test_same_key_and_raw_is_kept_once_and_reasons_are_refreshed(pipeline):
    event = {"event": "Evt1", "orgUnit": "X"}
    first = reject_once(pipeline, Channel.dhis2, event, [MISSING], "dhis2:Evt1")
    again = reject_once(pipeline, Channel.dhis2, dict(event), [ErrorDetail("report.orgunit.unknown")], "dhis2:Evt1")
    assert (first.is_new, again.is_new, again.rejected_id, count(pipeline)) == (True, False, first.rejected_id, 1)
    with pipeline.db.connect() as conn:
        assert pipeline.rejected.get(conn, first.rejected_id).errors[0]["key"] == "report.orgunit.unknown"


@pytest.mark.parametrize("other, key", [
    ({"event": "Evt1", "orgUnit": "Y"}, "dhis2:Evt1"),   # same UID, other content: another payload
    ({"event": "Evt1", "orgUnit": "X"}, "dhis2:Evt2"),   # same content under another key
])
def test_another_payload_or_key_is_another_item(pipeline, other, key):
    reject_once(pipeline, Channel.dhis2, {"event": "Evt1", "orgUnit": "X"}, [MISSING], "dhis2:Evt1")
    assert reject_once(pipeline, Channel.dhis2, other, [MISSING], key).is_new
    assert count(pipeline) == 2


def test_reprocessed_item_is_not_reused(pipeline, clock):
    first = reject_once(pipeline, Channel.dhis2, {"event": "Evt1"}, [MISSING], "dhis2:Evt1")
    with pipeline.db.begin() as conn:
        pipeline.rejected.mark_reprocessed(conn, first.rejected_id, "r1", clock.now())
    assert reject_once(pipeline, Channel.dhis2, {"event": "Evt1"}, [MISSING], "dhis2:Evt1").is_new


def test_lone_surrogate_is_stored_as_a_json_escape(pipeline):
    kept = reject_once(pipeline, Channel.dhis2, {"orgUnit": "\ud800"}, [MISSING], content_key("dhis2", "x"))
    with pipeline.db.connect() as conn:
        assert pipeline.rejected.get(conn, kept.rejected_id).raw == '{"orgUnit": "\\ud800"}'


@pytest.mark.parametrize("ident, expected", [
    ("Evt1", "dhis2:Evt1"),
    (None, content_key("dhis2", {"a": 1})),
    (7, content_key("dhis2", {"a": 1})),
    ("x" * 300, content_key("dhis2", {"a": 1})),  # the column holds 200 characters
])
def test_bounded_key(ident, expected):
    assert bounded_key("dhis2", ident, {"a": 1}) == expected
