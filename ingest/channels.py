"""The channel adapters' shared context, built once at start-up from plain values.

``build_channels`` loads the CHW registry (file, or one demo CHW per site of the demo pyramid), the
DHIS2 mapping and extra translations, and wires the SMS intake to the pipeline. Composition
(``sebac.engine``) may build it and put it on ``app.state.ingest_channels``; the API builds it
lazily from the settings otherwise.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.chw import CHWRegistry, demo_chws, load_chw_registry
from ingest.dhis2 import Dhis2Mapping, load_dhis2_mapping
from ingest.messages import load_translations
from ingest.sms.flow_results import load_flow_fields
from ingest.sms.grammar import DEFAULT_DATE_WINDOW_DAYS
from ingest.sms.intake import SmsIntake


@dataclass
class IngestChannels:
    registry: CHWRegistry
    sms: SmsIntake
    dhis2_mapping: Dhis2Mapping


def build_channels(pipeline: Any, *, chw_registry_path: str | Path | None = None, demo_chws_enabled: bool = True,
                   dhis2_mapping_path: str | Path | None = None, translations_path: str | Path | None = None,
                   default_lang: str = "fr", sms_date_window_days: int = DEFAULT_DATE_WINDOW_DAYS,
                   rapidpro_fields_path: str | Path | None = None) -> IngestChannels:
    if chw_registry_path:
        registry = load_chw_registry(chw_registry_path, pipeline.pyramid)
    else:
        registry = CHWRegistry(demo_chws(pipeline.pyramid) if demo_chws_enabled else [], pipeline.pyramid)
    if translations_path:
        load_translations(str(translations_path))
    mapping = load_dhis2_mapping(dhis2_mapping_path, pipeline.diseases)
    sms = SmsIntake(pipeline, registry, default_lang=default_lang, date_window_days=sms_date_window_days,
                    flow_fields=load_flow_fields(rapidpro_fields_path))
    return IngestChannels(registry=registry, sms=sms, dhis2_mapping=mapping)


def channels_from_settings(pipeline: Any, settings: Any) -> IngestChannels:
    """Duck-typed on the settings object (``sebac.settings.Settings``): absent fields take defaults."""
    def g(name: str, default: Any = None) -> Any:
        return getattr(settings, name, default)

    return build_channels(
        pipeline,
        chw_registry_path=g("chw_registry_path"),
        demo_chws_enabled=g("pyramid_path") is None,  # demo CHWs only for the demo pyramid
        dhis2_mapping_path=g("dhis2_mapping_path"),
        translations_path=g("translations_path"),
        default_lang=g("sms_default_lang", "fr"),
        sms_date_window_days=g("sms_date_window_days", DEFAULT_DATE_WINDOW_DAYS),
        rapidpro_fields_path=g("sms_rapidpro_fields_path"),
    )


def reload_registry(channels: IngestChannels, pipeline: Any, settings: Any) -> CHWRegistry:
    """Re-read the CHW registry file (after CHWs were added) without restarting; atomic swap.

    A broken file raises (``chw.*`` key) and leaves the registry in force untouched.
    """
    path = getattr(settings, "chw_registry_path", None)
    if path:
        registry = load_chw_registry(path, pipeline.pyramid)
    else:
        registry = CHWRegistry(demo_chws(pipeline.pyramid) if getattr(settings, "pyramid_path", None) is None
                               else [], pipeline.pyramid)
    channels.registry = registry
    channels.sms.registry = registry
    return registry
