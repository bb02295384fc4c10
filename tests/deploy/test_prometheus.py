"""The dashboards on the real thing: ``sebac serve --demo`` scraped every second by Debian's Prometheus.

After the demo week has been replayed, every PromQL expression of ``deploy/grafana/dashboards`` must
parse and return at least one series through Prometheus's HTTP API, ``promtool check metrics``
must accept ``/metrics``, Prometheus must have scraped the engine successfully, and the operations
rules of ``deploy/prometheus/rules.yml`` must evaluate without error (and not fire on a healthy demo).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.deploy.dashboards import all_queries, substitute
from tests.servers import free_port, missing, stop_process

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
DEMO_SECONDS = 12
VARIABLES = {"district": "ML-MOP-DJENNE", "region": "ML-MOP"}  # the demo outbreak's district


def _wait(predicate, timeout: float, what: str, proc: subprocess.Popen | None = None, log: Path | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what}: process exited with {proc.returncode}\n"
                               + (log.read_text(errors="replace")[-3000:] if log else ""))
        try:
            if predicate():
                return
        except (httpx.HTTPError, OSError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"timed out waiting for {what}\n" + (log.read_text(errors="replace")[-3000:] if log else ""))


@pytest.fixture(scope="module")
def prometheus_binaries() -> tuple[str, str]:
    prom, tool = shutil.which("prometheus"), shutil.which("promtool")
    if not (prom and tool):
        missing("Prometheus (prometheus and promtool, Debian package 'prometheus')")
    return prom, tool


@pytest.fixture(scope="module")
def demo_engine(tmp_path_factory):
    """``sebac serve --demo`` on a free port with its own SQLite file; yields (url, log path)."""
    tmp = tmp_path_factory.mktemp("engine")
    port = free_port()
    log = tmp / "engine.log"
    env = os.environ | {"SEBAC_DATABASE_URL": f"sqlite:///{tmp / 'demo.db'}", "SEBAC_LOG_LEVEL": "INFO",
                        "PYTHONUNBUFFERED": "1"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "sebac", "serve", "--demo", "--host", "127.0.0.1",
                                 "--port", str(port), "--demo-seconds", str(DEMO_SECONDS)],
                                cwd=tmp, env=env | {"PYTHONPATH": str(ROOT)}, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: httpx.get(f"{url}/healthz", timeout=2).status_code == 200, 60, "the engine", proc, log)
        yield url, log, proc
    finally:
        stop_process(proc)


@pytest.fixture(scope="module")
def prometheus(prometheus_binaries, demo_engine, tmp_path_factory):
    """Prometheus on loopback scraping the engine every second; yields its base URL."""
    prom, _ = prometheus_binaries
    engine_url, _, _ = demo_engine
    tmp = tmp_path_factory.mktemp("prometheus")
    config = tmp / "prometheus.yml"
    config.write_text(f"""global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - {ROOT / "deploy" / "prometheus" / "rules.yml"}
scrape_configs:
  - job_name: sebac-api
    static_configs:
      - targets: ["{engine_url.removeprefix('http://')}"]
""")
    port = free_port()
    log = tmp / "prometheus.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([prom, f"--config.file={config}", f"--storage.tsdb.path={tmp / 'data'}",
                                 f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn",
                                 "--storage.tsdb.retention.time=1h"], stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: httpx.get(f"{url}/-/ready", timeout=2).status_code == 200, 30, "Prometheus", proc, log)
        yield url
    finally:
        stop_process(proc)


@pytest.fixture(scope="module")
def demo_done(demo_engine, prometheus):
    """The demo week replayed and scraped afterwards (a few 1 s scrapes)."""
    _, log, proc = demo_engine
    _wait(lambda: "demo: replay finished" in log.read_text(errors="replace"), DEMO_SECONDS + 60,
          "the demo replay", proc, log)
    time.sleep(4)  # database gauges are cached 5 s at most; let Prometheus scrape the final state
    return prometheus


def query(prom_url: str, expr: str) -> dict:
    r = httpx.get(f"{prom_url}/api/v1/query", params={"query": expr}, timeout=10)
    return r.json()


def test_promtool_accepts_the_metrics_page(prometheus_binaries, demo_engine, demo_done):
    _, promtool = prometheus_binaries
    body = httpx.get(f"{demo_engine[0]}/metrics", timeout=10).content
    res = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True, timeout=60)
    assert res.returncode == 0 and not res.stdout.strip() and not res.stderr.strip(), \
        (res.stdout + res.stderr).decode()


def test_prometheus_scrapes_the_engine(demo_done):
    targets = httpx.get(f"{demo_done}/api/v1/targets", timeout=10).json()["data"]["activeTargets"]
    assert [t["health"] for t in targets] == ["up"], targets


def test_every_dashboard_query_parses_and_returns_series_after_the_demo(demo_done):
    queries = all_queries()
    assert len(queries) >= 30
    # A scrape that times out on a loaded machine marks every series stale until the next one succeeds,
    # so an empty answer is retried for a few seconds; a parse error is final.
    pending, failures = list(queries), []
    deadline = time.monotonic() + 20
    while pending:
        empty = []
        for where, expr in pending:
            body = query(demo_done, substitute(expr, VARIABLES))
            if body.get("status") != "success":
                failures.append(f"{where}: {body.get('errorType')}: {body.get('error')}\n    {expr}")
            elif not body["data"]["result"]:
                empty.append((where, expr))
        if not empty or time.monotonic() > deadline:
            failures += [f"{where}: no series\n    {expr}" for where, expr in empty]
            break
        pending = empty
        time.sleep(1)
    assert not failures, "\n".join(failures)


def test_operations_rules_evaluate_without_error_and_stay_quiet_on_the_demo(demo_done):
    groups = httpx.get(f"{demo_done}/api/v1/rules", timeout=10).json()["data"]["groups"]
    rules = [r for g in groups for r in g["rules"]]
    assert len(rules) >= 6
    for r in rules:
        assert r["health"] == "ok" and not r.get("lastError"), r
        assert r["state"] == "inactive", r   # a healthy demo pages nobody


@pytest.mark.parametrize("expr, at_least", [
    ("sum(sebac_reports_received_total)", 150),                       # the demo week has ~180 reports
    ('sum(sebac_reports_rejected_total{reason="report.orgunit.unknown"})', 1),
    ('sum(sebac_alerts_open{disease="cholera", district="ML-MOP-DJENNE"})', 1),
    ('sum(sebac_alerts_raised_total{disease="cholera"})', 1),
    ('sum(sebac_alerts_717_milestones{milestone="detection", disease="cholera"})', 1),
    ("count(sebac_district_info)", 22),
    ("sum(sebac_sites)", 200),
    ("sum(sebac_report_lateness_seconds_count)", 150),
])
def test_the_demo_is_visible_in_prometheus(demo_done, expr, at_least):
    deadline = time.monotonic() + 10
    while not (result := query(demo_done, expr)["data"]["result"]) and time.monotonic() < deadline:
        time.sleep(1)  # see the retry note above: a timed-out scrape leaves stale series for a second
    assert result and float(result[0]["value"][1]) >= at_least, (expr, result)
