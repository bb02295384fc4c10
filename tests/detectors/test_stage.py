"""The detection stage on a real database: rules and statistical detectors as week timelines."""
from __future__ import annotations

import datetime as dt

import pytest

from detectors.rules.catalogue import rules_from_mapping
from detectors.stage import DetectionStage
from detectors.statistical import detectors_from_mapping
from ingest.history import HistoryRow, store_history
from tests.detectors.stagekit import StageDriver

UTC = dt.timezone.utc
W45 = dt.date(2026, 11, 2)       # Monday of ISO week 2026-W45
SITE = "ML-MOP-DJENNE-MOUGNA-S1"  # health area Mougna (12,350), district Djenné (80,860)
SITE2 = "ML-MOP-DJENNE-SOFARA-S1"
AREA, DISTRICT = "ML-MOP-DJENNE-MOUGNA", "ML-MOP-DJENNE"


def wk(n: int, weekday: int = 1) -> dt.date:
    return W45 + dt.timedelta(weeks=n - 1, days=weekday)


@pytest.fixture
def drive(db, pyramid, diseases):
    return StageDriver(db, pyramid, DetectionStage(pyramid, diseases))


def keys(signals):
    return sorted((s.rule_id, s.orgunit_id, s.severity.value) for s in signals)


def test_meningitis_district_crosses_3_then_10_per_100k_in_week_3(drive):
    # Djenné: 3/100k = 2.4 cases, 10/100k = 8.1 cases; Mougna (health area) uses the fallback of 2 cases.
    assert drive.post(SITE, "meningitis", 1, wk(1)) == []
    assert drive.post(SITE, "meningitis", 1, wk(2)) == []
    assert drive.post(SITE, "meningitis", 1, wk(3, 0)) == []
    assert keys(drive.post(SITE2, "meningitis", 1, wk(3, 1))) == []  # 2 in the district: 2.5/100k, Sofara has 1
    signals = drive.post(SITE, "meningitis", 1, wk(3, 2))           # 3 in Djenné, 2 in Mougna
    assert keys(signals) == [("meningitis_rate", DISTRICT, "alert"), ("meningitis_rate", AREA, "alert")]
    district = next(s for s in signals if s.orgunit_level == "district")
    assert district.dedup_key == f"rule:v1:meningitis_rate:meningitis:{DISTRICT}:2026-W47"
    assert district.observed == 3 and district.threshold == 3 and district.emergence_date == wk(3, 0)
    signals = drive.post(SITE2, "meningitis", 6, wk(3, 3))          # 9 in Djenné: 11.1/100k
    assert ("meningitis_rate", DISTRICT, "epidemic") in keys(signals)


def test_immediate_and_no_signal_for_other_disease(drive):
    [s] = drive.post(SITE, "cholera", 1, wk(3))
    assert s.dedup_key == f"rule:v1:immediate:cholera:{AREA}:2026-W47" and s.detector == "immediate"
    assert drive.post(SITE, "acute_diarrhoea", 1, wk(3)) == []


def test_measles_five_cases_in_district_month(drive):
    sites = [SITE, SITE2, SITE, "ML-MOP-DJENNE-TAGA-S1"]
    for i, site in enumerate(sites):
        assert drive.post(site, "measles", 1, dt.date(2026, 11, 3 + 4 * i)) == []
    [s] = drive.post(SITE2, "measles", 1, dt.date(2026, 11, 19))
    assert s.dedup_key == f"rule:v1:measles_district_month:measles:{DISTRICT}:2026-11" and s.observed == 5


def test_malaria_ratio_at_area_and_district(drive):
    drive.store(SITE, "malaria", 8, wk(1))
    signals = drive.post(SITE, "malaria", 12, wk(2))
    assert keys(signals) == [("malaria_ratio", DISTRICT, "alert"), ("malaria_ratio", AREA, "alert")]


def test_unexplained_deaths_cluster_across_health_areas(drive):
    # Mougna and Sofara sites are about 14 km apart: too far; Mougna S1/S2 are within 10 km.
    assert drive.post("ML-MOP-DJENNE-MOUGNA-S1", "unexplained_death", 1, wk(2, 0)) == []
    assert drive.post("ML-MOP-DJENNE-MOUGNA-S2", "unexplained_death", 1, wk(2, 2)) == []
    [s] = drive.post("ML-MOP-DJENNE-MOUGNA-S3", "unexplained_death", 1, wk(2, 4))
    assert (s.rule_id, s.orgunit_id, s.observed, s.detector) == ("unexplained_death_cluster", DISTRICT, 3, "cluster")
    assert len(s.report_ids) == 3


# -- statistical detectors ---------------------------------------------------------------------------------
def _history(db, area, disease, counts, last_week=46, year=2026):
    rows = []
    for i, n in enumerate(reversed(counts)):
        y, w = year, last_week - i
        while w < 1:
            y, w = y - 1, w + 52
        rows.append(HistoryRow(area, disease, y, w, n))
    with db.begin() as conn:
        store_history(conn, rows, now=dt.datetime(2026, 11, 1, tzinfo=UTC), source="test")


def test_ili_ears_c2_on_health_area_with_history(db, drive):
    _history(db, AREA, "ili", [2, 3, 2, 4, 3, 2, 3, 2, 3, 2, 3, 2, 3, 4, 2, 3])
    assert drive.post(SITE, "ili", 3, wk(3)) == []
    signals = drive.post(SITE, "ili", 9, wk(3, 2))  # 12 in 2026-W47
    [s] = [s for s in signals if s.detector == "earsC_C2"]
    assert s.dedup_key == f"detector:v1:ili_ears_c2_area:ili:{AREA}:2026-W47"
    assert s.observed == 12 and 4 < s.threshold < 12 and s.orgunit_level == "health_area"
    assert s.raised_late is False


def test_statistical_detector_warms_up_without_history(drive):
    assert drive.post(SITE, "ili", 40, wk(3)) == []   # 1 week of data: not enough baseline, no signal


def test_district_history_summed_from_health_areas(db, pyramid, diseases):
    cfg = detectors_from_mapping({"detectors": [{"id": "ili_c1_district", "disease": "ili", "level": "district",
                                                 "algorithm": "earsC_C1", "min_observed": 3}]}, diseases)
    stage = DetectionStage(pyramid, diseases, rules=rules_from_mapping({"rules": []}, diseases), detectors=cfg)
    drive = StageDriver(db, pyramid, stage)
    for area in ("ML-MOP-DJENNE-MOUGNA", "ML-MOP-DJENNE-SOFARA"):
        _history(db, area, "ili", [1, 2] * 8)
    [s] = drive.post(SITE, "ili", 15, wk(3))
    assert (s.orgunit_id, s.detector, s.observed) == (DISTRICT, "earsC_C1", 15)


def test_ff_noufaily_on_district_with_five_years_of_history(db, pyramid, diseases):
    import numpy as np
    rng = np.random.default_rng(3)
    weeks = 5 * 52 + 40
    base = rng.poisson(20 + 8 * np.sin(2 * np.pi * np.arange(weeks) / 52))
    _history(db, DISTRICT, "malaria", [int(x) for x in base])
    cfg = detectors_from_mapping({"detectors": [{"id": "malaria_noufaily_district", "disease": "malaria",
                                                 "level": "district", "algorithm": "ff_noufaily"}]}, diseases)
    stage = DetectionStage(pyramid, diseases, rules=rules_from_mapping({"rules": []}, diseases), detectors=cfg)
    drive = StageDriver(db, pyramid, stage)
    assert drive.post(SITE, "malaria", 10, wk(3)) == []
    [s] = drive.post(SITE2, "malaria", 80, wk(3))
    assert s.detector == "ff_noufaily" and s.observed == 90 and s.threshold < 90
    assert s.dedup_key == f"detector:v1:malaria_noufaily_district:malaria:{DISTRICT}:2026-W47"


# -- through the embedded pipeline -------------------------------------------------------------------------
def test_pipeline_submit_raises_rule_and_statistical_alerts(db, pipeline, clock):
    # clock: Friday 20 Nov 2026 (2026-W47). Meningitis in Mougna: 2 cases this week → alert (fallback count).
    base = {"orgunit_id": SITE, "onset_date": "2026-11-18"}
    first = pipeline.submit(base | {"client_id": "m-1", "disease": "meningitis", "cases": 1})
    assert first.status == "accepted" and first.alerts == []
    second = pipeline.submit(base | {"client_id": "m-2", "disease": "meningitis", "cases": 1})
    [alert] = second.alerts
    assert (alert.disease, alert.orgunit_id, alert.detector) == ("meningitis", AREA, "rate")
    # ILI with 16 weeks of history in Mougna: 12 cases this week → EARS C2 alert at the health area
    _history(db, AREA, "ili", [2, 3, 2, 4, 3, 2, 3, 2, 3, 2, 3, 2, 3, 4, 2, 3])
    res = pipeline.submit(base | {"client_id": "i-1", "disease": "ili", "cases": 12})
    assert [(a.detector, a.orgunit_id) for a in res.alerts] == [("earsC_C2", AREA)]
    with pipeline.db.connect() as conn:
        assert pipeline.alerts.count(conn) == 2
