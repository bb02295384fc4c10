"""Statistical detectors per disease and pyramid level: strict YAML config and pure evaluation.

Config (default ``detectors/data/detectors.yaml``)::

    version: 1
    detectors:
      - id: malaria_noufaily_district     # stable id, part of the dedup key
        disease: malaria                  # disease catalogue code
        level: district                   # health_area | district
        algorithm: ff_noufaily            # id of detectors.algorithms.registry
        params: {alpha: 0.01}             # merged over the algorithm's defaults (oracle configuration)
        min_observed: 5                   # no signal below this weekly count
        history_weeks: 270                # optional; default: what the algorithm needs
        reevaluate_weeks: 8               # late data: later weeks re-evaluated (at most)

Evaluation (:func:`evaluate`) takes the weekly counts of one (org unit, disease) ending at the last
week to evaluate and runs the algorithm on the last ``k`` points only (``k = 1`` for an on-time
report: cheap enough for the embedded pipeline). Not enough history is a normal result: no signal
(warm-up). For the Farrington family ``b`` (years back) is reduced, down to 1, until the history
fits, as the reference oracle does for short series.

Signals: dedup key ``detector:v1:<id>:<disease>:<orgunit>:<epiweek>``, ``threshold`` = the
algorithm's upper bound, ``detector`` = the algorithm id. Late-data fields as for the rules
(:mod:`detectors.rules.base`), with the crossing found over the week's cases by onset day.

Load errors (:class:`DetectorConfigError`, stable keys): ``detectors.file.missing``,
``detectors.format.invalid``, ``detectors.config.invalid``, ``detectors.id.duplicate``,
``detectors.disease.unknown``, ``detectors.level.unknown``, ``detectors.algorithm.unknown``,
``detectors.algorithm.unavailable``, ``detectors.param.invalid``.
"""
from __future__ import annotations

import datetime as dt
import math
import uuid
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from detectors.algorithms import registry
from detectors.algorithms.base import Series
from detectors.contracts import Severity, Signal
from detectors.epiweek import EpiWeek, week_end, week_start
from detectors.repository import SUPPORTED_LEVELS
from detectors.rules.base import (DEFAULT_CLOSED_AFTER_DAYS, DEFAULT_TYPICAL_DELAY, MAX_REPORT_IDS, CaseRecord,
                                  Scope, raised_late, would_have_fired_at)
from detectors.yamlconfig import read_yaml_file
from ingest.diseases import DiseaseCatalogue
from ingest.errors import DomainError

KEY_VERSION = 1
FREQ = 52
_HUGE = 10**6


class DetectorConfigError(DomainError):
    """The statistical detector configuration given at start-up is invalid."""


class DetectorConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{1,63}$")
    disease: str
    level: str
    algorithm: str
    params: dict[str, Any] = Field(default_factory=dict)
    min_observed: int = Field(default=1, ge=1)
    history_weeks: int | None = Field(default=None, ge=4, le=1040)
    reevaluate_weeks: int = Field(default=8, ge=0, le=52)
    severity: Severity = Severity.alert
    enabled: bool = True
    name_fr: str | None = None
    name_en: str | None = None

    @model_validator(mode="after")
    def _alpha_is_a_probability(self) -> "DetectorConfig":
        # every algorithm with an ``alpha`` reads it as a tail probability; not all check it themselves
        alpha = self.params.get("alpha")
        if alpha is not None and not (isinstance(alpha, (int, float)) and 0 < alpha < 1):
            raise ValueError(f"params.alpha must be in (0, 1), not {alpha!r}")
        return self

    @property
    def merged_params(self) -> dict[str, Any]:
        return {**registry.get(self.algorithm).defaults, **self.params}

    def needed_history(self) -> int:
        """Weeks of history before the evaluated week (explicit, or the algorithm's minimum)."""
        if self.history_weeks is not None:
            return self.history_weeks
        spec = registry.get(self.algorithm)
        return max(4, spec.start_rule(_HUGE, FREQ, self.merged_params, False) - 1)


class DetectorSet:
    def __init__(self, configs: Iterable[DetectorConfig]):
        self.configs = list(configs)

    def __iter__(self):
        return iter(self.configs)

    def __len__(self) -> int:
        return len(self.configs)

    def for_disease(self, disease: str) -> list[DetectorConfig]:
        return [c for c in self.configs if c.enabled and c.disease == disease]


def default_detectors_path() -> Path:
    return Path(__file__).parent / "data" / "detectors.yaml"


def _check_runs(cfg: DetectorConfig, where: str) -> None:
    """Run the algorithm once on a synthetic series: unknown or bad parameters fail at start-up."""
    try:
        fn = registry.detector(cfg.algorithm)
    except registry.AlgorithmUnavailable as exc:
        raise DetectorConfigError("detectors.algorithm.unavailable", f"{where}: {exc}",
                                  algorithm=cfg.algorithm) from None
    n = cfg.needed_history() + 1
    y = 5.0 + (np.arange(n) % 4)
    try:
        fn(Series(y, FREQ), n, n, cfg.params)
    except (ValueError, TypeError, KeyError) as exc:
        raise DetectorConfigError("detectors.param.invalid", f"{where}: {cfg.algorithm} rejects params "
                                  f"{cfg.params}: {exc}", algorithm=cfg.algorithm) from None


def detectors_from_mapping(doc: Any, diseases: DiseaseCatalogue, levels: Iterable[str] | None = None,
                           *, source: str = "detectors", check_algorithms: bool = True) -> DetectorSet:
    if not isinstance(doc, dict) or "detectors" not in doc or set(doc) - {"version", "detectors"}:
        raise DetectorConfigError("detectors.format.invalid",
                                  f"{source}: expected a mapping with keys 'version' and 'detectors'")
    if doc.get("version", 1) != 1 or not isinstance(doc["detectors"], list):
        raise DetectorConfigError("detectors.format.invalid", f"{source}: version must be 1 and 'detectors' a list")
    allowed = [lv for lv in SUPPORTED_LEVELS if levels is None or lv in set(levels)]
    out, seen = [], set()
    for i, raw in enumerate(doc["detectors"]):
        named = isinstance(raw, dict) and raw.get("id")
        where = f"{source}: detector #{i + 1}" + (f" ({raw['id']})" if named else "")
        try:
            cfg = DetectorConfig.model_validate(raw)
        except ValidationError as exc:
            msg = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise DetectorConfigError("detectors.config.invalid", f"{where}: {msg}") from None
        if cfg.id in seen:
            raise DetectorConfigError("detectors.id.duplicate", f"{where}: duplicate detector id {cfg.id!r}")
        seen.add(cfg.id)
        if cfg.disease not in diseases:
            raise DetectorConfigError("detectors.disease.unknown", f"{where}: unknown disease {cfg.disease!r}",
                                      disease=cfg.disease)
        if cfg.level not in allowed:
            raise DetectorConfigError("detectors.level.unknown",
                                      f"{where}: level {cfg.level!r} not one of {allowed}", level=cfg.level)
        if cfg.algorithm not in registry.ALGORITHMS:
            raise DetectorConfigError("detectors.algorithm.unknown", f"{where}: unknown algorithm "
                                      f"{cfg.algorithm!r}; known: {', '.join(registry.algorithm_ids())}",
                                      algorithm=cfg.algorithm)
        if check_algorithms and cfg.enabled:
            _check_runs(cfg, where)
        out.append(cfg)
    return DetectorSet(out)


def load_detectors(path: str | Path | None, diseases: DiseaseCatalogue,
                   levels: Iterable[str] | None = None) -> DetectorSet:
    p = Path(path) if path else default_detectors_path()
    doc = read_yaml_file(p, DetectorConfigError, missing_key="detectors.file.missing",
                         missing_what="detector config", invalid_key="detectors.format.invalid")
    return detectors_from_mapping(doc, diseases, levels, source=str(p))


# -- evaluation (pure) ------------------------------------------------------------------------------
def fitted_params(cfg: DetectorConfig, n: int) -> dict[str, Any] | None:
    """Parameters that let the last point of an ``n``-week series be monitored, or None (warm-up)."""
    spec = registry.get(cfg.algorithm)
    p = cfg.merged_params
    if spec.start_rule(n, FREQ, p, False) <= n:
        return p
    if spec.farrington_family:
        while int(p["b"]) > 1:
            p = {**p, "b": int(p["b"]) - 1}
            if spec.start_rule(n, FREQ, p, False) <= n:
                return p
    return None


def evaluate(cfg: DetectorConfig, scope: Scope, disease: str, weeks: Sequence[EpiWeek], counts: np.ndarray,
             n_eval: int, daily: Mapping[dt.date, int] | Callable[[EpiWeek], Mapping[dt.date, int]],
             now: dt.datetime, *, start_day: int = 0,
             typical_delay: dt.timedelta = DEFAULT_TYPICAL_DELAY,
             closed_after_days: int = DEFAULT_CLOSED_AFTER_DAYS,
             report_ids: Mapping[EpiWeek, Sequence[str]] | None = None) -> list[Signal]:
    """Signals for the last ``n_eval`` weeks of ``weeks``/``counts`` (alarms only). ``daily``: cases by
    onset day (for the signal fields of an alarm week), or a function of the week giving them."""
    n = len(counts)
    if n == 0 or n_eval < 1:
        return []
    params = fitted_params(cfg, n)
    if params is None:
        return []
    spec = registry.get(cfg.algorithm)
    start = max(n - n_eval + 1, spec.start_rule(n, FREQ, params, False))
    series = Series(np.asarray(counts, dtype=float), FREQ, weeks[0].year, weeks[0].week)
    det = registry.detector(cfg.algorithm)(series, start, n, params)
    out = []
    for i, t in enumerate(np.asarray(det.t, dtype=int)):
        observed = float(det.observed[i])
        if not det.alarm[i] or observed < cfg.min_observed:
            continue
        out.append(signal_for(cfg, scope, disease, weeks[t - 1], observed, float(det.upperbound[i]), params,
                              daily, now, start_day=start_day, typical_delay=typical_delay,
                              closed_after_days=closed_after_days, report_ids=report_ids))
    return out


def signal_for(cfg: DetectorConfig, scope: Scope, disease: str, week: EpiWeek, observed: float, ub: float,
               params: Mapping[str, Any], daily: Mapping[dt.date, int] | Callable[[EpiWeek], Mapping[dt.date, int]],
               now: dt.datetime, *, start_day: int = 0,
               typical_delay: dt.timedelta = DEFAULT_TYPICAL_DELAY,
               closed_after_days: int = DEFAULT_CLOSED_AFTER_DAYS,
               report_ids: Mapping[EpiWeek, Sequence[str]] | None = None,
               signal_id: str | None = None) -> Signal:
    """The signal of one alarm (``observed`` above ``ub`` in ``week``); shared by :func:`evaluate` and
    the national batch (:mod:`detectors.national`), so both give the same dedup key and fields."""
    ws, we = week_start(week, start_day), week_end(week, start_day)
    if callable(daily):  # the stage reads one week's days only when that week alarmed
        daily = daily(week)
    days = [CaseRecord(f"day:{d}", d, c, now) for d, c in sorted(daily.items()) if ws <= d <= we and c > 0]
    late = raised_late(now, we, closed_after_days)
    fired = None
    if late:
        fired = min(now, would_have_fired_at(days, ub if math.isfinite(ub) else math.inf, we,
                                             typical_delay, strict=True))
    note = "" if params.get("b") == cfg.merged_params.get("b") else f" (b reduced to {params['b']})"
    return Signal(
        signal_id=signal_id or str(uuid.uuid4()),
        dedup_key=f"detector:v{KEY_VERSION}:{cfg.id}:{disease}:{scope.orgunit_id}:{week}",
        rule_id=cfg.id, detector=cfg.algorithm, disease=disease, orgunit_id=scope.orgunit_id,
        orgunit_level=scope.level, district_id=scope.district_id, period_start=ws, period_end=we,
        epiweek=str(week), observed=observed, threshold=ub if math.isfinite(ub) else None,
        severity=cfg.severity, detected_at=now,
        emergence_date=days[0].onset_date if days else ws,
        report_ids=tuple((report_ids or {}).get(week, ()))[:MAX_REPORT_IDS],
        raised_late=late, would_have_fired_at=fired,
        message=f"{cfg.algorithm}: {observed:g} case(s) in {week} above the upper bound {ub:.2f}{note}",
    )
