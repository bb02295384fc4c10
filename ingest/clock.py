"""Injected clocks: domain code takes ``now`` as a value; adapters ask a Clock for it."""
from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> dt.datetime: ...


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.timezone.utc)


class FakeClock:
    """A clock tests move by hand: ``clock.advance(minutes=30)``."""

    def __init__(self, start: dt.datetime):
        if start.tzinfo is None:
            raise ValueError("FakeClock needs a timezone-aware start")
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> dt.datetime:
        with self._lock:
            return self._now

    def advance(self, **delta: float) -> dt.datetime:
        with self._lock:
            self._now += dt.timedelta(**delta)
            return self._now

    def set(self, when: dt.datetime) -> None:
        with self._lock:
            self._now = when


class CatchUpClock:
    """Starts in the past and runs ``speed`` times faster than real time until it reaches real time.

    The demo replays a week of reports in under a minute with it; after catching up it is the
    system clock.
    """

    def __init__(self, start: dt.datetime, speed: float):
        if start.tzinfo is None or speed <= 0:
            raise ValueError("CatchUpClock needs a timezone-aware start and a positive speed")
        self.start = start
        self.speed = speed
        self._t0 = time.monotonic()

    def now(self) -> dt.datetime:
        simulated = self.start + dt.timedelta(seconds=(time.monotonic() - self._t0) * self.speed)
        return min(simulated, dt.datetime.now(dt.timezone.utc))
