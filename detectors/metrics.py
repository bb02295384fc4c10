"""Prometheus metrics of the detectors stage (bounded labels: ``detector``, ``disease``).

``detector`` is a rule kind or algorithm id fixed by code (``immediate``, ``earsC1``, ``farrington``...);
``disease`` a catalogue code. The detection stage calls :func:`observe_evaluation` once per
(detector, disease, area, period) evaluated, with ``alarm`` true when it crossed its threshold.
"""
from __future__ import annotations

import re
from typing import Iterable

from prometheus_client import Counter, Histogram

OTHER = "other"
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,47}$")

DETECTOR_EVALUATIONS = Counter("sebac_detector_evaluations", "Detector evaluations (one per area and period "
                               "evaluated), by detector and disease", ["detector", "disease"])
DETECTOR_ALARMS = Counter("sebac_detector_alarms", "Evaluations that crossed the detector's threshold "
                          "(a signal was emitted)", ["detector", "disease"])
DETECTOR_SECONDS = Histogram("sebac_detector_evaluation_seconds", "Wall time of one detector run on one report "
                             "or batch", ["detector"], buckets=(0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5))


def detector_label(name: str) -> str:
    """Detector ids are code constants; anything that does not look like one becomes ``other``."""
    return name if _NAME.match(name or "") else OTHER


def observe_evaluation(detector: str, disease: str, alarm: bool, count: int = 1) -> None:
    """``count`` evaluations of ``detector`` for ``disease``; ``alarm`` counts them as alarms too."""
    label = detector_label(detector)
    DETECTOR_EVALUATIONS.labels(label, disease).inc(count)
    if alarm:
        DETECTOR_ALARMS.labels(label, disease).inc(count)


def observe_duration(detector: str, seconds: float) -> None:
    DETECTOR_SECONDS.labels(detector_label(detector)).observe(seconds)


def precreate(detectors: Iterable[str], diseases: Iterable[str]) -> None:
    """Start every (detector, disease) pair at 0."""
    diseases = list(diseases)
    for det in detectors:
        label = detector_label(det)
        DETECTOR_SECONDS.labels(label)
        for disease in diseases:
            DETECTOR_EVALUATIONS.labels(label, disease)
            DETECTOR_ALARMS.labels(label, disease)
