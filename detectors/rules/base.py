"""What every case-definition rule shares: the YAML fields, the evaluation input, signal building.

A rule is a frozen pydantic model (loaded strictly from YAML, see :mod:`detectors.rules.catalogue`)
whose ``evaluate(ctx)`` is a pure function of a :class:`RuleInput`: the reports of one disease in
one org unit over the window the rule asked for (``window``), the report that triggered the
evaluation and ``now``. Nothing here touches SQL or a clock.

Dedup keys are versioned (STYLE principle 6): ``rule:v1:<rule_id>:<disease>:<orgunit>:<period>``
where ``<period>`` is the epi week (``2026-W45``) or, for monthly rules, the month (``2026-11``).

Late data (``raised_late`` / ``would_have_fired_at``): a signal is *raised late* when the period it
is about had already closed when it was raised (``now.date() > period_end + closed_after_days``,
default 2 days of grace, as ingest's :mod:`ingest.lateness`). It *would have fired*
at ``crossing report's onset + typical delay`` — the crossing report being the one, in onset
order, whose cases first bring the period's running total over the threshold — and never later
than the first instant after the period ended. See :func:`would_have_fired_at`.
"""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from pydantic import BaseModel, ConfigDict, Field

from detectors.contracts import Severity, Signal

RULE_KEY_VERSION = 1
DEFAULT_TYPICAL_DELAY = dt.timedelta(days=1)
DEFAULT_CLOSED_AFTER_DAYS = 2
MAX_REPORT_IDS = 50


@dataclass(frozen=True)
class CaseRecord:
    """One stored report as the rules see it (site coordinates resolved through the pyramid)."""

    report_id: str
    onset_date: dt.date
    cases: int
    received_at: dt.datetime
    orgunit_id: str = ""
    health_area_id: str = ""
    district_id: str = ""
    lat: float | None = None
    lon: float | None = None


@dataclass(frozen=True)
class Scope:
    """The org unit a rule is evaluated for (a health area or a district)."""

    orgunit_id: str
    level: str
    district_id: str
    population: int | None = None


@dataclass(frozen=True)
class RuleInput:
    """Everything a rule needs, as values: ``records`` are the scope's reports of ``disease``
    with onset in the rule's window (for cluster rules: every report of ``disease`` in it)."""

    disease: str
    scope: Scope
    trigger: CaseRecord
    records: tuple[CaseRecord, ...]
    now: dt.datetime
    start_day: int = 0
    typical_delay: dt.timedelta = DEFAULT_TYPICAL_DELAY
    closed_after_days: int = DEFAULT_CLOSED_AFTER_DAYS
    observed_since: dt.date | None = None  # first onset reported in the scope (any disease), if known
    #: cases per week start of the scope (the weekly cube) when the stage read them instead of every
    #: report: ``records`` then holds the signal period's first reports only (see :meth:`cases`)
    weekly: Mapping[dt.date, int] | None = None
    #: cases per onset day of the signal's period, given with ``weekly`` when the signal is late:
    #: *would have fired at* depends on the crossing report's onset day only (see
    #: :func:`would_have_fired_on_days`)
    daily: Mapping[dt.date, int] | None = None

    def cases(self, start: dt.date, end: dt.date) -> int:
        """Cases with onset in ``[start, end]``: from ``weekly`` when given (whole weeks, which every
        rule counting epi weeks asks for), else summed over ``records``."""
        if self.weekly is None:
            return total(in_period(self.records, start, end))
        return sum(n for w, n in self.weekly.items() if start <= w <= end)


def raised_late(now: dt.datetime, period_end: dt.date, closed_after_days: int = 2) -> bool:
    """A signal about a period is late when raised after the period closed (its end plus the grace
    days in which its data are still expected, as ingest's lateness policy)."""
    return now.date() > period_end + dt.timedelta(days=closed_after_days)


class RuleBase(BaseModel):
    """Fields every rule kind has in YAML."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{1,63}$", description="stable rule id, part of the dedup key")
    name_fr: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    diseases: tuple[str, ...] = Field(min_length=1, description="disease codes of the catalogue")
    levels: tuple[str, ...] = Field(default=("health_area",), min_length=1,
                                    description="pyramid levels the rule is evaluated at")
    enabled: bool = True

    def name(self, lang: str) -> str:
        return self.name_fr if lang == "fr" else self.name_en

    def applies_to(self, disease: str) -> bool:
        return self.enabled and disease in self.diseases

    def counts_whole_weeks(self) -> bool:
        """Whether the rule decides from cases per epi week alone (``RuleInput.weekly``), so that the
        stage can read the weekly cube instead of every report of the window."""
        return False

    def dedup_key(self, disease: str, orgunit_id: str, period: str) -> str:
        return f"rule:v{RULE_KEY_VERSION}:{self.id}:{disease}:{orgunit_id}:{period}"


def in_period(records: Iterable[CaseRecord], start: dt.date, end: dt.date) -> list[CaseRecord]:
    return [r for r in records if start <= r.onset_date <= end]


def total(records: Iterable[CaseRecord]) -> int:
    return sum(r.cases for r in records)


def would_have_fired_at(records: Sequence[CaseRecord], threshold: float, period_end: dt.date,
                        typical_delay: dt.timedelta, *, strict: bool = False) -> dt.datetime:
    """When a signal over ``records`` would have fired had every report arrived on time.

    Reports are taken in onset order (ties: receipt order); the *crossing report* is the first
    whose running case total reaches ``threshold`` (exceeds it when ``strict``). On time means
    received ``typical_delay`` after onset (midnight UTC of the onset day + delay). The result is
    capped at the end of the period (00:00 UTC the day after ``period_end``): a weekly count is
    complete then at the latest.

    >>> r = [CaseRecord("a", dt.date(2026, 11, 2), 2, dt.datetime(2026, 11, 20, tzinfo=dt.timezone.utc)),
    ...      CaseRecord("b", dt.date(2026, 11, 4), 3, dt.datetime(2026, 11, 20, tzinfo=dt.timezone.utc))]
    >>> would_have_fired_at(r, 5, dt.date(2026, 11, 8), dt.timedelta(days=1)).isoformat()
    '2026-11-05T00:00:00+00:00'
    """
    cap = dt.datetime.combine(period_end + dt.timedelta(days=1), dt.time(), dt.timezone.utc)
    running = 0
    for r in sorted(records, key=lambda r: (r.onset_date, r.received_at)):
        running += r.cases
        if running > threshold if strict else running >= threshold:
            at = dt.datetime.combine(r.onset_date, dt.time(), dt.timezone.utc) + typical_delay
            return min(at, cap)
    return cap


def signal_order(r: CaseRecord) -> tuple[dt.date, dt.datetime, str]:
    """The order of a signal's report ids: onset, then receipt, then id (ties never depend on how
    the reports were read)."""
    return r.onset_date, r.received_at, r.report_id


def would_have_fired_on_days(daily: Mapping[dt.date, int], threshold: float, period_end: dt.date,
                             typical_delay: dt.timedelta, *, strict: bool = False) -> dt.datetime:
    """:func:`would_have_fired_at` from cases per onset day: the crossing report is on the first day
    whose running total reaches ``threshold`` (its receipt time only orders reports of one day, and
    the result depends on the onset day alone), so the days give the same instant.

    >>> would_have_fired_on_days({dt.date(2026, 11, 2): 2, dt.date(2026, 11, 4): 3}, 5, dt.date(2026, 11, 8),
    ...                          dt.timedelta(days=1)).isoformat()
    '2026-11-05T00:00:00+00:00'
    """
    cap = dt.datetime.combine(period_end + dt.timedelta(days=1), dt.time(), dt.timezone.utc)
    running = 0
    for day in sorted(daily):
        running += daily[day]
        if daily[day] and (running > threshold if strict else running >= threshold):
            return min(dt.datetime.combine(day, dt.time(), dt.timezone.utc) + typical_delay, cap)
    return cap


def make_signal(rule: RuleBase, ctx: RuleInput, *, detector: str, period_start: dt.date,
                period_end: dt.date, period_label: str, epiweek: str, observed: float,
                threshold: float, records: Sequence[CaseRecord], severity: Severity = Severity.alert,
                strict: bool = False, message: str | None = None, orgunit_id: str | None = None,
                level: str | None = None, crossing_threshold: float | None = None) -> Signal:
    """A rule signal with its versioned dedup key and late-data fields filled in."""
    orgunit = orgunit_id or ctx.scope.orgunit_id
    late = raised_late(ctx.now, period_end, ctx.closed_after_days)
    fired_at = None
    if late:
        limit = threshold if crossing_threshold is None else crossing_threshold
        fired_at = (would_have_fired_on_days(ctx.daily, limit, period_end, ctx.typical_delay, strict=strict)
                    if ctx.daily is not None else
                    would_have_fired_at(records, limit, period_end, ctx.typical_delay, strict=strict))
        fired_at = min(fired_at, ctx.now)
    ids = tuple(r.report_id for r in sorted(records, key=signal_order))
    return Signal(
        signal_id=str(uuid.uuid4()),
        dedup_key=rule.dedup_key(ctx.disease, orgunit, period_label),
        rule_id=rule.id, detector=detector, disease=ctx.disease,
        orgunit_id=orgunit, orgunit_level=level or ctx.scope.level, district_id=ctx.scope.district_id,
        period_start=period_start, period_end=period_end, epiweek=epiweek,
        observed=float(observed), threshold=float(threshold), severity=severity,
        detected_at=ctx.now,
        emergence_date=min((r.onset_date for r in records), default=ctx.trigger.onset_date),
        report_ids=ids[:MAX_REPORT_IDS], raised_late=late, would_have_fired_at=fired_at,
        message=message,
    )
