"""``/metrics`` exposition: the process (or multiprocess) registry plus gauges derived from the database.

Counters and histograms are updated where things happen (``ingest.metrics``, ``detectors.metrics``,
``alerts.metrics``, ``sebac.metrics``). With ``PROMETHEUS_MULTIPROC_DIR`` set, every API worker
process writes them to that directory and :func:`exposition` merges them (prometheus-client
multiprocess mode), so a scrape that lands on any worker sees the sums.

State gauges (open alerts, 7-1-7, silent sites, completeness) are not counted in memory: they are
computed from the database when scraped, by :class:`DatabaseCollector`, so they are the same in every
process and worker and survive restarts. The result is cached for ``ttl`` seconds so that several
Prometheus servers or a dashboard refresh do not each query the database.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any, Callable, Iterator

from prometheus_client import REGISTRY, CollectorRegistry, disable_created_metrics, generate_latest
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from alerts.metrics import alert_gauges
from ingest.metrics import region_district, reporting_quality

log = logging.getLogger("sebac.metrics")
_REGISTRY_LOCK = threading.Lock()
disable_created_metrics()  # the *_created series double the payload and no dashboard uses them


class DatabaseCollector:
    """Gauges computed from the database at scrape time (cached ``ttl`` seconds)."""

    def __init__(self, pipeline: Any, *, ttl: float = 5.0, silent_days: int = 3, deadline_days: int = 1,
                 monotonic: Callable[[], float] = time.monotonic):
        self.pipeline = pipeline
        self.ttl = ttl
        self.silent_days = silent_days
        self.deadline_days = deadline_days
        self.monotonic = monotonic
        self._lock = threading.Lock()
        self._cached: list[Metric] | None = None
        self._cached_at = float("-inf")

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            if self._cached is None or self.monotonic() - self._cached_at >= self.ttl:
                self._cached = self._compute()
                self._cached_at = self.monotonic()
            return iter(self._cached)

    def _compute(self) -> list[Metric]:
        started = time.perf_counter()
        up = GaugeMetricFamily("sebac_database_up", "1 when the metrics query of the database succeeded")
        try:
            families = self._families()
            up.add_metric([], 1)
        except Exception:  # the database is down: say so, and keep serving the in-memory metrics
            log.exception("metrics: database query failed")
            families = []
            up.add_metric([], 0)
        took = GaugeMetricFamily("sebac_metrics_database_query_seconds", "Time the last metrics query took")
        took.add_metric([], time.perf_counter() - started)
        return families + [up, took]

    def _families(self) -> list[Metric]:
        p = self.pipeline
        now = p.clock.now()
        pyramid = p.pyramid
        with p.db.connect() as conn:
            quality = reporting_quality(conn, pyramid, now, start_day=getattr(p, "start_day", 0),
                                        silent_days=self.silent_days, deadline_days=self.deadline_days)
            state = alert_gauges(conn, now, p.diseases.codes())
        rd = ["region", "district"]
        info = GaugeMetricFamily("sebac_district_info", "Districts of the pyramid with their names (value 1)",
                                 labels=rd + ["region_name", "district_name"])
        sites = GaugeMetricFamily("sebac_sites", "Reporting sites in the pyramid", labels=rd)
        silent = GaugeMetricFamily("sebac_sites_silent", f"Sites with nothing received for {self.silent_days} "
                                   "days or more", labels=rd)
        complete = GaugeMetricFamily("sebac_reporting_completeness_ratio", "Share of sites that reported for the "
                                     "last complete epi week", labels=rd)
        prompt = GaugeMetricFamily("sebac_reporting_promptness_ratio", "Share of sites that reported for the last "
                                   f"complete epi week within {self.deadline_days} day(s) of its end", labels=rd)
        dup = GaugeMetricFamily("sebac_reporting_duplicate_ratio", "Share of the last complete epi week's reports "
                                "flagged as possible duplicates (same content, another key)", labels=rd)
        for q in quality:
            labels = [q.region, q.district]
            region = pyramid.get(q.region).name if q.region in pyramid else q.region
            info.add_metric(labels + [region, pyramid.get(q.district).name], 1)
            sites.add_metric(labels, q.sites)
            silent.add_metric(labels, q.silent)
            complete.add_metric(labels, q.completeness)
            prompt.add_metric(labels, q.promptness)
            dup.add_metric(labels, q.duplicate_rate)
        open_alerts = GaugeMetricFamily("sebac_alerts_open", "Active alerts (open, acknowledged, verified, in "
                                        "response) by level, region, district, disease and risk",
                                        labels=["level", "region", "district", "disease", "risk"])
        known = set(p.diseases.codes())
        merged: dict[tuple[str, ...], int] = {}
        for (level, _, district, disease, risk), n in state.open.items():
            # labels come from alert rows: re-resolve them so an id outside the pyramid or the catalogue
            # stays bounded, then add up the rows that land on the same label set
            cell = (level, *region_district(pyramid, district), disease if disease in known else "other", risk)
            merged[cell] = merged.get(cell, 0) + n
        for label_set, n in sorted(merged.items()):
            open_alerts.add_metric(list(label_set), n)
        by_status = GaugeMetricFamily("sebac_alerts", "Alerts by status", labels=["status"])
        for status, n in sorted(state.by_status.items()):
            by_status.add_metric([status], n)
        s717 = GaugeMetricFamily("sebac_alerts_717_milestones", "Alerts of the last 90 days by 7-1-7 milestone "
                                 "(detection ≤ 7 d, notification ≤ 1 d, response ≤ 7 d) and status",
                                 labels=["milestone", "status", "disease"])
        milestones: dict[tuple[str, ...], int] = {}
        for (milestone, status, disease), n in state.milestones.items():
            reached = (milestone, status, disease if disease in known else "other")
            milestones[reached] = milestones.get(reached, 0) + n
        for label_set, n in sorted(milestones.items()):
            s717.add_metric(list(label_set), n)
        return [info, sites, silent, complete, prompt, dup, open_alerts, by_status, s717]


def database_registry(app_state: Any) -> CollectorRegistry:
    """One registry per app holding its :class:`DatabaseCollector` (created on first use)."""
    with _REGISTRY_LOCK:
        registry = getattr(app_state, "metrics_db_registry", None)
        if registry is None:
            settings = getattr(app_state, "settings", None)
            registry = CollectorRegistry(auto_describe=False)
            registry.register(DatabaseCollector(
                app_state.pipeline,
                ttl=getattr(settings, "metrics_cache_seconds", 5.0),
                silent_days=getattr(settings, "silent_after_days", 3),
                deadline_days=getattr(settings, "promptness_deadline_days", 1)))
            app_state.metrics_db_registry = registry
        return registry


def process_registry() -> CollectorRegistry:
    """The default registry, or a fresh one merging every process's files in multiprocess mode."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get("prometheus_multiproc_dir")
    if not directory:
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)
    return registry


def exposition(app_state: Any) -> bytes:
    """The text exposition of ``/metrics``: in-process (or merged) metrics, then database gauges."""
    return generate_latest(process_registry()) + generate_latest(database_registry(app_state))
