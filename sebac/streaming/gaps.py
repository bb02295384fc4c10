"""Records a consumer skipped: found by the consumed marks, read back by offset.

At-least-once delivery rests on the consumer committing an offset only after every record below it
was handled. faust-streaming 0.15 does not always hold to that around a rebalance (a commit that
fails with ``UnknownMemberId`` still moves its in-memory committed offset; an agent exception acks
the batch); when it slips, a record is never delivered at all. The workers do not rely on it:

* each partition has a *consumed mark* in the database (``stream_offsets``): every record below it
  is handled. The mark moves only by a batch that starts at or below it, after the batch's effects
  are committed and its outputs acknowledged (so before the consumer can commit those offsets);
* a batch that starts above the mark of its partition reveals skipped records: they are read back
  by offset (``[mark, first)``, :class:`KafkaRangeReader`) and handled with the batch;
* records skipped at the end of a partition (no later batch reveals them) show as a group offset
  committed above the mark: a worker timer compares the two (:func:`skipped_below_committed`) and
  reads those back too.

Every write is idempotent, so reading back a record that was in fact handled changes nothing.

>>> from sebac.streaming.stages import Message
>>> batch = [Message(b"", "r:0:7"), Message(b"", "r:0:9"), Message(b"", "r:1:3")]
>>> ranges_of(batch)
{('r', 0): (7, 9), ('r', 1): (3, 3)}
>>> skipped(ranges_of(batch), {('r', 0): 5, ('r', 1): 3})
{('r', 0): (5, 7)}
"""
from __future__ import annotations

import logging
import time
from typing import Iterable, Mapping, Protocol

log = logging.getLogger("sebac.streaming.worker")

TP = tuple[str, int]


class HasSource(Protocol):
    source: str


def parse_source(source: str) -> tuple[str, int, int]:
    """``topic:partition:offset`` → (topic, partition, offset)."""
    topic, partition, offset = source.rsplit(":", 2)
    return topic, int(partition), int(offset)


def ranges_of(batch: Iterable[HasSource]) -> dict[TP, tuple[int, int]]:
    """(first, last) offset of the batch in each topic partition."""
    out: dict[TP, tuple[int, int]] = {}
    for m in batch:
        topic, partition, offset = parse_source(m.source)
        first, last = out.get((topic, partition), (offset, offset))
        out[(topic, partition)] = (min(first, offset), max(last, offset))
    return out


def skipped(ranges: Mapping[TP, tuple[int, int]], marks: Mapping[TP, int]) -> dict[TP, tuple[int, int]]:
    """Offsets ``[start, end)`` skipped before each batch range: from the partition's mark to the
    range's first offset. A partition without a mark was never consumed here: nothing to check."""
    return {tp: (marks[tp], first) for tp, (first, _) in ranges.items() if tp in marks and first > marks[tp]}


def skipped_below_committed(committed: Mapping[TP, int], marks: Mapping[TP, int]) -> dict[TP, tuple[int, int]]:
    """Offsets ``[mark, committed)``: the group committed them (it believes they were handled) but
    the marks say they were not. A partition without a mark was never consumed here.

    >>> skipped_below_committed({("r", 0): 12, ("r", 1): 4}, {("r", 0): 10, ("r", 1): 4})
    {('r', 0): (10, 12)}
    """
    return {tp: (marks[tp], c) for tp, c in committed.items() if tp in marks and c > marks[tp]}


class RangeReader(Protocol):
    def read(self, topic: str, partition: int, start: int, end: int) -> list[tuple[int, bytes | None]]:
        """(offset, value) of the records of ``[start, end)`` still in the partition."""

    def committed(self, group: str) -> dict[TP, int]:
        """Offsets committed by consumer group ``group``, by topic partition."""


class KafkaRangeReader:
    """Reads records by offset with kafka-python: an assigned consumer, no group, no commits.

    Records that retention already deleted are gone (the read starts at the earliest one kept);
    a read that cannot reach ``end`` within ``timeout`` raises, and the batch is retried."""

    def __init__(self, bootstrap: str, timeout: float = 30.0):
        self.bootstrap = bootstrap
        self.timeout = timeout

    def read(self, topic: str, partition: int, start: int, end: int) -> list[tuple[int, bytes | None]]:
        from kafka import KafkaConsumer, TopicPartition

        tp = TopicPartition(topic, partition)
        consumer = KafkaConsumer(bootstrap_servers=self.bootstrap, group_id=None, enable_auto_commit=False,
                                 auto_offset_reset="earliest", request_timeout_ms=int(self.timeout * 1000) + 1000)
        try:
            consumer.assign([tp])
            consumer.seek(tp, start)
            out: list[tuple[int, bytes | None]] = []
            deadline = time.monotonic() + self.timeout
            while consumer.position(tp) < end:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"could not read {topic}:{partition} [{start}, {end}) "
                                       f"within {self.timeout:g} s")
                for record in consumer.poll(timeout_ms=500).get(tp, []):
                    if start <= record.offset < end:
                        out.append((record.offset, record.value))
            return out
        finally:
            consumer.close()


    def committed(self, group: str) -> dict[TP, int]:
        from kafka import KafkaAdminClient

        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=int(self.timeout * 1000))
        try:
            offsets = admin.list_group_offsets({group: None}).get(group, {})
        finally:
            admin.close()
        return {(tp.topic, tp.partition): om.offset for tp, om in offsets.items() if om.offset >= 0}


def read_skipped(reader: RangeReader, gaps: Mapping[TP, tuple[int, int]], make) -> list:
    """Read every gap back; ``make(value, source)`` builds the batch's message type."""
    out = []
    for (topic, partition), (start, end) in sorted(gaps.items()):
        records = reader.read(topic, partition, start, end)
        log.warning("%s:%d: the consumer skipped offsets [%d, %d): read %d record(s) back by offset",
                    topic, partition, start, end, len(records))
        out += [make(value, f"{topic}:{partition}:{offset}") for offset, value in records]
    return out
