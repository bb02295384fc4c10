"""Twenty demo runs in a row, headless, with the escalation scheduler and people acting in their own
threads while the feeder delivers the week: every alert's log climbs (no level reached twice, none
going down), replays to the stored row, and the summary's counts are the API's."""
from __future__ import annotations

import datetime as dt
import random
import threading

import pytest
import sqlalchemy as sa

from alerts.escalation import EscalationScheduler
from alerts.tables import alerts
from alerts.users import UserRepository
from ingest.clock import FakeClock
from ingest.errors import DomainError
from sebac.demo import load_demo_history, simulate_week
from sebac.demo_feeder import DemoFeeder
from sebac.demo_people import create_demo_users
from sebac.demo_setup import DEMO_POLICY
from sebac.engine import build_app
from sebac.settings import Settings
from tests.alerts.scenario import Scenario
from tests.alerts.test_concurrency import check_log

END = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.timezone.utc)
RUNS = 20


def demo_run(tmp_path, seed: int) -> tuple[object, DemoFeeder]:
    clock, alert_clock = FakeClock(END - dt.timedelta(days=7)), FakeClock(END - dt.timedelta(days=7))
    app = build_app(Settings(database_url=f"sqlite:///{tmp_path / f'demo-{seed}.db'}",
                             escalation_policy_path=DEMO_POLICY), clock, alert_clock)
    pipeline = app.state.pipeline
    load_demo_history(pipeline, END)
    people = {u.username: u for u in create_demo_users(pipeline, seed=seed)}
    feeder = DemoFeeder(pipeline, simulate_week(pipeline.pyramid, END), clock, threading.Event(),
                        channels=app.state.ingest_channels)
    scheduler = EscalationScheduler(pipeline.db, pipeline.alerting)
    done, errors = threading.Event(), []

    def feed() -> None:
        try:
            for r in feeder.reports:  # the alerts' clock: a minute per item, so 3-5 minute deadlines pass
                clock.set(max(clock.now(), r.received_at))
                alert_clock.advance(minutes=1)
                feeder.feed(r)
        finally:
            done.set()

    def tick() -> None:
        while not done.wait(0.005):
            try:
                scheduler.tick(alert_clock.now())
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)

    def act() -> None:
        rng = random.Random(seed)
        with pipeline.db.connect() as conn:
            users = [UserRepository().by_username(conn, n) for n in ("epi.djenne", "drs.mopti", "dgshp.national")]
        while not done.wait(0.01):
            with pipeline.db.connect() as conn:
                ids = [r[0] for r in conn.execute(sa.select(alerts.c.alert_id))]
            if not ids:
                continue
            try:
                with pipeline.db.begin() as conn:
                    pipeline.alerting.act(conn, rng.choice(ids), rng.choice(("acknowledge", "take_over", "escalate")),
                                          rng.choice(users), alert_clock.now())
            except DomainError:
                pass
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)

    threads = [threading.Thread(target=f) for f in (feed, tick, act)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert people
    return pipeline, feeder


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(RUNS))
def test_demo_run_gives_climbing_replayable_logs_and_summary_counts_of_the_api(tmp_path, seed):
    pipeline, feeder = demo_run(tmp_path, seed)
    s = Scenario(pipeline.db, pipeline.pyramid, pipeline.diseases)
    with pipeline.db.connect() as conn:
        ids = [r[0] for r in conn.execute(sa.select(alerts.c.alert_id))]
        total = pipeline.alerts.total(conn)
    assert len(ids) >= 8
    for alert_id in ids:
        check_log(s, alert_id)
    summary = "\n".join(feeder.summary())
    assert f"alerts: {total}:" in summary
