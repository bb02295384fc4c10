"""Compose the engine from settings: database (migrated), pyramid, diseases, stages, pipeline, API.

Two constructions, named: :func:`build_embedded` (store, detect and alert in process) and
:func:`build_streaming` (validate, then publish to the broker). :func:`build_services` picks one
from ``SEBAC_BROKER``; :func:`build_app` puts it under the API (:class:`api.services.Services`).
"""
from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING

from fastapi import FastAPI

from api.app import create_app
from detectors.rules.catalogue import load_rules
from detectors.stage import DetectionStage
from detectors.statistical import load_detectors
from ingest.clock import Clock
from ingest.channels import channels_from_settings
from ingest.diseases import DiseaseCatalogue, load_diseases
from ingest.intake import IntakeRecorder
from ingest.lateness import LatenessPolicy
from ingest.pyramid import Pyramid, demo_pyramid_path, load_pyramid
from ingest.validation import Limits
from sebac.db import make_engine, migrate
from sebac.pipeline import Pipeline
from sebac.settings import Settings

if TYPE_CHECKING:
    from sebac.streaming.ingest import StreamingPipeline
    from sebac.streaming.publisher import Publisher

log = logging.getLogger("sebac")


def build_embedded(settings: Settings, clock: Clock | None = None, alert_clock: Clock | None = None,
                   pyramid: Pyramid | None = None) -> Pipeline:
    """The embedded pipeline on ``settings.database_url`` (migrated): it stores, detects and alerts in
    process, whatever ``settings.broker`` says. ``alert_clock``: the clock of alerts and logins when it
    differs from the reports' (the demo). ``pyramid``: a tree already built (a DHIS2 pull reads it from
    the server) instead of ``settings.pyramid_path``."""
    db = make_engine(settings.database_url)
    migrate(db)
    pyramid = pyramid or load_pyramid(settings.pyramid_path or demo_pyramid_path())
    diseases = load_diseases(settings.diseases_path)
    log.info("pyramid: %d org units (%s); %d diseases; database %s", len(pyramid), " → ".join(pyramid.levels),
             len(diseases.codes()), db.url.render_as_string(hide_password=True))
    intake = IntakeRecorder(LatenessPolicy(settings.late_after_days, settings.epiweek_start_day),
                            duplicate_window=dt.timedelta(days=settings.duplicate_window_days))
    pipeline = Pipeline(db, pyramid, diseases, clock=clock, limits=Limits(max_cases=settings.max_cases),
                        epiweek_start_day=settings.epiweek_start_day, intake=intake,
                        detection=build_detection(settings, pyramid, diseases), alert_clock=alert_clock)
    from alerts.runtime import configure as configure_alerts

    configure_alerts(pipeline, settings)  # escalation policy from settings; SMS commands (OK 12, VRAI 12...)
    return pipeline


def build_streaming(settings: Settings, clock: Clock | None = None, alert_clock: Clock | None = None,
                    pyramid: Pyramid | None = None, publisher: Publisher | None = None) -> StreamingPipeline:
    """The scale-out API side: the embedded pipeline's validation and read paths, publishing accepted
    and rejected items to ``settings.broker`` (required) for ``sebac worker`` to store and alert
    (:func:`sebac.streaming.engine.publishing`)."""
    if not settings.broker:
        raise ValueError("SEBAC_BROKER is not set")
    from sebac.streaming.engine import publishing

    return publishing(build_embedded(settings, clock, alert_clock, pyramid), settings, publisher)


def build_services(settings: Settings, clock: Clock | None = None, alert_clock: Clock | None = None,
                   pyramid: Pyramid | None = None) -> Pipeline:
    """What ``sebac serve`` and the commands run on: :func:`build_streaming` when ``SEBAC_BROKER`` is
    set (scale-out mode), :func:`build_embedded` otherwise."""
    if settings.broker:
        return build_streaming(settings, clock, alert_clock, pyramid)
    return build_embedded(settings, clock, alert_clock, pyramid)


# sebac.streaming.engine.embedded_pipeline imports the embedded construction under this name
build_pipeline = build_embedded


def build_detection(settings: Settings, pyramid: Pyramid, diseases: DiseaseCatalogue) -> DetectionStage:
    """Rules and statistical detectors from settings (strict: a bad file stops start-up)."""
    rules = load_rules(settings.rules_path, diseases, pyramid.levels)
    detectors = load_detectors(settings.detectors_path, diseases, pyramid.levels)
    log.info("detectors: %d case-definition rules, %d statistical detectors", len(rules), len(detectors))
    return DetectionStage(pyramid, diseases, epiweek_start_day=settings.epiweek_start_day, rules=rules,
                          detectors=detectors,
                          typical_delay=dt.timedelta(hours=settings.typical_report_delay_hours),
                          closed_after_days=settings.late_after_days,
                          queue_settle=dt.timedelta(minutes=settings.reevaluation_settle_minutes))


def build_app(settings: Settings, clock: Clock | None = None, alert_clock: Clock | None = None) -> FastAPI:
    pipeline = build_services(settings, clock, alert_clock)
    app = create_app(pipeline, settings)
    app.state.ingest_channels = channels_from_settings(pipeline, settings)  # CHW registry, SMS, DHIS2 mapping
    return app
