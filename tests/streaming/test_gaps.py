"""No record skipped: consumed marks in the database, skipped records read back by offset (SQLite,
a fake reader); the real reader against a real broker is in ``test_kafka_integration.py``."""
from __future__ import annotations

import pytest

from sebac.streaming.weeks import add_reports
from sebac.streaming.gaps import holes, offsets_of
from sebac.streaming.repository import StreamRepository
from sebac.streaming.stages import Message, WorkerStages
from tests.streaming.test_stages import AREA, REPORT, published

TOPIC = "t.reports"


class FakeReader:
    """The partition as a list of values; records what was read."""

    def __init__(self, log: dict[int, list[bytes]]):
        self.log = log
        self.reads: list[tuple[str, int, int, int]] = []

    def read(self, topic, partition, start, end):
        self.reads.append((topic, partition, start, end))
        return [(o, v) for o, v in enumerate(self.log[partition]) if start <= o < end]


@pytest.mark.parametrize("batch, marks, expect", [
    (["r:0:5", "r:0:6"], {}, []),                                   # never consumed here: no mark
    (["r:0:5", "r:0:6"], {("r", 0): 5}, []),                        # continues at the mark
    (["r:0:3", "r:0:6", "r:0:4", "r:0:5"], {("r", 0): 5}, []),      # redelivery below the mark, any order
    (["r:0:7", "r:0:8"], {("r", 0): 5}, [(("r", 0), 5, 7)]),        # 5 and 6 skipped
    (["r:0:5", "r:0:8", "r:0:9"], {}, [(("r", 0), 6, 8)]),          # a hole inside the batch
    (["r:0:7", "r:1:2"], {("r", 0): 7, ("r", 1): 0}, [(("r", 1), 0, 2)]),
])
def test_skipped_offsets_are_the_holes_from_the_mark_through_the_batch(batch, marks, expect):
    assert holes(offsets_of([Message(b"", s) for s in batch]), marks) == expect


@pytest.mark.parametrize("steps, expect", [
    ([(0, 9)], 10),                      # first sighting
    ([(0, 9), (10, 19)], 20),            # contiguous
    ([(0, 9), (5, 14)], 15),             # overlapping redelivery
    ([(0, 9), (3, 6)], 10),              # an old batch finishing late never lowers the mark
    ([(0, 9), (12, 19)], 10),            # a range above the mark leaves the gap visible
    ([(0, 9), (12, 19), (10, 19)], 20),  # ...until the gap is handled
])
def test_marks_advance_only_over_contiguous_ranges(pipeline, clock, steps, expect):
    repo = StreamRepository()
    for first, last in steps:
        with pipeline.db.begin() as conn:
            repo.advance_marks(conn, TOPIC, {0: (first, last)}, clock.now())
    with pipeline.db.connect() as conn:
        assert repo.marks(conn, TOPIC, [0, 1]) == {0: expect}


def test_a_skipped_report_is_read_back_stored_and_counted_once(api_side, pipeline, clock):
    msgs = published(api_side, REPORT, REPORT | {"client_id": "c-2", "cases": 3},
                     REPORT | {"client_id": "c-3", "cases": 5}, REPORT | {"client_id": "c-4", "cases": 7})
    reader = FakeReader({0: [m.value for m in msgs]})
    stages = WorkerStages(pipeline, reader=reader)
    table: dict = {}

    def consume(batch):
        full = stages.with_skipped(batch)
        done = stages.process_reports(full, clock.now())
        add_reports(table, done.counted, first_time=done.first_time)
        stages.note_handled(full)
        stages.save_marks(clock.now())
        return full

    consume(msgs[:1])
    # the consumer jumps over offsets 1 and 2 (a commit past them) and delivers 3
    full = consume(msgs[3:])
    assert reader.reads == [(TOPIC, 0, 1, 3)]
    assert [m.source for m in full] == [f"{TOPIC}:0:{i}" for i in (1, 2, 3)]
    assert table[AREA]["w"] == {"cholera|2026-W46": [16, 4]} and table[AREA]["o"] == 3
    # offsets 1-3 redelivered later: stored already, counted already, nothing read back
    consume(msgs[1:])
    assert len(reader.reads) == 1 and table[AREA]["w"] == {"cholera|2026-W46": [16, 4]}
    with pipeline.db.connect() as conn:
        assert StreamRepository().marks(conn, TOPIC, [0]) == {0: 4}


def test_a_report_stored_late_is_counted_even_below_the_area_offset(api_side, pipeline, clock):
    msgs = published(api_side, REPORT, REPORT | {"client_id": "c-2", "cases": 3})
    stages = WorkerStages(pipeline)
    table: dict = {}
    done = stages.process_reports([msgs[1]], clock.now())
    add_reports(table, done.counted, first_time=done.first_time)
    done = stages.process_reports([msgs[0]], clock.now())  # offset 0 < o = 1, but never counted
    assert add_reports(table, done.counted, first_time=done.first_time) == 1
    assert table[AREA]["w"] == {"cholera|2026-W46": [4, 2]}


def test_without_a_reader_nothing_is_checked(api_side, pipeline, clock):
    msgs = published(api_side, REPORT)
    stages = WorkerStages(pipeline)
    assert stages.with_skipped(msgs) == msgs
    stages.note_handled(msgs)
    stages.save_marks(clock.now())
    with pipeline.db.connect() as conn:
        assert StreamRepository().marks(conn, TOPIC, [0]) == {}


def test_records_skipped_at_the_end_are_found_below_the_committed_offset(api_side, pipeline, clock):
    msgs = published(api_side, REPORT, REPORT | {"client_id": "c-2"}, REPORT | {"client_id": "c-3"})
    reader = FakeReader({0: [m.value for m in msgs]})
    stages = WorkerStages(pipeline, reader=reader)
    stages.note_handled(msgs[:1])
    stages.save_marks(clock.now())
    assert stages.read_back_below({(TOPIC, 0): 1}, "reports") == []  # committed = mark: nothing
    back = stages.read_back_below({(TOPIC, 0): 3}, "reports")
    assert [m.source for m in back] == [f"{TOPIC}:0:1", f"{TOPIC}:0:2"] and reader.reads == [(TOPIC, 0, 1, 3)]


def test_records_gone_with_retention_move_the_mark_past_them(pipeline, clock):
    stages = WorkerStages(pipeline, reader=FakeReader({0: []}))
    stages.note_handled([Message(b"", f"{TOPIC}:0:4")])
    stages.save_marks(clock.now())
    assert stages.read_back_below({(TOPIC, 0): 9}, "reports") == []
    with pipeline.db.connect() as conn:
        assert StreamRepository().marks(conn, TOPIC, [0]) == {0: 9}


def test_docstring_examples():
    import doctest

    import sebac.streaming.gaps

    result = doctest.testmod(sebac.streaming.gaps)
    assert result.attempted > 0 and result.failed == 0


def test_marks_are_noted_in_memory_and_saved_apart(api_side, pipeline, clock):
    msgs = published(api_side, REPORT, REPORT | {"client_id": "c-2"}, REPORT | {"client_id": "c-3"},
                     REPORT | {"client_id": "c-4"})
    reader = FakeReader({0: [m.value for m in msgs]})
    stages = WorkerStages(pipeline, reader=reader)
    repo = StreamRepository()

    def mark():
        with pipeline.db.connect() as conn:
            return repo.marks(conn, TOPIC, [0]).get(0)

    full, done = stages.run("reports", msgs[:2], clock.now(), stages.process_reports)
    stages.note_handled(full)
    assert mark() == 0  # first sighting: the mark starts at the first offset consumed; the rest is noted
    full, _ = stages.run("reports", msgs[2:3], clock.now(), stages.process_reports)
    assert [m.source for m in full] == [f"{TOPIC}:0:2"] and reader.reads == []  # continues the noted mark
    stages.note_handled(full)
    assert mark() == 0
    stages.save_marks(clock.now())  # the worker's timer, every second
    assert mark() == 3
    # the next batch starts at offset 4: offset 3 was skipped, and is read back
    full, _ = stages.run("reports", [Message(b"", f"{TOPIC}:0:4")], clock.now(), lambda b, now: None)
    assert reader.reads == [(TOPIC, 0, 3, 4)] and [m.source for m in full] == [f"{TOPIC}:0:3", f"{TOPIC}:0:4"]


@pytest.mark.parametrize("idle_for, read", [(3600.0, []), (0.0, [(TOPIC, 0, 2, 4)])])
def test_an_idle_partition_below_the_end_of_its_log_is_read_back(api_side, pipeline, clock, idle_for, read):
    msgs = published(api_side, *[REPORT | {"client_id": f"c-{i}"} for i in range(4)])
    reader = FakeReader({0: [m.value for m in msgs]})
    stages = WorkerStages(pipeline, reader=reader)
    full, _ = stages.run("reports", msgs[:2], clock.now(), stages.process_reports)
    stages.note_handled(full)
    # offsets 2 and 3 were fetched by the consumer and never delivered: no later batch reveals them
    back = stages.read_back_below({(TOPIC, 0): 4}, "reports", idle_for=idle_for)
    assert reader.reads == read and len(back) == (2 if read else 0)
