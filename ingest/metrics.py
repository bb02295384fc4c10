"""Prometheus metrics owned by the ingest stage (bounded labels only)."""
from __future__ import annotations

from prometheus_client import Counter

from ingest.contracts import Channel

REPORTS_RECEIVED = Counter("sebac_reports_received_total", "Reports accepted (new), by channel", ["channel"])
REPORTS_DUPLICATE = Counter("sebac_reports_duplicate_total", "Reports answered 'duplicate', by channel",
                            ["channel"])
REPORTS_REJECTED = Counter("sebac_reports_rejected_total", "Input items rejected, by channel and error key",
                           ["channel", "reason"])

for _ch in Channel:
    REPORTS_RECEIVED.labels(_ch.value)
    REPORTS_DUPLICATE.labels(_ch.value)
