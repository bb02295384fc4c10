"""Several API worker processes, one ``/metrics``: prometheus-client multiprocess mode.

Two processes submit reports to the same database with ``PROMETHEUS_MULTIPROC_DIR`` set (as API
workers under uvicorn/gunicorn ``--workers 2`` do); a third process renders the exposition, which
must hold the sums of both, the database gauges, and pass ``promtool check metrics``.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from sebac.db import make_engine, migrate
from tests.servers import missing

ROOT = Path(__file__).resolve().parents[2]

WORKER = r"""
import datetime as dt, json, sys
from ingest.clock import FakeClock
from ingest.contracts import Channel
from ingest.diseases import load_diseases
from ingest.pyramid import demo_pyramid_path, load_pyramid
from sebac.db import make_engine
from sebac.pipeline import Pipeline

url, name, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
db = make_engine(url)  # migrated by the test, once (API workers share one migrated database)
clock = FakeClock(dt.datetime(2026, 11, 20, 9, tzinfo=dt.timezone.utc))
p = Pipeline(db, load_pyramid(demo_pyramid_path()), load_diseases(), clock=clock)
statuses = []
for i in range(n):
    disease = "cholera" if i == 0 else "malaria"
    statuses.append(p.submit({"client_id": f"{name}-{i}", "orgunit_id": "ML-MOP-DJENNE-MOUGNA-S1",
                              "disease": disease, "cases": 1, "onset_date": "2026-11-19"}, Channel.http).status)
statuses.append(p.submit({"client_id": f"{name}-bad", "orgunit_id": "ML-NOWHERE", "disease": "malaria",
                          "cases": 1, "onset_date": "2026-11-19"}, Channel.http).status)
print(json.dumps(statuses))
"""

SCRAPE = r"""
import datetime as dt, sys
from types import SimpleNamespace
from ingest.clock import FakeClock
from ingest.diseases import load_diseases
from ingest.pyramid import demo_pyramid_path, load_pyramid
from sebac.db import make_engine
from api.metrics import exposition

pipeline = SimpleNamespace(db=make_engine(sys.argv[1]), pyramid=load_pyramid(demo_pyramid_path()),
                           diseases=load_diseases(), start_day=0,
                           clock=FakeClock(dt.datetime(2026, 11, 20, 9, tzinfo=dt.timezone.utc)))
sys.stdout.buffer.write(exposition(SimpleNamespace(pipeline=pipeline, settings=None)))
"""


def migrated(url: str) -> str:
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    return url


def run(code: str, *args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, env=env, capture_output=True, timeout=120)


def test_counters_are_summed_over_worker_processes(tmp_path):
    multiproc = tmp_path / "prom"
    multiproc.mkdir()
    url = migrated(f"sqlite:///{tmp_path / 'sebac.db'}")
    env = os.environ | {"PROMETHEUS_MULTIPROC_DIR": str(multiproc), "PYTHONPATH": str(ROOT)}
    n = 5
    workers = [subprocess.Popen([sys.executable, "-c", WORKER, url, name, str(n)], cwd=ROOT, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE) for name in ("w1", "w2")]
    for w in workers:
        out, err = w.communicate(timeout=120)
        assert w.returncode == 0, err.decode()[-2000:]
        assert json.loads(out)[:n] == ["accepted"] * n
    scraped = run(SCRAPE, url, env=env)
    assert scraped.returncode == 0, scraped.stderr.decode()[-2000:]
    text = scraped.stdout.decode()
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for fam in text_string_to_metric_families(text) for s in fam.samples}

    def get(name: str, **labels: str) -> float | None:
        return samples.get((name, tuple(sorted(labels.items()))))

    assert get("sebac_reports_received_total", channel="http", region="ML-MOP", district="ML-MOP-DJENNE") == 2 * n
    assert get("sebac_reports_received_total", channel="sms", region="ML-MOP", district="ML-MOP-DJENNE") == 0
    assert get("sebac_reports_rejected_total", channel="http", reason="report.orgunit.unknown") == 2
    assert get("sebac_pipeline_reports_processed_total", worker="embedded") == 2 * n
    assert get("sebac_report_lateness_seconds_count", channel="http", region="ML-MOP") == 2 * n
    # two cholera signals with one dedup key: raised once and merged once, or (when both processes
    # look before either inserts) raised twice; either way each is counted once, over both processes
    raised = get("sebac_alerts_raised_total", disease="cholera", level="health_area")
    assert raised + get("sebac_signals_merged_total", disease="cholera") == 2
    assert sum(v for (name, _), v in samples.items() if name == "sebac_alerts_open") == raised
    assert get("sebac_database_up") == 1
    assert get("python_gc_objects_collected_total", generation="0") is None  # merged files only, no runtime
    promtool = shutil.which("promtool")
    if not promtool:
        missing("promtool (Debian package 'prometheus')")
    res = subprocess.run([promtool, "check", "metrics"], input=scraped.stdout, capture_output=True, timeout=60)
    assert res.returncode == 0 and not (res.stdout + res.stderr).strip(), (res.stdout + res.stderr).decode()


def test_reset_multiprocess_dir_removes_the_previous_run(tmp_path, monkeypatch):
    from sebac.metrics import reset_multiprocess_dir

    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    assert reset_multiprocess_dir() is None
    (tmp_path / "counter_123.db").write_bytes(b"stale")
    (tmp_path / "README").write_text("kept")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    assert reset_multiprocess_dir() == tmp_path
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README"]
