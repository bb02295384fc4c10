"""Records a consumer skipped: found by the consumed marks, read back by offset.

At-least-once delivery rests on the consumer committing an offset only after every record below it
was handled. faust-streaming 0.15 does not always hold to that around a rebalance (a commit that
fails with ``UnknownMemberId`` still moves its in-memory committed offset; an agent exception acks
the batch); when it slips, a record is never delivered at all. The workers do not rely on it:

* each partition has a *consumed mark* in the database (``stream_offsets``): every record below it
  is handled. The mark moves only by a batch that starts at or below it, after the batch's effects
  are committed and its outputs acknowledged (so before the consumer can commit those offsets);
* a batch that starts above the mark of its partition, or has a hole between its own offsets,
  reveals skipped records (:func:`holes`): they are read back by offset (:class:`KafkaRangeReader`)
  and handled with the batch;
* records skipped at the end of a partition (no later batch reveals them) show either as a group
  offset committed above the mark, or as an idle partition whose mark is below the end of its log:
  a worker timer checks both (:func:`skipped_below`) and reads those back too.

Every write is idempotent, so reading back a record that was in fact handled changes nothing.

>>> from sebac.streaming.stages import Message
>>> batch = [Message(b"", "r:0:7"), Message(b"", "r:0:9"), Message(b"", "r:1:3")]
>>> ranges_of(batch)
{('r', 0): (7, 9), ('r', 1): (3, 3)}
>>> holes(offsets_of(batch), {('r', 0): 5, ('r', 1): 3})
[(('r', 0), 5, 7), (('r', 0), 8, 9)]
"""
from __future__ import annotations

import logging
import time
from typing import Iterable, Mapping, Protocol, Sequence

log = logging.getLogger("sebac.streaming.worker")

TP = tuple[str, int]
Gap = tuple[TP, int, int]  # (topic partition, first missing offset, end: excluded)


class HasSource(Protocol):
    @property
    def source(self) -> str: ...


def parse_source(source: str) -> tuple[str, int, int]:
    """``topic:partition:offset`` → (topic, partition, offset)."""
    topic, partition, offset = source.rsplit(":", 2)
    return topic, int(partition), int(offset)


def ranges_of(batch: Iterable[HasSource]) -> dict[TP, tuple[int, int]]:
    """(first, last) offset of the batch in each topic partition."""
    return {tp: (offs[0], offs[-1]) for tp, offs in offsets_of(batch).items()}


def offsets_of(batch: Iterable[HasSource]) -> dict[TP, list[int]]:
    """Sorted distinct offsets of the batch in each topic partition."""
    out: dict[TP, set[int]] = {}
    for m in batch:
        topic, partition, offset = parse_source(m.source)
        out.setdefault((topic, partition), set()).add(offset)
    return {tp: sorted(offs) for tp, offs in out.items()}


def holes(offsets: Mapping[TP, Sequence[int]], marks: Mapping[TP, int]) -> list[Gap]:
    """Offsets ``[start, end)`` missing from a batch: between the partition's mark and the batch's
    first offset, and between the batch's own offsets (the topics are written without transactions
    or compaction: their offsets are contiguous). Without a mark, only the holes inside the batch.

    >>> holes({("r", 0): [7, 8, 11], ("r", 1): [3]}, {("r", 0): 5, ("r", 1): 3})
    [(('r', 0), 5, 7), (('r', 0), 9, 11)]
    """
    out = []
    for tp, offs in sorted(offsets.items()):
        expected = marks.get(tp, offs[0])
        for o in offs:
            if o > expected:
                out.append((tp, expected, o))
            expected = max(expected, o + 1)
    return out


def skipped_below(ends: Mapping[TP, int], marks: Mapping[TP, int]) -> list[Gap]:
    """Offsets ``[mark, end)`` for each partition whose mark is below ``end`` — the group's committed
    offset (it believes they were handled), or the end of the log of an idle partition (they were
    never delivered). A partition without a mark was never consumed here.

    >>> skipped_below({("r", 0): 12, ("r", 1): 4}, {("r", 0): 10, ("r", 1): 4})
    [(('r', 0), 10, 12)]
    """
    return [(tp, marks[tp], e) for tp, e in sorted(ends.items()) if tp in marks and e > marks[tp]]


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


def read_skipped(reader: RangeReader, gaps: Iterable[Gap], make) -> list:
    """Read every gap back; ``make(value, source)`` builds the batch's message type."""
    out = []
    for (topic, partition), start, end in gaps:
        records = reader.read(topic, partition, start, end)
        log.warning("%s:%d: offsets [%d, %d) not known as handled (skipped by the consumer, or handled by a "
                    "worker that stopped before saving its mark): read %d record(s) back by offset",
                    topic, partition, start, end, len(records))
        out += [make(value, f"{topic}:{partition}:{offset}") for offset, value in records]
    return out
