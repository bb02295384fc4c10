"""`sebac replay` throughput, embedded, with every rule and detector live, beside the SQLite floor.

Usage: ``.venv/bin/python bench/replay.py [--reports 5000] [--years 5] [--scale 4] [--only 1x|reports|population|history]
[--profile FILE]``.

For each run: a fresh SQLite file database (migrated), the demo pyramid, ``--years`` of weekly history
for every (org unit, disease) series a statistical detector reads (districts: malaria, bloody
diarrhoea; health areas: ILI, acute diarrhoea), then a CSV backlog of synthetic reports (random
sites, every disease of the catalogue in IDSR-like proportions (``MIX``), onsets over the last 14 days, a few late ones up to 10 weeks
back) replayed through ``ingest.backlog.replay`` on the pipeline that ``sebac replay`` builds
(:func:`sebac.engine.build_pipeline`), clock fixed at ``NOW``.

Figures (one summary line each at the end):

* ``floor``: the same report rows inserted into a fresh ``reports`` table (same schema and indexes)
  with one sqlite3 ``executemany`` and a commit (same run, same machine): storing the rows, nothing else;
* ``replay 1x``: reports/s, and the ratio to the floor;
* ``replay 4x reports``: ``--scale`` times as many reports over the same days and history: an
  epidemic everywhere (about 9 times the signals of 1×), the flatness target's letter (time ≤ 4.4 × the
  1× time);
* ``replay 4x reports, 4x population``: the same, with history means ``--scale`` times as large (a
  country with as many times the people): the signals per report stay near 1×'s, so the time shows
  the cost of a report as the tables fill (flat: ≤ 4.4 ×);
* ``replay 4x history``: ``--scale`` times the years of history (flat: per-report time within 10 %).
"""
from __future__ import annotations

import argparse
import cProfile
import csv
import datetime as dt
import inspect
import logging
import platform
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

sys.path[:] = [str(Path(__file__).resolve().parents[1])] + [p for p in sys.path
                                                            if Path(p or ".").resolve() != Path(__file__).parent]

import sqlalchemy as sa
from tqdm import tqdm

from ingest.backlog import read_backlog, replay
from ingest.clock import FakeClock
from ingest.diseases import load_diseases
from ingest.pyramid import demo_pyramid_path, load_pyramid
from ingest.tables import reports, weekly_counts_history
from sebac.db import make_engine, migrate
from sebac.engine import build_pipeline
from sebac.settings import Settings

UTC = dt.UTC
NOW = dt.datetime(2026, 11, 20, 9, tzinfo=UTC)
HISTORY = {"district": ("malaria", "bloody_diarrhoea"), "health_area": ("ili", "acute_diarrhoea")}
# weekly IDSR volumes, roughly: malaria first, then ILI and diarrhoeas; the immediately notifiable
# diseases (cholera, measles...) are a small share but each one raises or merges an alert
MIX = {"malaria": 40, "ili": 12, "acute_diarrhoea": 12, "pneumonia_u5": 8, "bloody_diarrhoea": 5, "measles": 2,
       "meningitis": 2, "sari": 2, "unexplained_death": 0.5, "animal_deaths": 0.5}
COLUMNS = ("client_id", "orgunit_id", "disease", "cases", "onset_date", "report_date")


def load_history(db, pyramid, years: float, seed: int = 3, population: float = 1) -> int:
    """Weekly counts up to 3 weeks before NOW for every series a detector reads (one executemany);
    ``population`` scales their means (as many times the people, as many times the cases)."""
    rng = np.random.default_rng(seed)
    weeks = round(years * 52)
    rows = []
    for level, diseases in HISTORY.items():
        units = [u.id for u in pyramid.units.values() if u.level == level]
        for i in range(weeks):
            y, w, _ = (NOW.date() - dt.timedelta(weeks=3 + i)).isocalendar()
            for d in diseases:
                lam = (30 if level == "district" else 3) * population
                rows += [{"area_id": u, "disease": d, "iso_year": y, "iso_week": w, "count": int(rng.poisson(lam)),
                              "source": "bench", "loaded_at": NOW} for u in units]
    with db.begin() as conn:
        conn.execute(weekly_counts_history.insert(), rows)
    return len(rows)


def backlog(pyramid, diseases, n: int, path: Path, seed: int = 4) -> None:
    rng = np.random.default_rng(seed)
    sites = sorted(u.id for u in pyramid.units.values() if u.level == "site")
    codes = sorted(diseases.codes())
    weights = np.array([MIX.get(c, 0.2) for c in codes])  # every disease, immediate ones rare
    weights /= weights.sum()
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        for i in range(n):
            back = int(rng.integers(0, 70)) if rng.random() < 0.03 else int(rng.integers(0, 14))
            onset = NOW.date() - dt.timedelta(days=back)
            w.writerow((f"bench-{seed}-{i}", sites[int(rng.integers(len(sites)))], codes[int(rng.choice(len(codes), p=weights))],
                        int(rng.integers(1, 6)), onset.isoformat(), NOW.date().isoformat()))


def floor(path: Path) -> float:
    """Seconds to insert the backlog's rows into an empty ``reports`` table with one executemany."""
    db = make_engine(f"sqlite:///{tempfile.mkdtemp()}/floor.db")
    reports.metadata.create_all(db, tables=[reports])
    with open(path, newline="", encoding="utf-8") as fh:
        rows = [{"report_id": str(uuid.uuid4()), "idempotency_key": f"csv:{r['client_id']}", "channel": "csv",
                     "orgunit_id": r["orgunit_id"], "health_area_id": r["orgunit_id"], "district_id": r["orgunit_id"],
                     "disease": r["disease"], "cases": int(r["cases"]), "deaths": 0, "sex": "U", "age_group": "U",
                     "onset_date": dt.date.fromisoformat(r["onset_date"]),
                     "report_date": dt.date.fromisoformat(r["report_date"]), "received_at": NOW, "reporter": None, "text": None}
                for r in csv.DictReader(fh)]
    cols = [c.name for c in reports.columns if c.name in rows[0]]  # the rest: their server defaults
    tuples = [tuple(r[c] for c in cols) for r in rows]
    sql = f"INSERT INTO reports ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
    raw = db.raw_connection()  # the DBAPI (sqlite3) connection: nothing between the rows and SQLite
    try:
        t0 = time.perf_counter()
        cur = raw.cursor()
        cur.executemany(sql, tuples)
        raw.commit()
        s = time.perf_counter() - t0
    finally:
        raw.close()
    db.dispose()
    return s


def run(n: int, years: float, *, desc: str, profile: str | None = None, quiet: bool = False,
        batch: int = 2000, population: float = 1) -> dict:
    pyramid, diseases = load_pyramid(demo_pyramid_path()), load_diseases()
    tmp = Path(tempfile.mkdtemp())
    url = f"sqlite:///{tmp}/replay.db"
    db = make_engine(url)
    migrate(db)
    hist = load_history(db, pyramid, years, population=population)
    db.dispose()
    path = tmp / "backlog.csv"
    backlog(pyramid, diseases, n, path)
    fl = floor(path)
    pipeline = build_pipeline(Settings(database_url=url), clock=FakeClock(NOW))
    bar = tqdm(total=n, unit="report", desc=desc, disable=quiet, mininterval=0.5)
    prof = cProfile.Profile() if profile else None
    with open(path, newline="", encoding="utf-8") as fh:
        t0 = time.perf_counter()
        if prof:
            prof.enable()
        # a checkout from before batched replay has no ``batch``: the same bench measures it one by one
        kw = {"batch": batch} if "batch" in inspect.signature(replay).parameters else {}
        summary = replay(pipeline, read_backlog(fh, "csv"), on_item=lambda _i, _s: bar.update(1), **kw)
        if prof:
            prof.disable()
        seconds = time.perf_counter() - t0
    bar.close()
    if prof:
        prof.dump_stats(profile)
    with pipeline.db.connect() as conn:
        stored = conn.execute(sa.select(sa.func.count()).select_from(reports)).scalar_one()
    pipeline.db.dispose()
    return {"n": n, "years": years, "history_rows": hist, "seconds": seconds, "floor": fl, "stored": stored,
                "summary": summary.as_dict(), "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reports", type=int, default=5000)
    ap.add_argument("--years", type=float, default=5)
    ap.add_argument("--scale", type=int, default=4)
    ap.add_argument("--only", choices=("1x", "reports", "population", "history"), action="append",
                    help="run only these figures (default: all three)")
    ap.add_argument("--profile", help="cProfile the 1x replay into this file")
    ap.add_argument("--quiet", action="store_true", help="no progress bars")
    ap.add_argument("--batch", type=int, default=2000, help="reports per transaction (1: one by one)")
    args = ap.parse_args()
    which = args.only or ["1x", "reports", "population", "history"]
    logging.getLogger("sebac.alerts").setLevel(logging.ERROR)  # as `sebac replay` without --verbose
    out = {}
    if which:
        out["1x"] = run(args.reports, args.years, desc="replay 1x", profile=args.profile, quiet=args.quiet,
                        batch=args.batch)
    if "reports" in which:
        out["reports"] = run(args.reports * args.scale, args.years, desc=f"replay {args.scale}x reports",
                             quiet=args.quiet, batch=args.batch)
    if "population" in which:  # the same reports per person: signals per report stay about those of 1x
        out["population"] = run(args.reports * args.scale, args.years, desc=f"replay {args.scale}x population",
                                quiet=args.quiet, batch=args.batch, population=args.scale)
    if "history" in which:
        out["history"] = run(args.reports, args.years * args.scale, desc=f"replay {args.scale}x history",
                             quiet=args.quiet, batch=args.batch)
    base = out["1x"]
    print(f"# {platform.processor() or platform.machine()}, Python {platform.python_version()}, "
          f"{dt.datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {base['summary']['alerts']} alert updates in the 1x run")
    for key, r in out.items():
        rate, floor_rate = r["n"] / r["seconds"], r["n"] / r["floor"]
        label = {"1x": "replay 1x", "reports": f"replay {args.scale}x reports",
                 "population": f"replay {args.scale}x reports, {args.scale}x population",
                 "history": f"replay {args.scale}x history"}[key]
        extra = ""
        if key in ("reports", "population"):
            extra = f"; time {r['seconds'] / base['seconds']:.2f}x the 1x time (flat: <= {args.scale * 1.1:.1f}x)"
        if key == "history":
            change = (r["seconds"] / r["n"]) / (base["seconds"] / base["n"]) - 1
            extra = f"; per-report time {change:+.1%} vs 1x (flat: within 10 %)"
        print(f"{label}: {r['n']} reports, {r['years']:g} years history ({r['history_rows']} rows): "
              f"{rate:,.0f} reports/s; floor {floor_rate:,.0f} rows/s; ratio {floor_rate / rate:,.1f}x"
              f"; {r['summary']['alerts']} alert updates; max RSS {r['rss_mb']:.0f} MB{extra}")
    print(f"floor (SQLite executemany of the same rows): {base['n'] / base['floor']:,.0f} rows/s")


if __name__ == "__main__":
    main()
