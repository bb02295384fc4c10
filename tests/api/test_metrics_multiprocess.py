"""Several API worker processes, one ``/metrics``: prometheus-client multiprocess mode.

``uvicorn --workers 2`` with ``PROMETHEUS_MULTIPROC_DIR`` set: reports posted over HTTP land on
either worker; every ``/metrics`` answer, whichever worker serves it, holds the sums of both, the
database gauges, and passes ``promtool check metrics``.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from sebac.db import make_engine, migrate
from tests.servers import missing

ROOT = Path(__file__).resolve().parents[2]


def migrated(url: str) -> str:
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    return url


def test_reset_multiprocess_dir_removes_the_previous_run(tmp_path, monkeypatch):
    from sebac.metrics import reset_multiprocess_dir

    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    assert reset_multiprocess_dir() is None
    (tmp_path / "counter_123.db").write_bytes(b"stale")
    (tmp_path / "README").write_text("kept")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    assert reset_multiprocess_dir() == tmp_path
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README"]


def create_app():
    """App factory for ``uvicorn --factory --workers N`` (settings from the environment)."""
    from sebac.engine import build_app
    from sebac.settings import Settings

    return build_app(Settings())


@pytest.mark.integration  # a uvicorn subprocess
def test_uvicorn_with_two_workers_serves_the_sums_from_any_worker(tmp_path):
    """Real HTTP: reports land on either worker; every /metrics answer, whichever worker serves it,
    shows all of them."""
    import time

    import httpx

    from tests.servers import free_port, stop_process

    multiproc = tmp_path / "prom"
    multiproc.mkdir()
    url = migrated(f"sqlite:///{tmp_path / 'sebac.db'}")  # migrate once, before the workers start
    port = free_port()
    env = os.environ | {"PROMETHEUS_MULTIPROC_DIR": str(multiproc), "PYTHONPATH": str(ROOT),
                        "SEBAC_DATABASE_URL": url, "SEBAC_ENVIRONMENT": "test", "SEBAC_LOG_LEVEL": "WARNING"}
    base = f"http://127.0.0.1:{port}"
    key = ("sebac_reports_received_total", (("channel", "http"), ("district", "ML-MOP-DJENNE"), ("region", "ML-MOP")))
    with open(tmp_path / "uvicorn.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory",
                                 "tests.api.test_metrics_multiprocess:create_app", "--workers", "2",
                                 "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
                                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60  # both workers up: each wrote its pre-created counters
        while len({p.name for p in multiproc.glob("counter_*.db")}) < 2:
            assert time.monotonic() < deadline and proc.poll() is None, (tmp_path / "uvicorn.log").read_text()
            time.sleep(0.3)
        while True:
            try:
                httpx.get(f"{base}/healthz", timeout=5)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, (tmp_path / "uvicorn.log").read_text()
                time.sleep(0.3)
        n = 12
        for i in range(n):  # a new connection each time: the kernel spreads them over the workers
            r = httpx.post(f"{base}/api/v1/reports", timeout=10, json={
                "client_id": f"uv-{i}", "orgunit_id": "ML-MOP-DJENNE-MOUGNA-S1",
                "disease": "cholera" if i == 0 else "malaria", "cases": 1, "onset_date": "2026-11-19"})
            assert r.status_code == 201, r.text
        bad = httpx.post(f"{base}/api/v1/reports", timeout=10, json={
            "client_id": "uv-bad", "orgunit_id": "ML-NOWHERE", "disease": "malaria", "cases": 1,
            "onset_date": "2026-11-19"})
        assert bad.status_code == 422
        for _ in range(6):
            body = httpx.get(f"{base}/metrics", timeout=10).content
            got = {(s.name, tuple(sorted(s.labels.items()))): s.value
                   for fam in text_string_to_metric_families(body.decode()) for s in fam.samples}
            assert got[key] == n
            assert got[("sebac_report_lateness_seconds_count", (("channel", "http"), ("region", "ML-MOP")))] == n
            rejected = ("sebac_reports_rejected_total", (("channel", "http"), ("reason", "report.orgunit.unknown")))
            assert got[rejected] == 1
            assert got[("sebac_pipeline_reports_processed_total", (("worker", "embedded"),))] == n
            assert sum(v for (name, _), v in got.items() if name == "sebac_alerts_open") == 1   # from the database
            assert got[("sebac_database_up", ())] == 1
            assert not any(name.startswith("python_gc") for name, _ in got)  # merged files, no per-process runtime
        promtool = shutil.which("promtool")
        if not promtool:
            missing("promtool (Debian package 'prometheus')")
        res = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True, timeout=60)
        assert res.returncode == 0 and not (res.stdout + res.stderr).strip(), (res.stdout + res.stderr).decode()
        per_process = received_by_process(multiproc, key)
        assert sum(per_process.values()) == n
        print("reports per worker process:", per_process)  # the kernel's spread; usually both
    finally:
        stop_process(proc)


def received_by_process(directory: Path, key: tuple) -> dict[str, float]:
    """The counter ``key`` as each process wrote it (one ``counter_<pid>.db`` file per process)."""
    import tempfile

    from prometheus_client import CollectorRegistry
    from prometheus_client.multiprocess import MultiProcessCollector

    out = {}
    for f in directory.glob("counter_*.db"):
        with tempfile.TemporaryDirectory() as one:
            shutil.copy(f, one)
            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=one)
            values = {(s.name, tuple(sorted(s.labels.items()))): s.value
                      for fam in registry.collect() for s in fam.samples}
            out[f.stem.split("_")[-1]] = values.get(key, 0.0)
    return out
