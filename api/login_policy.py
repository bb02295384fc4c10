"""Login backoff, pure: how long a key (an account, an address) must wait after failures in a row.

``lock(n) = 0`` for ``n < free`` failures in a row, then ``base · 2^(n - free)`` capped at
``max_lock``: with the account defaults (5 free, 1 s, 15 min) the 5th wrong password locks for 1 s,
the 6th for 2 s, the 10th for 32 s and the 15th and later for 15 min. A streak is forgotten
``forget_after`` its last failure, and a success ends it (:mod:`api.login_throttle`). An attacker
on one account gets 15 guesses in the first 17 minutes (5 free, then locks of 1, 2, … 512 s), then 4
an hour; a person who mistypes is slowed by seconds. A growing delay rather than a permanent lock
keeps an attacker from locking a person out for good (OWASP Authentication Cheat Sheet, "Account
Lockout"; NIST SP 800-63B, rate limiting); an administrator can end a lock at once.

Time is a value (``now``), so any caller (the token route, a web login form, a test) supplies its
clock.

>>> p = BackoffPolicy()
>>> [int(p.lock(n).total_seconds()) for n in (4, 5, 6, 10, 14, 15, 40)]
[0, 1, 2, 32, 512, 900, 900]
>>> t = dt.datetime(2026, 11, 20, tzinfo=dt.timezone.utc)
>>> p.wait(6, t, t + dt.timedelta(seconds=0.5)), p.wait(6, t, t + dt.timedelta(seconds=3))
(datetime.timedelta(seconds=1, microseconds=500000), datetime.timedelta(0))
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

ZERO = dt.timedelta(0)


@dataclass(frozen=True)
class BackoffPolicy:
    free: int = 5                                   # failures in a row answered without delay
    base: dt.timedelta = dt.timedelta(seconds=1)    # lock after the ``free``-th failure
    max_lock: dt.timedelta = dt.timedelta(minutes=15)
    forget_after: dt.timedelta = dt.timedelta(hours=24)  # a streak this old starts over

    def __post_init__(self) -> None:
        if self.free < 1:
            raise ValueError("free must be at least 1")
        if not ZERO < self.base <= self.max_lock:
            raise ValueError("need 0 < base <= max_lock")
        if self.forget_after < self.max_lock:
            raise ValueError("forget_after must not be shorter than max_lock")

    def lock(self, failures: int) -> dt.timedelta:
        """The lock that follows the ``failures``-th failure in a row."""
        if failures < self.free:
            return ZERO
        doublings = failures - self.free
        if doublings >= 64:  # 2^64 s is beyond any cap; avoid building a huge timedelta
            return self.max_lock
        return min(self.max_lock, self.base * 2**doublings)

    def streak(self, failures: int, last_failure: dt.datetime | None, now: dt.datetime) -> int:
        """Failures in a row that still count at ``now`` (0 once forgotten)."""
        if last_failure is None or now - last_failure >= self.forget_after:
            return 0
        return failures

    def wait(self, failures: int, last_failure: dt.datetime | None, now: dt.datetime) -> dt.timedelta:
        """How long before the next attempt may be judged (``ZERO``: now)."""
        failures = self.streak(failures, last_failure, now)
        if failures == 0 or last_failure is None:
            return ZERO
        return max(ZERO, last_failure + self.lock(failures) - now)


ACCOUNT = BackoffPolicy()
# An address is shared by everyone behind one NAT (a CSCom, a district office): it may fail more
# often before it waits, and mostly stops one client from trying many accounts.
ADDRESS = BackoffPolicy(free=20)
