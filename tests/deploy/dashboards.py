"""Read the provisioned Grafana dashboards: every PromQL expression, with Grafana's variables filled in."""
from __future__ import annotations

import json
import re
from pathlib import Path

DASHBOARDS = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "dashboards"
GRAFANA_BUILTINS = {"__rate_interval": "1m", "__range": "1h", "__interval": "15s"}


def load_dashboards() -> dict[str, dict]:
    return {p.name: json.loads(p.read_text(encoding="utf-8")) for p in sorted(DASHBOARDS.glob("*.json"))}


def all_queries() -> list[tuple[str, str]]:
    """``(where, expr)`` for every panel target of every dashboard."""
    out = []
    for name, dash in load_dashboards().items():
        for panel in dash["panels"]:
            for t in panel.get("targets", []):
                out.append((f"{name} / {panel['title']} / {t['refId']}", t["expr"]))
    return out


def substitute(expr: str, variables: dict[str, str]) -> str:
    """Replace ``$__rate_interval``-style built-ins and ``$var`` / ``${var}`` dashboard variables."""
    values = GRAFANA_BUILTINS | variables

    def repl(m: re.Match) -> str:
        name = m.group(1) or m.group(2)
        if name not in values:
            raise KeyError(f"unknown Grafana variable ${name} in {expr!r}")
        return values[name]

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", repl, expr)
