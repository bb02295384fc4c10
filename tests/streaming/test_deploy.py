"""deploy/: the compose file and the Kubernetes manifests name real settings, files and commands."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sebac.settings import Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
COMPOSE = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
K8S = list(yaml.safe_load_all((DEPLOY / "k8s" / "sebac.yaml").read_text()))


def _sebac_env(env: dict) -> dict[str, str]:
    return {k.removeprefix("SEBAC_").lower(): str(v) for k, v in env.items() if k.startswith("SEBAC_")}


@pytest.mark.parametrize("service", ["migrate", "api", "worker"])
def test_compose_sebac_services_have_valid_settings(service):
    env = _sebac_env(COMPOSE["services"][service]["environment"])
    env = {k: v.split(":-")[-1].rstrip("}") if v.startswith("${") else v for k, v in env.items()}
    env["database_url"] = "postgresql+psycopg://sebac:x@postgres:5432/sebac"
    Settings(**env)  # extra="forbid": a misspelt variable fails here


def test_compose_has_the_whole_stack_and_mounts_existing_files():
    services = COMPOSE["services"]
    assert {"kafka", "postgres", "api", "worker", "prometheus", "grafana"} <= services.keys()
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"  # KRaft
    for name in ("prometheus", "grafana"):
        for volume in services[name]["volumes"]:
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (DEPLOY / source).exists(), source
    assert services["worker"]["command"][0] == "worker"
    assert services["worker"]["environment"]["SEBAC_WORKER_METRICS_PORT"] == "9102"


def test_prometheus_scrapes_the_compose_services():
    prom = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    jobs = {j["job_name"]: j for j in prom["scrape_configs"]}
    assert jobs["sebac-api"]["static_configs"][0]["targets"] == ["api:8000"]
    assert jobs["sebac-workers"]["dns_sd_configs"][0] == {"names": ["worker"], "type": "A", "port": 9102}


def test_k8s_manifests_use_the_cli_commands():
    from typer.main import get_command

    from sebac.cli import app

    commands = set(get_command(app).commands)
    kinds = {d["kind"]: d for d in K8S}
    assert {"ConfigMap", "Job", "Deployment", "Service", "StatefulSet"} <= kinds.keys()
    worker = kinds["StatefulSet"]["spec"]["template"]["spec"]["containers"][0]
    api = kinds["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    assert worker["args"][0] in commands and api["args"][0] in commands
    assert {"worker", "topics", "migrate", "serve"} <= commands
    Settings(**_sebac_env(kinds["ConfigMap"]["data"]), database_url="postgresql+psycopg://x@y/z")


def test_compose_runs_the_kafka_version_the_tests_run():
    """One pin: deploy/kafka/pom.xml's kafka.version (the tests' broker) is the compose file's image tag."""
    import re

    pinned = re.search(r"<kafka.version>([^<]+)</kafka.version>", (DEPLOY / "kafka" / "pom.xml").read_text())
    assert pinned and pinned.group(1).startswith("4.")
    assert COMPOSE["services"]["kafka"]["image"] == f"apache/kafka:{pinned.group(1)}"
