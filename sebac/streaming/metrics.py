"""Prometheus metrics of the streaming mode (API publisher and faust workers). Bounded labels only."""
from __future__ import annotations

from prometheus_client import Counter, Histogram

TOPICS = ("reports", "rejected", "signals", "alert-events", "notifications", "weekly-counts")

PUBLISHED = Counter("sebac_stream_published_total", "Records published by an API replica, by topic", ["topic"])
PUBLISH_FAILURES = Counter("sebac_stream_publish_failures_total",
                           "Publish attempts that failed (answered 503), by error type", ["error"])
CONSUMED = Counter("sebac_stream_consumed_total", "Records a worker processed, by topic and outcome",
                   ["topic", "outcome"])
BATCH_SECONDS = Histogram("sebac_stream_batch_seconds", "Time a worker spends on one batch, by topic",
                          ["topic"], buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
READ_BACK = Counter("sebac_stream_read_back_total",
                    "Records a worker read back by offset because its consumer skipped them, by topic", ["topic"])
RETRIES = Counter("sebac_stream_batch_retries_total",
                  "Batches a worker retried after an error (database or broker unavailable...), by topic", ["topic"])
WEEKS_CLOSED = Counter("sebac_stream_epiweeks_closed_total", "Epi weeks closed by the worker timer", ["kind"])

for t in TOPICS:
    PUBLISHED.labels(t)
for t, outcome in (("reports", "new"), ("reports", "duplicate"), ("reports", "poison"), ("signals", "applied"),
                   ("signals", "redelivered"), ("rejected", "stored")):
    CONSUMED.labels(t, outcome)
for t in ("reports", "signals", "rejected"):
    READ_BACK.labels(t)
    RETRIES.labels(t)
for kind in ("closed", "reclosed"):
    WEEKS_CLOSED.labels(kind)
