"""Epidemiological weeks in event time: re-exported from :mod:`ingest.epiweek`, where the lowest
layer defines them (ingest may not import detectors; detectors may import ingest)."""
from ingest.epiweek import EpiWeek, epiweek, week_end, week_start

__all__ = ["EpiWeek", "epiweek", "week_end", "week_start"]
