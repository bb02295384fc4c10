"""Pipeline progress metrics (embedded pipeline and stream workers) and start-up pre-creation.

``worker`` is ``embedded`` for the in-process pipeline of the API, or the configured name of a
stream worker (bounded by the deployment, never a pid or host name chosen at random).

* ``sebac_pipeline_lag_seconds{worker}`` — processing time minus receipt time of the last report the
  worker processed. Reports are consumed in receipt order per partition, so while a backlog exists
  this is the age of the oldest report not yet processed when the worker took it up (0 in the
  embedded pipeline, which processes each report in the request that received it).
* ``sebac_pipeline_backlog_messages{worker, topic}`` — messages waiting for the worker (consumer lag).
* ``sebac_pipeline_last_processed_timestamp_seconds{worker}`` — ``time() - …`` shows a stuck worker.
* ``sebac_pipeline_reports_processed_total{worker}``.

In multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``) the gauges keep the maximum over live processes.
"""
from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from typing import Iterable

from prometheus_client import Counter, Gauge

import alerts.metrics as alert_metrics
import detectors.metrics as detector_metrics
import ingest.metrics as ingest_metrics
from ingest.pyramid import Pyramid

EMBEDDED = "embedded"
_WORKER = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,47}$")

PIPELINE_LAG = Gauge("sebac_pipeline_lag_seconds", "Processing time minus receipt time of the last report "
                     "processed (the oldest unprocessed report's age when it was taken up)", ["worker"],
                     multiprocess_mode="livemax")
PIPELINE_BACKLOG = Gauge("sebac_pipeline_backlog_messages", "Messages waiting for the worker (consumer lag)",
                         ["worker", "topic"], multiprocess_mode="livemax")
PIPELINE_LAST = Gauge("sebac_pipeline_last_processed_timestamp_seconds", "Unix time of the last report "
                      "processed", ["worker"], multiprocess_mode="livemax")
PIPELINE_PROCESSED = Counter("sebac_pipeline_reports_processed", "Reports processed by the pipeline stages",
                             ["worker"])


def worker_label(name: str) -> str:
    if not _WORKER.match(name or ""):
        raise ValueError(f"worker name {name!r} is not a short identifier (it becomes a metric label)")
    return name


def observe_report_processed(received_at: dt.datetime, now: dt.datetime, worker: str = EMBEDDED) -> None:
    """A worker finished a report received at ``received_at``."""
    w = worker_label(worker)
    PIPELINE_LAG.labels(w).set(max(0.0, (now - received_at).total_seconds()))
    PIPELINE_LAST.labels(w).set(now.timestamp())
    PIPELINE_PROCESSED.labels(w).inc()


def observe_backlog(worker: str, topic: str, messages: int) -> None:
    """Consumer lag of ``worker`` on ``topic`` (topics are fixed by the deployment)."""
    PIPELINE_BACKLOG.labels(worker_label(worker), worker_label(topic)).set(max(0, messages))


def precreate_worker(worker: str, topics: Iterable[str] = ()) -> None:
    w = worker_label(worker)
    PIPELINE_LAG.labels(w)
    PIPELINE_LAST.labels(w)
    PIPELINE_PROCESSED.labels(w)
    for topic in topics:
        PIPELINE_BACKLOG.labels(w, worker_label(topic))


def precreate_all(pyramid: Pyramid, diseases: Iterable[str], detectors: Iterable[str] = ("immediate",),
                  worker: str = EMBEDDED, topics: Iterable[str] = ("reports",)) -> None:
    """Start every counter at 0 for every known label set (regions, districts, diseases, channels,
    levels, detectors, the worker): called once by composition when the pipeline is built.

    The embedded pipeline's backlog on ``reports`` stays 0: it processes each report in the request."""
    diseases = list(diseases)
    ingest_metrics.precreate(pyramid)
    detector_metrics.precreate(detectors, diseases)
    alert_metrics.precreate(pyramid.levels, diseases)
    precreate_worker(worker, topics)


# -- several API worker processes (prometheus-client multiprocess mode) ------------------------------
def reset_multiprocess_dir(path: str | os.PathLike | None = None) -> Path | None:
    """Empty ``PROMETHEUS_MULTIPROC_DIR`` (or ``path``) before the API worker processes start: files left
    by a previous run would otherwise be summed into the new counters. Returns the directory, or None
    when multiprocess mode is off. Call it once, in the parent process, never from a worker."""
    directory = path or os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return None
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    for f in d.glob("*.db"):
        f.unlink()
    return d


def mark_worker_dead(pid: int) -> None:
    """A worker process exited (gunicorn ``child_exit`` hook): drop its live gauges (``livemax``)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(pid)
