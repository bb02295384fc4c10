"""Compose the scale-out mode from settings: the API publishes, ``sebac worker`` consumes.

``sebac.engine.build_pipeline`` calls :func:`publishing` when ``SEBAC_BROKER`` is set, so the API
replicas of the scale-out mode are the usual ``sebac serve`` with one more setting.
"""
from __future__ import annotations

import logging

from ingest.clock import Clock
from sebac.pipeline import Pipeline
from sebac.settings import Settings
from sebac.streaming.ingest import StreamingPipeline
from sebac.streaming.publisher import KafkaPublisher, Publisher
from sebac.streaming.topics import Topics, bootstrap_of, ensure_topics

log = logging.getLogger("sebac.streaming")


def embedded_pipeline(settings: Settings, clock: Clock | None = None) -> Pipeline:
    """The embedded pipeline's objects, built by the one composition function (``sebac.engine``)."""
    from sebac.engine import build_pipeline

    return build_pipeline(settings.model_copy(update={"broker": None}), clock)


def create_topics(settings: Settings) -> list[str]:
    if not settings.broker:
        raise ValueError("SEBAC_BROKER is not set")
    return ensure_topics(bootstrap_of(settings.broker), Topics.with_prefix(settings.stream_topic_prefix).all(),
                         settings.stream_partitions, settings.stream_replication)


def publishing(pipeline: Pipeline, settings: Settings, publisher: Publisher | None = None) -> StreamingPipeline:
    """Wrap an embedded pipeline so that accepted and rejected items go to the broker."""
    if not settings.broker:
        raise ValueError("SEBAC_BROKER is not set")
    if publisher is None:
        try:
            create_topics(settings)
        except Exception as exc:  # noqa: BLE001 - the API starts and answers 503 until the broker is back
            log.warning("could not check topics on %s: %r", settings.broker, exc)
        publisher = KafkaPublisher(bootstrap_of(settings.broker), timeout=settings.stream_publish_timeout)
    return StreamingPipeline.around(pipeline, publisher, Topics.with_prefix(settings.stream_topic_prefix))


def build_streaming_pipeline(settings: Settings, clock: Clock | None = None,
                             publisher: Publisher | None = None) -> StreamingPipeline:
    return publishing(embedded_pipeline(settings, clock), settings, publisher)
