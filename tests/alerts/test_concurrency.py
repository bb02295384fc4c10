"""Escalation ticks, signal merges and user actions on the same alerts from many threads at once.

Property: whatever the interleaving, every alert's log climbs (no level is reached twice, no level
goes down) and replaying the log gives the stored row. The alerts are serialised per alert by
``AlertRepository.get_for_update`` (a row lock on PostgreSQL, the write lock on SQLite).
"""
from __future__ import annotations

import datetime as dt
import random
import threading

import pytest

from alerts.lifecycle import replay
from alerts.repository import StaleAlert
from ingest.errors import DomainError
from tests.alerts.scenario import START, Scenario, make_signal

AREAS = ("ML-MOP-DJENNE-MOUGNA", "ML-MOP-DJENNE-SOFARA", "ML-MOP-DJENNE-KOUAKOUR")
RANK = {"health_area": 0, "district": 1, "region": 2, "national": 3}


def check_log(s: Scenario, alert_id: int) -> None:
    events = s.events(alert_id)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    levels = [events[0].level] + [e.level for e in events if e.type in ("escalated", "taken_over")]
    assert all(RANK[a] < RANK[b] for a, b in zip(levels, levels[1:])), levels  # climbs, never twice, never down
    assert all(e.level == lvl for e, lvl in _level_at_each_event(events)), "an event states a stale level"
    assert replay(events) == s.alert(alert_id)


def _level_at_each_event(events):
    level = events[0].level
    for e in events:
        if e.type in ("escalated", "taken_over"):
            level = e.level
        yield e, level


def run_interleaving(s: Scenario, seed: int, threads: int = 6, ops: int = 25) -> list[int]:
    rng = random.Random(seed)
    ids = [s.at(0).signal("cholera", area).alert_id for area in AREAS]
    people = [s.user(f"u{seed}.{r}", r, ou) for r, ou in (("district", "ML-MOP-DJENNE"), ("region", "ML-MOP"),
                                                          ("national", "ML"))]
    lock, minutes, errors = threading.Lock(), [0.0], []

    def now() -> dt.datetime:
        with lock:  # time moves forward for everybody, a few minutes per operation
            minutes[0] += rng.uniform(0, 4)
            return START + dt.timedelta(minutes=minutes[0])

    def worker(k: int) -> None:
        r = random.Random(seed * 100 + k)
        try:
            for _ in range(ops):
                op = r.choice(("tick", "tick", "merge", "act"))
                at = now()
                if op == "tick":
                    s.scheduler.tick(at)
                elif op == "merge":
                    s.service_push(make_signal("cholera", r.choice(AREAS), observed=r.randint(1, 3), now=START,
                                               pyramid=s.pyramid), at)
                else:
                    action = r.choice(("acknowledge", "take_over", "escalate", "verify", "assess"))
                    extra = {"assessment": {"kind": "response", "text": "x"}} if action == "assess" else {}
                    try:
                        with s.db.begin() as conn:
                            s.service.act(conn, r.choice(ids), action, r.choice(people), at, **extra)
                    except DomainError:
                        pass  # refused (wrong status, not above...): nothing changed
        except (StaleAlert, Exception) as exc:  # noqa: BLE001 - any escape is a failure of the property
            errors.append(exc)

    pool = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert not errors, errors
    return ids


@pytest.mark.parametrize("seed", range(8))
def test_random_interleavings_keep_every_log_climbing_and_replayable(db, pyramid, diseases, seed):
    s = Scenario(db, pyramid, diseases)
    for alert_id in run_interleaving(s, seed):
        check_log(s, alert_id)


@pytest.mark.parametrize("stale", [None, 0, 1])
def test_alert_rows_written_together_refuse_any_stale_one(db, pyramid, diseases, stale):
    """A batch writes its held alerts with one executemany (``update_many``): one row changed by
    someone else since it was read fails the whole write, as ``update`` alone would."""
    from alerts.tables import alerts

    s = Scenario(db, pyramid, diseases)
    opened = [s.at(0).signal("cholera", area) for area in AREAS[:2]]
    with db.begin() as conn:
        written = [(a.model_copy(update={"cases": a.cases + 10}), a.version) for a in opened]
        if stale is not None:  # another writer moved this row on since it was read
            conn.execute(alerts.update().where(alerts.c.alert_id == opened[stale].alert_id)
                         .values(version=alerts.c.version + 1))
            with pytest.raises(StaleAlert):
                s.service.repo.update_many(conn, written)
            return
        s.service.repo.update_many(conn, written)
    assert [s.alert(a.alert_id).cases for a in opened] == [a.cases + 10 for a in opened]
