"""What the worker reads from faust's aiokafka consumer (:mod:`sebac.streaming.consumer`), and the
versions whose private attributes it follows."""
from __future__ import annotations

import importlib.metadata
import inspect

import pytest

from sebac.streaming.consumer import VERIFIED


@pytest.mark.parametrize("package", sorted(VERIFIED))
def test_the_installed_client_is_the_one_the_private_attributes_were_verified_on(package):
    # coordination_task follows private attributes: a new release must be checked (the test below,
    # and a worker's log "watching the group coordination of the consumer"), then VERIFIED raised
    assert importlib.metadata.version(package) == VERIFIED[package]


@pytest.mark.parametrize("module, cls, attribute", [
    ("faust.transport.consumer", "ThreadDelegateConsumer", "self._thread"),
    ("faust.transport.drivers.aiokafka", "AIOKafkaConsumerThread", "self._consumer"),
    ("aiokafka.consumer.consumer", "AIOKafkaConsumer", "self._coordinator"),
    ("aiokafka.consumer.group_coordinator", "GroupCoordinator", "self._coordination_task"),
])
def test_the_private_attributes_followed_are_still_set(module, cls, attribute):
    source = inspect.getsource(getattr(importlib.import_module(module), cls))
    assert f"{attribute} = " in source, f"{module}.{cls} no longer sets {attribute}"


def test_consumer_backlog_sums_highwater_minus_position_on_owned_partitions():
    import asyncio
    from collections import namedtuple

    from sebac.streaming.consumer import consumer_backlog

    TP = namedtuple("TP", "topic partition")

    class FakeConsumer:
        marks = {TP("r", 0): (10, 4), TP("r", 1): (7, 7), TP("r", 2): (None, 0), TP("other", 0): (99, 0)}

        def assignment(self):
            return set(self.marks)

        def highwater(self, tp):
            return self.marks[tp][0]

        async def position(self, tp):
            return self.marks[tp][1]

    assert asyncio.run(consumer_backlog(FakeConsumer(), "r")) == 6
    assert asyncio.run(consumer_backlog(FakeConsumer(), "missing")) == 0


class _Task:
    def __init__(self, done: bool, exc: BaseException | None = None, cancelled: bool = False):
        self._done, self._exc, self._cancelled = done, exc, cancelled

    def done(self):
        return self._done

    def cancelled(self):
        return self._cancelled

    def exception(self):
        return self._exc


def _consumer(task):
    from types import SimpleNamespace as NS

    return NS(_thread=NS(_consumer=NS(_coordinator=NS(_coordination_task=task))))


@pytest.mark.parametrize("consumer, failed", [
    (object(), False),                                               # not started yet
    (_consumer(_Task(done=False)), False),                           # coordinating
    (_consumer(_Task(done=True, cancelled=True)), False),            # stopped by a shutdown
    (_consumer(_Task(done=True, exc=ValueError("b''"))), True),      # died: the worker must exit
])
def test_a_dead_group_coordination_is_noticed(consumer, failed):
    from sebac.streaming.consumer import coordination_failure

    assert (coordination_failure(consumer) is not None) is failed
