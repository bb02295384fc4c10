"""The pure backoff: failures in a row → wait, with ``now`` given (no clock inside)."""
from __future__ import annotations

import datetime as dt

import pytest

from api.login_policy import ACCOUNT, ADDRESS, ZERO, BackoffPolicy

T0 = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.timezone.utc)
S = dt.timedelta(seconds=1)


@pytest.mark.parametrize("failures, lock_seconds", [
    (0, 0), (1, 0), (4, 0), (5, 1), (6, 2), (7, 4), (10, 32), (14, 512), (15, 900), (16, 900), (10_000, 900),
])
def test_account_lock_doubles_after_five_failures_up_to_15_minutes(failures, lock_seconds):
    assert ACCOUNT.lock(failures) == lock_seconds * S


@pytest.mark.parametrize("failures, since_last, wait_seconds", [
    (4, 0, 0),            # not locked yet
    (5, 0, 1),            # the 5th failure: 1 s
    (5, 0.25, 0.75),
    (5, 1, 0),            # waited enough
    (8, 3, 5),            # 8 s lock, 3 s gone
    (20, 899, 1),
    (20, 900, 0),
    (20, 24 * 3600, 0),   # forgotten
])
def test_wait_is_what_is_left_of_the_lock(failures, since_last, wait_seconds):
    assert ACCOUNT.wait(failures, T0, T0 + since_last * S) == wait_seconds * S


@pytest.mark.parametrize("since_last, streak", [(0, 7), (23 * 3600, 7), (24 * 3600, 0), (48 * 3600, 0)])
def test_a_streak_is_forgotten_a_day_after_its_last_failure(since_last, streak):
    assert ACCOUNT.streak(7, T0, T0 + since_last * S) == streak
    assert ACCOUNT.streak(7, None, T0) == 0 and ACCOUNT.wait(7, None, T0) == ZERO


def test_an_address_fails_more_often_before_it_waits():
    assert ADDRESS.lock(19) == ZERO and ADDRESS.lock(20) == S and ADDRESS.lock(40) == dt.timedelta(minutes=15)


def test_a_clock_behind_the_last_failure_still_waits_no_longer_than_the_lock():
    # another process's clock may be a little ahead: never more than lock + skew, never negative
    assert ACCOUNT.wait(6, T0, T0 - 0.5 * S) == 2.5 * S
    assert ACCOUNT.wait(6, T0, T0 + 10 * S) == ZERO


@pytest.mark.parametrize("kwargs", [
    {"free": 0}, {"base": ZERO}, {"base": dt.timedelta(hours=1), "max_lock": dt.timedelta(minutes=1)},
    {"forget_after": dt.timedelta(minutes=1)},
])
def test_invalid_policies_are_refused(kwargs):
    with pytest.raises(ValueError):
        BackoffPolicy(**kwargs)
