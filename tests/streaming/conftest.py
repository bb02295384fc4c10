"""Fixtures of the streaming tests: the API side of the scale-out mode with an in-memory publisher."""
from __future__ import annotations

import pytest

from sebac.settings import Settings
from sebac.streaming.engine import publishing
from sebac.streaming.ingest import StreamingPipeline
from sebac.streaming.publisher import InMemoryPublisher


@pytest.fixture
def api_side(pipeline) -> tuple[StreamingPipeline, InMemoryPublisher]:
    publisher = InMemoryPublisher()
    settings = Settings(environment="test", broker="kafka://127.0.0.1:9", stream_topic_prefix="t")
    return publishing(pipeline, settings, publisher), publisher
