"""Rules counting epi weeks decided from weekly cases (the cube) give the signals of a run on every
report: the stage's cheap path (:mod:`detectors.stage_rules`) changes no signal field.

For each rule kind that counts whole weeks, random reports (many per week, ties in onset and receipt,
more than ``MAX_REPORT_IDS`` in a week) are evaluated twice: on every record of the window, and as
the stage does it — weekly totals, then, when it fires, the first ``MAX_REPORT_IDS`` records of the
signal's week in signal order and, when late, that week's cases per day."""
from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import random

import pytest

from detectors.rules.base import MAX_REPORT_IDS, raised_late, signal_order, would_have_fired_at
from detectors.rules.base import would_have_fired_on_days
from detectors.rules.count_threshold import CountRule
from detectors.rules.periods import week_of
from detectors.rules.rate import RateRule
from detectors.rules.ratio import RatioRule
from detectors.rules.trend import TrendRule
from ingest.cube import week_start_of
from tests.detectors.rulekit import at, day, rec, rule_input

NAMES = {"name_fr": "règle", "name_en": "rule"}
RULES = [
    CountRule(kind="count", id="x_week", diseases=("d",), threshold=12, **NAMES),
    RatioRule(kind="ratio", id="x_ratio", diseases=("d",), factor=1.5, min_previous=3, **NAMES),
    TrendRule(kind="trend", id="x_trend", diseases=("d",), consecutive=2, min_current=3, **NAMES),
    RateRule(kind="rate", id="x_rate", diseases=("d",), alert_per_100k=10, min_population=1000, **NAMES),
]


def records(seed: int, weeks: list[int]):
    """``weeks[i]`` reports in timeline week i+1, 1–3 cases each; receipt times repeat (ties)."""
    rng = random.Random(seed)
    out = []
    for w, n in enumerate(weeks, start=1):
        for i in range(n):
            onset = day(w, rng.randrange(7))
            out.append(rec(f"r{seed}-{w}-{i:03d}", onset, rng.randint(1, 3), at(onset + dt.timedelta(days=1),
                                                                                rng.choice((8, 12)))))
    rng.shuffle(out)  # the order the reports were read in must not matter
    return out


def by_weeks(rule, ctx):
    """What the stage does: weekly totals first, the signal's first records (and days) when it fires."""
    weekly = collections.Counter()
    for r in ctx.records:
        weekly[week_start_of(r.onset_date)] += r.cases
    cheap = dataclasses.replace(ctx, records=(), weekly=dict(weekly))
    if not rule.evaluate(cheap):
        return []
    week = week_of(ctx.trigger.onset_date)
    recs = sorted((r for r in ctx.records if week.start <= r.onset_date <= week.end), key=signal_order)
    daily = None
    if raised_late(ctx.now, week.end, ctx.closed_after_days):
        daily = collections.Counter()
        for r in recs:
            daily[r.onset_date] += r.cases
    return rule.evaluate(dataclasses.replace(cheap, records=tuple(recs[:MAX_REPORT_IDS]), daily=daily))


def comparable(signals):
    return [s.model_dump(exclude={"signal_id"}) for s in signals]


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.kind)
@pytest.mark.parametrize("weeks", [[2, 5, 9], [0, 4, 80], [6, 6, 6], [1, 3, 70], [10, 0, 2]])
@pytest.mark.parametrize("late_days", [0, 9])
def test_weekly_totals_give_the_signals_of_every_record(rule, weeks, late_days):
    fired = 0
    for seed in range(4):
        recs = records(seed, weeks)
        trigger = max((r for r in recs if r.onset_date >= day(3)), key=signal_order, default=recs[-1])
        ctx = rule_input("d", trigger, recs, population=20_000,
                         now=at(day(3, 6) + dt.timedelta(days=late_days), 20))
        want = rule.evaluate(ctx)
        assert comparable(by_weeks(rule, ctx)) == comparable(want)
        fired += bool(want)
        if want and late_days:
            assert want[0].raised_late and want[0].would_have_fired_at is not None
    if weeks == [0, 4, 80]:  # the outbreak week: every kind fires (and names the first 50 ids only)
        assert fired == 4


def test_would_have_fired_on_days_equals_the_reports_in_onset_order():
    rng = random.Random(5)
    for _ in range(300):
        recs = records(rng.randrange(10_000), [0, 0, rng.randint(1, 12)])
        threshold = rng.randint(1, 30)
        daily = collections.Counter()
        for r in recs:
            daily[r.onset_date] += r.cases
        for strict in (False, True):
            assert would_have_fired_on_days(daily, threshold, day(3, 6), dt.timedelta(days=1), strict=strict) \
                == would_have_fired_at(recs, threshold, day(3, 6), dt.timedelta(days=1), strict=strict)
