"""Algorithm registry: oracle algorithm id -> detector, default parameters and range rule.

The ids, R functions and default control parameters are those of the R reference oracle
(``tests/detectors/oracle/algorithms.csv``, produced by ``make_oracle.R`` with ``surveillance``
1.20.3). Modules are imported lazily, so an id whose module is missing (or not importable yet)
only fails when it is used, with :class:`AlgorithmUnavailable`.

Range rule (``plan_range``, as ``make_oracle.R``): a series is monitored on at most its last
``LAST = 104`` points that have enough history for the algorithm; nothing is monitored when fewer
than 5 points remain. Farrington-type algorithms skip daily data and reduce ``b`` until at least
``MIN_POINTS = 26`` points can be monitored.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from detectors.algorithms._batch import (BatchDetection, as_matrix, concat_batches,
                                         stack_detections)
from detectors.algorithms.base import Detection, Detector, Series

__all__ = ["AlgorithmSpec", "AlgorithmUnavailable", "ALGORITHMS", "algorithm_ids", "get",
           "detector", "batch_detector", "plan_range", "LAST", "MIN_POINTS"]

LAST = 104
MIN_POINTS = 26
BLOCK_SERIES = 2048   # batch functions run on blocks of series: arrays stay cache-sized


class AlgorithmUnavailable(RuntimeError):
    """The algorithm's module cannot be imported (key ``detector.algorithm.unavailable``)."""

    key = "detector.algorithm.unavailable"


StartRule = Callable[[int, int, Mapping[str, Any], bool], int]


@dataclass(frozen=True)
class AlgorithmSpec:
    """One oracle algorithm: where its code lives, its defaults and its first admissible point."""

    id: str
    r_function: str
    module: str
    function: str
    batch_function: str | None
    defaults: Mapping[str, Any]
    start_rule: StartRule
    farrington_family: bool = False
    # how the module's batch function is called; batch_detector hands both out in the matrix form
    # "matrix": f(observed (S, n), start, end, params, *, freq, start_epoch) -> BatchDetection
    # "items" (the Farrington GLMs): f([(series, start, end), ...], params) -> list[Detection]
    batch_style: str = "matrix"


def _ears_start(n, freq, p, dated):
    return 12


def _farr_start(n, freq, p, dated):
    return int(p["b"]) * freq + int(p["w"]) + 1 + (2 if dated and freq == 52 else 0)


def _cusum_start(n, freq, p, dated):
    return max(8, min(freq, n // 2) + 1)


def _window_start(n, freq, p, dated):
    return int(p["b"]) * freq + int(p["w"]) + 1


def _glr_start(n, freq, p, dated):
    return min(2 * freq, n // 2) + 1


_FF_COMMON = {"b": 5, "w": 3, "reweight": True, "alpha": 0.05, "trend": True, "limit54": [5, 4],
              "powertrans": "2/3", "populationOffset": False}
_GLR_COMMON = {"c.ARL": 5, "mu0": {"S": 1, "trend": False, "refit": False}, "Mtilde": 1, "M": -1,
               "change": "intercept", "dir": "inc"}
_ALG = "detectors.algorithms."


def _spec(id_, r_function, module, function, batch, defaults, start, farr=False):
    style = "items" if farr else "matrix"
    return AlgorithmSpec(id_, r_function, _ALG + module, function, batch, defaults, start, farr,
                         style)


ALGORITHMS: dict[str, AlgorithmSpec] = {s.id: s for s in [
    _spec("earsC_C1", "earsC", "ears", "detect", "detect_many", {"method": "C1"}, _ears_start),
    _spec("earsC_C2", "earsC", "ears", "detect", "detect_many", {"method": "C2"}, _ears_start),
    _spec("earsC_C3", "earsC", "ears", "detect", "detect_many", {"method": "C3"}, _ears_start),
    _spec("ff_default", "farringtonFlexible", "farrington_flexible", "detect", "detect_batch",
          {**_FF_COMMON, "weightsThreshold": 2.58, "pThresholdTrend": 0.05, "noPeriods": 1,
           "pastWeeksNotIncluded": 3, "thresholdMethod": "delta"}, _farr_start, True),
    _spec("ff_farrington", "farringtonFlexible", "farrington_flexible", "detect", "detect_batch",
          {**_FF_COMMON, "weightsThreshold": 1, "pThresholdTrend": 0.05, "noPeriods": 1,
           "pastWeeksNotIncluded": 3, "thresholdMethod": "delta"}, _farr_start, True),
    _spec("ff_noufaily", "farringtonFlexible", "farrington_flexible", "detect", "detect_batch",
          {**_FF_COMMON, "weightsThreshold": 2.58, "pThresholdTrend": 1, "noPeriods": 10,
           "pastWeeksNotIncluded": 26, "thresholdMethod": "nbPlugin"}, _farr_start, True),
    _spec("ff_noufaily_muan", "farringtonFlexible", "farrington_flexible", "detect",
          "detect_batch",
          {**_FF_COMMON, "weightsThreshold": 2.58, "pThresholdTrend": 1, "noPeriods": 10,
           "pastWeeksNotIncluded": 26, "thresholdMethod": "muan"}, _farr_start, True),
    _spec("farrington", "algo.farrington", "farrington", "detect", "detect_batch",
          {"b": 5, "w": 3, "reweight": True, "alpha": 0.05, "trend": True, "limit54": [5, 4],
           "powertrans": "2/3", "fitFun": "algo.farrington.fitGLM.fast"}, _farr_start, True),
    _spec("cusum", "algo.cusum", "cusum", "detect", "detect_many",
          {"k": 1.04, "h": 2.26, "m": None, "trans": "standard", "alpha": None}, _cusum_start),
    _spec("cusum_glm_rossi", "algo.cusum", "cusum", "detect", "detect_many",
          {"k": 1.04, "h": 2.26, "m": "glm", "trans": "rossi", "alpha": None}, _cusum_start),
    _spec("bayes", "algo.bayes", "bayes", "detect", "detect_many",
          {"b": 0, "w": 6, "actY": True, "alpha": 0.05}, _window_start),
    _spec("rki", "algo.rki", "rki", "detect", "detect_many",
          {"b": 2, "w": 4, "actY": False}, _window_start),
    _spec("glrpois", "algo.glrpois", "glr", "detect_pois", "detect_many_pois",
          {**_GLR_COMMON, "ret": "cases"}, _glr_start),
    _spec("glrnb", "algo.glrnb", "glr", "detect_nb", "detect_many_nb",
          {**_GLR_COMMON, "alpha": None, "ret": "value"}, _glr_start),
]}


def algorithm_ids() -> list[str]:
    return list(ALGORITHMS)


def get(algorithm_id: str) -> AlgorithmSpec:
    try:
        return ALGORITHMS[algorithm_id]
    except KeyError:
        raise KeyError(f"unknown algorithm {algorithm_id!r}; known: {', '.join(ALGORITHMS)}") \
            from None


def _attr(spec: AlgorithmSpec, name: str) -> Any:
    try:
        module = importlib.import_module(spec.module)
    except ImportError as exc:
        raise AlgorithmUnavailable(f"{spec.id}: cannot import {spec.module} ({exc})") from exc
    try:
        return getattr(module, name)
    except AttributeError:
        raise AlgorithmUnavailable(f"{spec.id}: {spec.module} has no {name}") from None


def detector(algorithm_id: str) -> Detector:
    """``detect(series, start, end, params)`` of the algorithm; ``params`` are merged over the
    algorithm's defaults, so ``{}`` runs the oracle's configuration."""
    spec = get(algorithm_id)
    fn = _attr(spec, spec.function)

    def run(series: Series, start: int, end: int, params: Mapping[str, Any]) -> Detection:
        return fn(series, start, end, {**spec.defaults, **dict(params)})

    run.__name__ = f"detect_{algorithm_id}"
    run.__doc__ = fn.__doc__
    return run


def batch_detector(algorithm_id: str) -> Callable[..., BatchDetection] | None:
    """Vectorised detector ``f(observed (S, n), start, end, params=None, *, freq=52,
    start_epoch=1) -> BatchDetection`` with defaults merged, or None when the algorithm declares no
    batch function. A declared batch function that cannot be imported raises
    :class:`AlgorithmUnavailable`: a broken install fails loudly, never silently per series.

    Algorithms whose batch function takes ``[(series, start, end), ...]`` (the Farrington modules'
    ``detect_batch``) are adapted to this matrix form, so every caller uses this one.
    """
    spec = get(algorithm_id)
    if spec.batch_function is None:
        return None
    fn = _attr(spec, spec.batch_function)

    def block(y, start, end, merged, freq, start_epoch) -> BatchDetection:
        if spec.batch_style == "matrix":
            return fn(y, start, end, merged, freq=freq, start_epoch=start_epoch)
        items = [(Series(observed=row.copy(), freq=freq, start_epoch=start_epoch), start, end)
                 for row in y]
        return stack_detections(fn(items, merged))

    def run(observed, start: int, end: int, params: Mapping[str, Any] | None = None, *,
            freq: int = 52, start_epoch: int = 1) -> BatchDetection:
        merged = {**spec.defaults, **dict(params or {})}
        y = as_matrix(observed)
        return concat_batches([block(y[i:i + BLOCK_SERIES], start, end, merged, freq, start_epoch)
                               for i in range(0, y.shape[0], BLOCK_SERIES)])

    run.__name__ = f"detect_many_{algorithm_id}"
    return run


def plan_range(
    algorithm_id: str, n: int, freq: int, dated: bool = False,
    params: Mapping[str, Any] | None = None,
) -> tuple[int, int, dict[str, Any]] | None:
    """``(start, end, params)`` the oracle would monitor, or None when there is too little data.

    ``params`` (default: the algorithm's defaults) may come back with a reduced ``b``.
    """
    spec = get(algorithm_id)
    p = {**spec.defaults, **dict(params or {})}
    if spec.farrington_family:
        if freq == 365:
            return None
        s = spec.start_rule(n, freq, p, dated)
        while n - s + 1 < MIN_POINTS and int(p["b"]) > 1:
            p["b"] = int(p["b"]) - 1
            s = spec.start_rule(n, freq, p, dated)
    else:
        s = spec.start_rule(n, freq, p, dated)
    s = max(s, n - LAST + 1)
    if s > n - 4:
        return None
    return s, n, p
