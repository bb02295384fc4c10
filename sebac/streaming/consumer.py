"""What a worker reads from faust's aiokafka consumer: its backlog, and whether its group coordination died.

:func:`coordination_task` reaches private attributes of faust-streaming and aiokafka (there is no
public way to see that aiokafka's coordination task ended): the versions it was verified with are
:data:`VERIFIED`, and ``tests/streaming/test_consumer.py`` fails when the installed ones differ or
the attributes moved.
"""
from __future__ import annotations

from typing import Any

#: the releases whose private attributes :func:`coordination_task` follows
#: (``Consumer._thread`` → ``AIOKafkaConsumerThread._consumer`` → ``AIOKafkaConsumer._coordinator``
#: → ``GroupCoordinator._coordination_task``)
VERIFIED = {"faust-streaming": "0.15.3", "aiokafka": "0.14.0"}


async def consumer_backlog(consumer: Any, topic: str) -> int:
    """Consumer lag on ``topic``: highwater minus position, summed over the partitions this worker
    owns (a partition not fetched yet has no highwater and counts 0)."""
    waiting = 0
    for tp in [tp for tp in consumer.assignment() if tp.topic == topic]:
        high, pos = consumer.highwater(tp), await consumer.position(tp)
        if high is not None and pos is not None:
            waiting += max(0, high - pos)
    return waiting


#: exit status of a worker whose consumer stopped taking part in its group (EX_TEMPFAIL): its
#: supervisor (compose ``restart``, a Kubernetes StatefulSet) starts it again
EXIT_GROUP_LOST = 75


def coordination_failure(consumer: Any) -> BaseException | None:
    """The error that ended the group coordination of faust's aiokafka consumer, if it ended.

    aiokafka runs the group protocol (join, sync, heartbeats) in one task; when that task dies on
    an unexpected error (seen: an empty member assignment in a SyncGroup answer), nothing restarts
    it and the worker sits in the group holding nothing, while the group waits for it. faust does
    not notice; the ``watch_group`` timer (:mod:`sebac.streaming.agents.timers`) does, and exits."""
    task = coordination_task(consumer)
    if task is None or not task.done() or task.cancelled():
        return None
    return task.exception()


def coordination_task(consumer: Any) -> Any:
    kafka = getattr(getattr(consumer, "_thread", None), "_consumer", None)
    return getattr(getattr(kafka, "_coordinator", None), "_coordination_task", None)
