"""Prometheus metrics owned by the alerts stage (bounded labels only)."""
from __future__ import annotations

from prometheus_client import Counter

ALERTS_RAISED = Counter("sebac_alerts_raised_total", "Alerts created, by disease and starting level",
                        ["disease", "level"])
SIGNALS_MERGED = Counter("sebac_signals_merged_total", "Signals merged into an open alert", ["disease"])
