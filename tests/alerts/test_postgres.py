"""The alerts stage on PostgreSQL: timestamptz round trips, and two schedulers ticking at once
write each escalation once (row locks), as two API replicas would."""
from __future__ import annotations

import datetime as dt
import threading

import pytest

from alerts.escalation import EscalationScheduler
from sebac.db import make_engine, migrate
from tests.alerts.scenario import START, Scenario

pytestmark = pytest.mark.integration


@pytest.fixture
def pg(pg_url):
    engine = make_engine(pg_url)
    migrate(engine)
    migrate(engine)  # twice: idempotent
    yield engine
    engine.dispose()


def test_concurrent_schedulers_escalate_once_on_postgres(pg, pyramid, diseases):
    s = Scenario(pg, pyramid, diseases)
    s.subscribe("ML-MOP-DJENNE", "sms", "+22370000003")
    alerts = [s.at(0).signal("cholera", area=a) for a in ("ML-MOP-DJENNE-MOUGNA", "ML-MOP-DJENNE-SOFARA")]
    assert alerts[0].escalate_at == START + dt.timedelta(minutes=30)  # timestamptz round trip keeps UTC
    s.at(31)
    schedulers = [EscalationScheduler(pg, s.service) for _ in range(4)]
    written: list[int] = []
    barrier = threading.Barrier(len(schedulers))

    def run(sched):
        barrier.wait()
        written.append(sched.tick(s.now))

    threads = [threading.Thread(target=run, args=(x,)) for x in schedulers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sum(written) == 2
    for a in alerts:
        events = s.events(a.alert_id)
        assert [e.level for e in events if e.type == "escalated"] == ["district"]
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert s.deliver()["sent"] == 2  # one SMS per alert to the district, not one per scheduler


def test_two_writers_missing_each_others_alert_open_one_on_postgres(pg, pyramid, diseases, monkeypatch):
    """Two transactions both read "no active alert" for the same dedup key, then both open one: the
    unique index on active dedup keys refuses the second, which merges into the first instead."""
    import sqlalchemy as sa

    from alerts.tables import alerts as alerts_table
    from tests.alerts.scenario import make_signal

    s = Scenario(pg, pyramid, diseases)
    repo = s.service.repo
    barrier = threading.Barrier(2)
    real = repo.active_by_dedup_key

    calls: list[str] = []

    def stale_read(conn, key):
        found = real(conn, key)
        calls.append(key)
        if len(calls) <= 2:
            barrier.wait(10)  # both writers have looked before either inserts
        return found

    monkeypatch.setattr(repo, "active_by_dedup_key", stale_read)
    results: list = []

    def write(n):
        with pg.begin() as conn:
            results.append(s.service.on_signal(conn, make_signal(observed=n), s.now))

    threads = [threading.Thread(target=write, args=(n,)) for n in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(calls) == 3  # the loser looked again after the index refused its alert
    assert len(results) == 2 and results[0].alert_id == results[1].alert_id
    with pg.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(alerts_table)).scalar_one() == 1
    types = [e.type for e in s.events(results[0].alert_id)]
    assert types.count("created") == 1 and types.count("signal_merged") == 1
