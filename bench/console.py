"""Console budgets: server time of the inbox with 1,000 alerts in the database, and the weight on the
wire (gzip) of the inbox and an alert page with their CSS and JS.

Usage::

    .venv/bin/python bench/console.py            # 1,000 alerts, 200 inbox requests
    .venv/bin/python bench/console.py --alerts 5000 --requests 100

In-process (Starlette's TestClient: no network, so the figure is the server's time), a real SQLite
file, the demo pyramid; the alerts are spread over Mali's districts and the national user's inbox
(everything visible) is timed. Floor measured in the same run: ``GET /healthz``.
"""
from __future__ import annotations

import argparse
import datetime as dt
import gzip
import platform
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fastapi.testclient import TestClient  # noqa: E402

from alerts.contracts import Alert  # noqa: E402
from ingest.clock import FakeClock  # noqa: E402
from sebac.demo_people import create_demo_users  # noqa: E402
from sebac.engine import build_app  # noqa: E402
from sebac.settings import Settings  # noqa: E402


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def timed(client: TestClient, path: str, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        r = client.get(path)
        out.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 200, (path, r.status_code)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--alerts", type=int, default=1000)
    ap.add_argument("--requests", type=int, default=200)
    args = ap.parse_args()
    now = dt.datetime(2026, 12, 7, 8, tzinfo=dt.timezone.utc)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database_url=f"sqlite:///{tmp}/bench.db", environment="test")
        app = build_app(settings, FakeClock(now))
        pipeline = app.state.pipeline
        users = {u.role: u for u in create_demo_users(pipeline, seed=1)}
        areas = [u for u in pipeline.pyramid.at_level("health_area")]
        with pipeline.db.begin() as conn:
            for i in range(args.alerts):
                area = areas[i % len(areas)]
                district = pipeline.pyramid.ancestor_at(area.id, "district")
                pipeline.alerts.insert(conn, Alert(
                    alert_id=0, dedup_key=f"bench:{i}", disease=("cholera", "measles", "malaria")[i % 3],
                    orgunit_id=area.id, orgunit_level="health_area", district_id=district.id, level="district",
                    risk=1 + i % 4, created_at=now - dt.timedelta(minutes=i), updated_at=now,
                    emergence_date=(now - dt.timedelta(days=3)).date(), cases=1 + i % 7,
                    escalate_at=now + dt.timedelta(minutes=30)))
        with TestClient(app) as client:
            national = users["national"]
            client.get("/login")
            r = client.post("/login", data={"username": national.username, "password": national.password,
                                            "csrf": client.cookies.get("sebac_login_csrf"), "next": "/"},
                            follow_redirects=False)
            assert r.status_code == 303, r.text
            timed(client, "/", 5)  # warm-up
            inbox = timed(client, "/", args.requests)
            floor = timed(client, "/healthz", args.requests)
            page = client.get("/").text
            alert_id = re.search(r'href="/alerts/(\d+)"', page).group(1)
            district = pipeline.pyramid.ancestor_at(areas[0].id, "district").id
            week = client.get(f"/sitrep?district={district}", follow_redirects=False).headers["location"].rsplit("/", 1)[1]
            sitrep = timed(client, f"/sitrep/{district}/{week}", max(5, args.requests // 10))
            pdf = timed(client, f"/sitrep/{district}/{week}?format=pdf", 5)
            quality = timed(client, "/quality", max(5, args.requests // 10))
            weights = {}
            for path in ("/", f"/alerts/{alert_id}", "/login", "/quality", f"/sitrep/{district}/{week}"):
                html = client.get(path).content
                assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', html.decode())
                weights[path] = len(gzip.compress(html)) + sum(len(gzip.compress(client.get(a).content))
                                                               for a in assets)
    print(f"# console bench — {platform.node()} ({platform.processor() or platform.machine()}), "
          f"Python {platform.python_version()}, {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC")
    print(f"inbox (national user, {args.alerts} alerts, first 100 rows): p50 {statistics.median(inbox):.1f} ms, "
          f"p95 {p95(inbox):.1f} ms over {args.requests} requests (budget p95 ≤ 50 ms)")
    print(f"sitrep {district} {week} HTML: p50 {statistics.median(sitrep):.1f} ms; PDF (WeasyPrint): "
          f"p50 {statistics.median(pdf):.0f} ms over {len(pdf)}; quality page (national scope): "
          f"p50 {statistics.median(quality):.1f} ms")
    print(f"floor GET /healthz: p50 {statistics.median(floor):.2f} ms, p95 {p95(floor):.2f} ms")
    for path, w in weights.items():
        print(f"weight {path}: {w / 1000:.1f} kB gzip with its CSS and JS (budget {'50' if path == '/' else '100'} kB)")


if __name__ == "__main__":
    main()
