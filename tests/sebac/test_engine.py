"""The two constructions of the engine are named: embedded (store, detect, alert in process) and
streaming (validate, publish to the broker); the API receives either as :class:`api.services.Services`."""
from __future__ import annotations

import pytest

from api.services import Services
from sebac.engine import build_embedded, build_streaming
from sebac.pipeline import Pipeline
from sebac.settings import Settings


def _members(protocol: type) -> list[str]:
    return sorted(n for n in vars(protocol) if not n.startswith("_"))


def test_the_embedded_construction_stays_embedded_with_a_broker_configured(tmp_path):
    settings = Settings(environment="test", database_url=f"sqlite:///{tmp_path / 'e.db'}",
                        broker="kafka://127.0.0.1:9")
    pipeline = build_embedded(settings)
    assert type(pipeline) is Pipeline


def test_the_streaming_construction_needs_a_broker(tmp_path):
    with pytest.raises(ValueError, match="SEBAC_BROKER"):
        build_streaming(Settings(environment="test", database_url=f"sqlite:///{tmp_path / 's.db'}"))


def test_the_pipeline_has_every_member_of_the_services_the_api_uses(tmp_path):
    pipeline = build_embedded(Settings(environment="test", database_url=f"sqlite:///{tmp_path / 'm.db'}"))
    missing = [n for n in _members(Services) if not hasattr(pipeline, n)]
    assert missing == []
    assert "submit" in _members(Services) and "alerting" in _members(Services)
