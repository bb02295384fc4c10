"""Compose the scale-out mode from settings: the API publishes, ``sebac worker`` consumes."""
from __future__ import annotations

import logging

from fastapi import FastAPI

from api.app import create_app
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


def create_topics(settings: Settings) -> None:
    if not settings.broker:
        raise ValueError("SEBAC_BROKER is not set")
    ensure_topics(bootstrap_of(settings.broker), Topics.with_prefix(settings.stream_topic_prefix).all(),
                  settings.stream_partitions, settings.stream_replication)


def build_streaming_pipeline(settings: Settings, clock: Clock | None = None,
                             publisher: Publisher | None = None) -> StreamingPipeline:
    if not settings.broker:
        raise ValueError("SEBAC_BROKER is not set")
    topics = Topics.with_prefix(settings.stream_topic_prefix)
    if publisher is None:
        try:
            create_topics(settings)
        except Exception as exc:  # noqa: BLE001 - the API starts and answers 503 until the broker is back
            log.warning("could not check topics on %s: %r", settings.broker, exc)
        publisher = KafkaPublisher(bootstrap_of(settings.broker), timeout=settings.stream_publish_timeout)
    return StreamingPipeline.around(embedded_pipeline(settings, clock), publisher, topics)


def build_streaming_app(settings: Settings, clock: Clock | None = None,
                        publisher: Publisher | None = None) -> FastAPI:
    pipeline = build_streaming_pipeline(settings, clock, publisher)
    app = create_app(pipeline, settings)
    app.router.on_shutdown.append(pipeline.publisher.close)
    return app
