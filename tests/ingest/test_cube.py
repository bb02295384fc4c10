"""The weekly cube equals a GROUP BY over the counted reports, after random inserts, corrections,
retractions and holds."""
from __future__ import annotations

import datetime as dt
import random
import uuid

import pytest
import sqlalchemy as sa

from ingest.contracts import Channel, Report
from ingest.cube import (
    apply_report_delta,
    cube_rows,
    first_onset,
    rebuild_cube,
    week_start_of,
    weekly,
)
from ingest.repository import ReportRepository
from ingest.tables import reports, weekly_cube
from sebac.streaming.repository import StreamRepository

UTC = dt.UTC
DAY0 = dt.date(2026, 9, 1)


def group_by(conn, start_day: int) -> dict:
    """The oracle: every (unit, disease, week) cell recomputed from the reports in Python."""
    out: dict = {}
    for r in conn.execute(sa.select(reports).where(reports.c.state == "active")):
        onset = r.onset_date
        units = {r.district_id: "district", r.health_area_id: "health_area"}
        units.setdefault(r.orgunit_id, "site")
        for unit, level in units.items():
            key = (unit, r.disease, week_start_of(onset, start_day))
            _lv, cases, n, first = out.get(key, (level, 0, 0, onset))
            out[key] = (level, cases + r.cases, n + 1, min(first, onset))
    return out


def make(pyramid, rng: random.Random, sites: list[str], n: int) -> Report:
    site = rng.choice(sites)
    onset = DAY0 + dt.timedelta(days=rng.randrange(60))
    return Report(report_id=str(uuid.uuid4()), idempotency_key=f"t:{n}:{uuid.uuid4()}", channel=Channel.http,
                  orgunit_id=site, health_area_id=pyramid.ancestor_at(site, "health_area").id,
                  district_id=pyramid.ancestor_at(site, "district").id, disease=rng.choice(["malaria", "ili"]),
                  cases=rng.randrange(0, 6), onset_date=onset, report_date=onset + dt.timedelta(days=2),
                  received_at=dt.datetime.combine(onset, dt.time(12), UTC) + dt.timedelta(days=2))


def row_values(r: Report) -> dict:
    v = r.model_dump(mode="python")
    v.update(channel=r.channel.value, sex=r.sex.value, age_group=r.age_group.value)
    return v


@pytest.mark.parametrize("seed,start_day", [(1, 0), (2, 6), (3, 0)])
def test_cube_equals_group_by_after_random_inserts_corrections_and_retractions(db, pyramid, seed, start_day):
    random_history(db, pyramid, seed, start_day)


def test_cube_on_postgres(pg_url, pyramid):
    """The same on PostgreSQL (its UPSERT takes LEAST, SQLite's the two-argument min)."""
    from sebac.db import make_engine, migrate

    engine = make_engine(pg_url)
    migrate(engine)
    try:
        random_history(engine, pyramid, 4, 0, steps=150)
    finally:
        engine.dispose()


def random_history(db, pyramid, seed: int, start_day: int, steps: int = 400) -> None:
    rng = random.Random(seed)
    # a few units only, so that cells collide (several reports per cell, sites and their health area)
    areas = [u for u in pyramid.units.values() if u.level == "health_area"][:3]
    sites = [s.id for a in areas for s in pyramid.descendants(a.id) if s.level == "site"] + [a.id for a in areas]
    repo, stream = ReportRepository(start_day), StreamRepository(start_day)
    stored: list[Report] = []
    with db.begin() as conn:
        for step in range(steps):
            op = rng.random()
            if op < 0.45 or not stored:
                r = make(pyramid, rng, sites, step)
                repo.insert(conn, r)
                stored.append(r)
            elif op < 0.6:
                batch = [make(pyramid, rng, sites, step * 100 + i) for i in range(rng.randrange(1, 8))]
                new, _ = stream.insert_reports(conn, batch)
                stored += new
            elif op < 0.85:  # a correction: new cases, maybe a new onset and place
                old = stored.pop(rng.randrange(len(stored)))
                new = make(pyramid, rng, sites, step).model_copy(update={"report_id": old.report_id,
                                                                        "idempotency_key": old.idempotency_key})
                if rng.random() < 0.5:
                    new = new.model_copy(update={"onset_date": old.onset_date, "orgunit_id": old.orgunit_id,
                                                 "health_area_id": old.health_area_id,
                                                 "district_id": old.district_id, "disease": old.disease})
                conn.execute(reports.update().where(reports.c.report_id == old.report_id).values(**row_values(new)))
                apply_report_delta(conn, old, new, start_day=start_day)
                stored.append(new)
            else:  # a retraction
                old = stored.pop(rng.randrange(len(stored)))
                conn.execute(reports.delete().where(reports.c.report_id == old.report_id))
                apply_report_delta(conn, old, None, start_day=start_day)
            if step % 50 == 49:
                assert cube_rows(conn, start_day=start_day) == group_by(conn, start_day)
        expected = group_by(conn, start_day)
        assert cube_rows(conn, start_day=start_day) == expected
        assert expected and any(n > 1 for _, _, n, _ in expected.values())
        # the reads agree with the reports too
        for unit in {k[0] for k in expected}:
            firsts = [f for (u, _, _), (_, _, _, f) in expected.items() if u == unit]
            assert first_onset(conn, unit, start_day=start_day) == min(firsts)
            for disease in ("malaria", "ili"):
                got = weekly(conn, unit, disease, DAY0 - dt.timedelta(days=7), DAY0 + dt.timedelta(days=70),
                             start_day=start_day)
                assert got == {w: c for (u, d, w), (_, c, _, _) in expected.items() if u == unit and d == disease}
        # a rebuild gives the same cells; another start day has its own
        rebuild_cube(conn, start_day=start_day)
        assert cube_rows(conn, start_day=start_day) == expected
        other = 3
        rebuild_cube(conn, start_day=other)
        assert cube_rows(conn, start_day=other) == group_by(conn, other)
        assert cube_rows(conn, start_day=start_day) == expected


def test_retracting_the_last_report_of_a_cell_deletes_it(db, pyramid):
    rng = random.Random(9)
    site = next(u.id for u in pyramid.units.values() if u.level == "site")
    r = make(pyramid, rng, [site], 1)
    with db.begin() as conn:
        ReportRepository().insert(conn, r)
        assert len(cube_rows(conn)) == 3  # site, health area, district
        conn.execute(reports.delete().where(reports.c.report_id == r.report_id))
        apply_report_delta(conn, r, None)
        assert conn.execute(sa.select(sa.func.count()).select_from(weekly_cube)).scalar_one() == 0
        assert first_onset(conn, site) is None


def test_migration_fills_the_cube_from_reports_already_stored(db, pyramid, tmp_path):
    """The 0023 revision folds the reports present when it runs (an upgraded database)."""
    import importlib

    rng = random.Random(4)
    sites = [u.id for u in pyramid.units.values() if u.level == "site"][:5]
    with db.begin() as conn:
        for i in range(30):
            ReportRepository().insert(conn, make(pyramid, rng, sites, i))
        expected = cube_rows(conn)
        conn.execute(weekly_cube.delete())
        importlib.import_module("sebac.migrations.versions.0023_weekly_cube")._fill(conn)
        assert cube_rows(conn) == expected == group_by(conn, 0)


@pytest.mark.parametrize("seed", [5, 6])
def test_cube_follows_every_revision_of_a_report(db, pyramid, seed):
    """Corrections, retractions, holds, releases and confirmed duplicates through
    ``ingest.corrections.revise_report`` (the one path that changes a stored report) keep the cube
    equal to the GROUP BY over the counted (active) reports."""
    from ingest.corrections import CHANGES, revise_report
    from ingest.errors import DomainError

    rng = random.Random(seed)
    areas = [u for u in pyramid.units.values() if u.level == "health_area"][:3]
    sites = [s.id for a in areas for s in pyramid.descendants(a.id) if s.level == "site"] + [a.id for a in areas]
    repo, now = ReportRepository(), dt.datetime(2026, 11, 20, tzinfo=UTC)
    ids: list[str] = []
    done = {c: 0 for c in CHANGES}
    with db.begin() as conn:
        for step in range(300):
            if rng.random() < 0.4 or not ids:
                r = make(pyramid, rng, sites, step)
                repo.insert(conn, r)
                ids.append(r.report_id)
                continue
            change = rng.choice(sorted(CHANGES))
            content = make(pyramid, rng, sites, step) if change == "corrected" else None
            allowed = sorted(conn.execute(sa.select(reports.c.report_id)
                                          .where(reports.c.state.in_(CHANGES[change][0]))).scalars())
            if not allowed:
                with pytest.raises(DomainError):  # e.g. releasing when nothing is held
                    revise_report(conn, rng.choice(ids), change, now=now, content=content)
                continue
            revise_report(conn, rng.choice(allowed), change, now=now, content=content)
            done[change] += 1
            if step % 25 == 0:
                assert cube_rows(conn) == group_by(conn, 0)
        assert cube_rows(conn) == group_by(conn, 0)
        assert all(n > 3 for n in done.values()), done
        states = dict(conn.execute(sa.select(reports.c.state, sa.func.count()).group_by(reports.c.state)).all())
        assert set(states) == {"active", "held", "duplicate", "retracted"}
        first = {}
        for (u, _, _), (_, _, _, f) in group_by(conn, 0).items():
            first[u] = min(first.get(u, f), f)
        for unit in {r.orgunit_id for r in conn.execute(sa.select(reports))}:
            assert first_onset(conn, unit) == first.get(unit)
        rebuild_cube(conn)
        assert cube_rows(conn) == group_by(conn, 0)
