"""The Grafana provisioning and the Prometheus configuration, checked without servers (promtool parses)."""
from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.deploy.dashboards import DASHBOARDS, all_queries, load_dashboards, substitute
from tests.servers import missing

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "deploy" / "grafana"


def generator():
    spec = importlib.util.spec_from_file_location("make_dashboards", GRAFANA / "make_dashboards.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_dashboards_are_what_the_generator_writes():
    gen = generator()
    assert sorted(gen.DASHBOARDS) == sorted(load_dashboards())
    for name, build in gen.DASHBOARDS.items():
        assert (DASHBOARDS / name).read_text(encoding="utf-8") == gen.render(build), \
            f"{name} is stale: run python deploy/grafana/make_dashboards.py"


def test_dashboards_are_complete_and_bilingual():
    dashes = load_dashboards()
    assert {d["uid"] for d in dashes.values()} == {"sebac-national", "sebac-district", "sebac-operations"}
    datasource = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "sebac.yaml").read_text())
    uid = datasource["datasources"][0]["uid"]
    for name, dash in dashes.items():
        assert " / " in dash["title"], name
        ids = [p["id"] for p in dash["panels"]]
        assert len(ids) == len(set(ids))
        for p in dash["panels"]:
            assert " / " in p["title"], f"{name}: {p['title']!r} needs 'français / English'"
            assert p["datasource"]["uid"] == uid and all(t["datasource"]["uid"] == uid for t in p["targets"])
            assert p["targets"] and {"x", "y", "w", "h"} <= set(p["gridPos"])
    district = dashes["sebac-district.json"]
    assert [v["name"] for v in district["templating"]["list"]] == ["district", "region"]
    assert all("$district" in t["expr"] or "$region" in t["expr"]
               for p in district["panels"] for t in p["targets"])


def test_dashboard_provider_points_at_a_mounted_folder():
    provider = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "sebac.yaml").read_text())
    [p] = provider["providers"]
    assert p["type"] == "file" and p["options"]["path"].startswith("/var/lib/grafana/dashboards")


def test_every_metric_a_dashboard_uses_is_served(pipeline):
    """Names used by the dashboards exist on a fresh engine's ``/metrics`` (pre-created series)."""
    from types import SimpleNamespace

    from prometheus_client.parser import text_string_to_metric_families

    from api.metrics import exposition

    families = list(text_string_to_metric_families(
        exposition(SimpleNamespace(pipeline=pipeline, settings=None)).decode()))
    # a family without samples yet (no alert open) is still served, with its HELP and TYPE
    served = {s.name for fam in families for s in fam.samples} | {fam.name for fam in families}
    used = set()
    for _, expr in all_queries():
        substitute(expr, {"district": "D", "region": "R"})  # raises on an unknown $variable
        used |= set(re.findall(r"\bsebac_[a-z0-9_]+", expr))
    assert len(used) >= 20 and used <= served, sorted(used - served)


@pytest.fixture(scope="module")
def promtool() -> str:
    tool = shutil.which("promtool")
    if not tool:
        missing("promtool (Debian package 'prometheus')")
    return tool


def test_every_dashboard_expression_parses(promtool, tmp_path):
    """As recording rules, so promtool parses each PromQL expression offline."""
    rules = {"groups": [{"name": "dashboards", "rules": [
        {"record": f"sebac:dashboard_query_{i}", "expr": substitute(expr, {"district": "D", "region": "R"})}
        for i, (_, expr) in enumerate(all_queries())]}]}
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump(rules, allow_unicode=True))
    res = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr


def test_prometheus_config_is_valid(promtool):
    res = subprocess.run([promtool, "check", "config", "--syntax-only",
                          str(ROOT / "deploy" / "prometheus" / "prometheus.yml")],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr


def test_operations_rules_are_valid(promtool):
    res = subprocess.run([promtool, "check", "rules", str(ROOT / "deploy" / "prometheus" / "rules.yml")],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and "6 rules found" in res.stdout, res.stdout + res.stderr
