"""Case-definition rule kinds as pure functions: week timelines in, signals (or none) out."""
from __future__ import annotations

import datetime as dt

import pytest

from detectors.contracts import Severity
from detectors.rules.cluster import ClusterRule, haversine_km
from detectors.rules.count_threshold import CountRule
from detectors.rules.immediate import ImmediateRule
from detectors.rules.rate import RateRule
from detectors.rules.ratio import RatioRule
from detectors.rules.trend import TrendRule
from tests.detectors.rulekit import at, day, rec, rule_input, weekly

NAMES = {"name_fr": "règle", "name_en": "rule"}
MENINGITIS = RateRule(kind="rate", id="meningitis_rate", diseases=("meningitis",), levels=("district",),
                      alert_per_100k=3, epidemic_per_100k=10, min_population=30000, fallback_count=2, **NAMES)


# -- rate: meningitis 3/100k alert, 10/100k epidemic, count fallback below 30,000 ------------------------
@pytest.mark.parametrize("population, weeks, severity, threshold", [
    (60000, [0, 1, 1], None, None),                  # 1.7/100k
    (60000, [0, 1, 2], Severity.alert, 2),           # 3.3/100k ≥ 3 → alert (threshold 1.8 → 2 cases)
    (60000, [1, 2, 5], Severity.alert, 2),           # 8.3/100k
    (60000, [1, 2, 6], Severity.epidemic, 6),        # 10/100k → epidemic
    (100000, [0, 0, 3], Severity.alert, 3),          # exactly 3/100k
    (100000, [0, 0, 2], None, None),
    (20000, [0, 0, 1], None, None),                  # small population: count fallback 2
    (20000, [0, 0, 2], Severity.alert, 2),
    (None, [0, 0, 2], Severity.alert, 2),            # unknown population: fallback too
])
def test_meningitis_rate_week3(population, weeks, severity, threshold):
    records = weekly(weeks)
    trigger = records[-1]
    ctx = rule_input("meningitis", trigger, records, population=population)
    signals = MENINGITIS.evaluate(ctx)
    if severity is None:
        assert signals == []
        return
    [s] = signals
    assert (s.severity, s.threshold, s.observed, s.epiweek) == (severity, threshold, weeks[-1], "2026-W47")
    assert s.dedup_key == "rule:v1:meningitis_rate:meningitis:D1:2026-W47"


def test_rate_without_fallback_ignores_small_units():
    rule = MENINGITIS.model_copy(update={"fallback_count": None})
    records = weekly([0, 0, 9])
    assert rule.evaluate(rule_input("meningitis", records[-1], records, population=20000)) == []


# -- count: measles ≥ 5 in a district in a calendar month ---------------------------------------------
MEASLES = CountRule(kind="count", id="measles_district_month", diseases=("measles",), levels=("district",),
                    threshold=5, period="month", **NAMES)


@pytest.mark.parametrize("onsets, expected", [
    ([dt.date(2026, 11, 2), dt.date(2026, 11, 9), dt.date(2026, 11, 20), dt.date(2026, 11, 21)], None),
    ([dt.date(2026, 11, 2), dt.date(2026, 11, 9), dt.date(2026, 11, 20), dt.date(2026, 11, 21),
      dt.date(2026, 11, 28)], 5),
    # the October case does not count towards November
    ([dt.date(2026, 10, 31), dt.date(2026, 11, 9), dt.date(2026, 11, 20), dt.date(2026, 11, 21),
      dt.date(2026, 11, 28)], None),
])
def test_measles_month(onsets, expected):
    records = [rec(f"r{i}", d) for i, d in enumerate(onsets)]
    signals = MEASLES.evaluate(rule_input("measles", records[-1], records))
    if expected is None:
        assert signals == []
    else:
        [s] = signals
        assert s.observed == expected and s.dedup_key.endswith(":D1:2026-11")
        assert (s.period_start, s.period_end) == (dt.date(2026, 11, 1), dt.date(2026, 11, 30))
        assert s.emergence_date == onsets[0] and len(s.report_ids) == 5


def test_count_epiweek_period():
    rule = CountRule(kind="count", id="x_week", diseases=("measles",), threshold=3, **NAMES)
    recs = [rec("a", day(1, 0), 2), rec("b", day(1, 6), 1), rec("c", day(2, 0), 5)]
    assert [s.observed for s in rule.evaluate(rule_input("measles", recs[1], recs))] == [3]


# -- ratio: malaria this week ≥ 1.5 × last week -------------------------------------------------------
MALARIA = RatioRule(kind="ratio", id="malaria_ratio", diseases=("malaria",), factor=1.5, min_previous=5,
                    min_current=10, **NAMES)


@pytest.mark.parametrize("weeks, fires, threshold", [
    ([10, 14], False, None),    # 14 < 15
    ([10, 15], True, 15),       # exactly 1.5×
    ([4, 30], False, None),     # previous week below min_previous
    ([0, 30], False, None),     # nothing to compare with
    ([6, 9], False, None),      # 9 ≥ 9 but below min_current 10
    ([6, 10], True, 10),
])
def test_malaria_ratio(weeks, fires, threshold):
    records = weekly(weeks)
    signals = MALARIA.evaluate(rule_input("malaria", records[-1], records))
    assert bool(signals) is fires
    if fires:
        assert signals[0].threshold == threshold and signals[0].epiweek == "2026-W46"


# -- trend: week n > week n−1 ----------------------------------------------------------------------------
@pytest.mark.parametrize("weeks, consecutive, min_current, fires", [
    ([2, 3], 1, 3, True),
    ([3, 3], 1, 3, False),
    ([4, 3], 1, 3, False),
    ([1, 2], 1, 3, False),       # rising but below min_current
    ([0, 5, 9], 2, 3, True),
    ([6, 5, 9], 2, 3, False),    # only one week of increase
    ([0, 0, 3], 2, 3, False),    # 0 → 0 is not an increase
])
def test_trend(weeks, consecutive, min_current, fires):
    rule = TrendRule(kind="trend", id="ili_trend", diseases=("ili",), consecutive=consecutive,
                     min_current=min_current, **NAMES)
    records = weekly(weeks)
    trigger = records[-1]
    assert bool(rule.evaluate(rule_input("ili", trigger, records))) is fires


# -- immediate -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cases, fires", [(0, False), (1, True), (3, True)])
def test_immediate(cases, fires):
    rule = ImmediateRule(kind="immediate", id="immediate", diseases=("cholera",), **NAMES)
    t = rec("r1", day(1, 3), cases, area="HA1")
    signals = rule.evaluate(rule_input("cholera", t, [t], level="health_area", orgunit="HA1"))
    assert bool(signals) is fires
    if fires:
        assert signals[0].dedup_key == "rule:v1:immediate:cholera:HA1:2026-W45"
        assert signals[0].observed == cases


# -- cluster: N reports within D days within K km -----------------------------------------------------
DEATHS = ClusterRule(kind="cluster", id="unexplained_death_cluster", diseases=("unexplained_death",),
                     min_reports=3, days=7, km=10, **NAMES)
LAT, LON = 14.0, -4.0
KM_LON = haversine_km(LAT, LON, LAT, LON + 1)  # km per degree of longitude at 14°N


def _east(km: float) -> float:
    return LON + km / KM_LON


@pytest.mark.parametrize("others, fires", [
    ([(0, 0), (2, 3)], True),                  # (day offset, km east): three reports within 7 days, 10 km
    ([(0, 0), (7, 3)], False),                 # 7 days apart: outside a 7-day window
    ([(-6, 0), (0, 5)], True),                 # window of days −6..0
    ([(0, 0), (1, 15)], False),                # third report 15 km away
    ([(0, 8), (1, 16)], True),                 # chained: 8 km, then 8 km further (single linkage)
    ([(-6, 0), (6, 0)], False),                # all linked to the trigger but no 7-day window holds 3
])
def test_cluster(others, fires):
    t = rec("t", day(2, 3), lat=LAT, lon=LON)
    recs = [rec(f"o{i}", t.onset_date + dt.timedelta(days=d), lat=LAT, lon=_east(km))
            for i, (d, km) in enumerate(others)]
    signals = DEATHS.evaluate(rule_input("unexplained_death", t, recs))
    assert bool(signals) is fires
    if fires:
        assert signals[0].observed == 3 and signals[0].orgunit_level == "district"
        assert signals[0].dedup_key == "rule:v1:unexplained_death_cluster:unexplained_death:D1:2026-W46"


def test_cluster_without_coordinates_links_same_health_area_only():
    t = rec("t", day(1, 2))
    recs = [rec("a", day(1, 3)), rec("b", day(1, 4), area="HA2")]
    assert DEATHS.evaluate(rule_input("unexplained_death", t, recs)) == []
    assert DEATHS.evaluate(rule_input("unexplained_death", t, recs + [rec("c", day(1, 5))]))


def test_cluster_by_cases():
    sari = DEATHS.model_copy(update={"count_by": "cases", "min_reports": 2, "days": 14})
    t = rec("t", day(1, 2), cases=2, lat=LAT, lon=LON)
    assert [s.observed for s in sari.evaluate(rule_input("sari", t, []))] == [2]


def test_haversine_known_distance():
    # Bamako (12.6392, -8.0029) to Mopti (14.4843, -4.1830): about 460 km
    assert haversine_km(12.6392, -8.0029, 14.4843, -4.1830) == pytest.approx(460, abs=5)


# -- late data fields ----------------------------------------------------------------------------------
def test_late_signal_says_when_it_would_have_fired():
    # meningitis district of 60,000: week 3 (2026-W47, 16-22 Nov) gets 2 cases on Tue and Thu, reported
    # only on 1 Dec: alert raised late; would have fired when the 2nd case's report was due (Thu + 1 day)
    received = at(dt.date(2026, 12, 1))
    records = [rec("a", day(3, 1), 1, received), rec("b", day(3, 3), 1, received)]
    [s] = MENINGITIS.evaluate(rule_input("meningitis", records[-1], records, population=60000, now=received))
    assert s.raised_late is True
    assert s.would_have_fired_at == at(day(3, 4), 0)


def test_on_time_signal_is_not_late():
    records = weekly([0, 0, 2])
    [s] = MENINGITIS.evaluate(rule_input("meningitis", records[-1], records, population=60000))
    assert s.raised_late is False and s.would_have_fired_at is None


@pytest.mark.parametrize("observed_since, fires", [
    (None, True),              # unknown: the counts are taken as they are
    (day(1, 0), True),         # reporting since week 1: 0 < 5 < 9 is a real rise
    (day(1, 6), True),
    (day(2, 0), False),        # reporting started in week 2: week 1's zero is unknown, not zero
])
def test_trend_waits_until_the_compared_weeks_were_observed(observed_since, fires):
    rule = TrendRule(kind="trend", id="ili_trend", diseases=("ili",), consecutive=2, min_current=3, **NAMES)
    records = weekly([0, 5, 9])
    ctx = rule_input("ili", records[-1], records)
    ctx = type(ctx)(**{**ctx.__dict__, "observed_since": observed_since})
    assert bool(rule.evaluate(ctx)) is fires


@pytest.mark.parametrize("start_day, onset, week, period", [
    (0, dt.date(2026, 11, 7), "2026-W45", (dt.date(2026, 11, 2), dt.date(2026, 11, 8))),   # ISO: Monday start
    (0, dt.date(2026, 11, 8), "2026-W45", (dt.date(2026, 11, 2), dt.date(2026, 11, 8))),
    (6, dt.date(2026, 11, 7), "2026-W44", (dt.date(2026, 11, 1), dt.date(2026, 11, 7))),   # Sunday-start weeks
    (6, dt.date(2026, 11, 8), "2026-W45", (dt.date(2026, 11, 8), dt.date(2026, 11, 14))),
])
def test_rules_count_in_configured_epi_weeks(start_day, onset, week, period):
    rule = CountRule(kind="count", id="x_week", diseases=("measles",), threshold=2, **NAMES)
    # one case on the onset day and one the day before: same week only when the week did not start on onset
    recs = [rec("a", onset - dt.timedelta(days=1)), rec("b", onset)]
    ctx = rule_input("measles", recs[1], recs)
    ctx = type(ctx)(**{**ctx.__dict__, "start_day": start_day})
    assert bool(rule.evaluate(ctx)) is (period[0] != onset)
    [s] = rule.model_copy(update={"threshold": 1}).evaluate(ctx)
    assert (s.epiweek, (s.period_start, s.period_end)) == (week, period)
    assert s.dedup_key.endswith(f":{week}")
