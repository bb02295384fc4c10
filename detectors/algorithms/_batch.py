"""Shared plumbing for the vectorised ("many series at once") detectors.

Every algorithm module of this package exposes two entry points that run the *same* code:

* ``detect_many(observed, start, end, params, *, freq, start_epoch) -> BatchDetection`` evaluates
  ``S`` series of equal length ``n`` (``observed`` has shape ``(S, n)``) on the monitored points
  ``start..end`` (1-based, inclusive) with numpy operations over the series axis;
* ``detect(series, start, end, params) -> Detection`` is ``detect_many`` on a ``(1, n)`` matrix.

A :class:`BatchDetection` holds ``(S, m)`` arrays (``m = end - start + 1``) and hands out
per-series :class:`~detectors.algorithms.base.Detection` values with :meth:`BatchDetection.row`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from detectors.algorithms.base import Detection, Series

__all__ = ["BatchDetection", "as_matrix", "check_range", "detect_one", "merge_params",
           "reference_values", "stack_detections", "concat_batches"]


@dataclass
class BatchDetection:
    """Results for ``S`` series on the monitored points ``t`` (1-based, shape ``(m,)``).

    ``observed, upperbound, expected, stat`` are float ``(S, m)`` arrays (NaN = NA), ``alarm`` a
    bool ``(S, m)`` array; ``extra`` maps a name to a per-series array of shape ``(S,)`` (e.g. the fitted
    negative-binomial ``alpha``) or to a list of per-series values (e.g. error messages).
    """

    t: np.ndarray
    observed: np.ndarray
    upperbound: np.ndarray
    alarm: np.ndarray
    expected: np.ndarray
    stat: np.ndarray
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def n_series(self) -> int:
        return int(self.observed.shape[0])

    def row(self, i: int) -> Detection:
        """The :class:`Detection` of series ``i``."""
        extra: dict[str, Any] = {}
        for key, values in self.extra.items():
            value = values[i]
            if isinstance(value, np.generic):
                value = value.item()
            if value is not None and not (isinstance(value, float) and np.isnan(value)):
                extra[key] = value
        return Detection(
            t=self.t.copy(),
            observed=self.observed[i].copy(),
            upperbound=self.upperbound[i].copy(),
            alarm=self.alarm[i].copy(),
            expected=self.expected[i].copy(),
            stat=self.stat[i].copy(),
            extra=extra,
        )


def _stacked(t: np.ndarray, parts: list[Any], extra: dict[str, Any]) -> BatchDetection:
    """A :class:`BatchDetection` whose arrays are those of ``parts`` (detections or batches) stacked."""
    return BatchDetection(
        t=t,
        observed=np.vstack([d.observed for d in parts]),
        upperbound=np.vstack([d.upperbound for d in parts]),
        alarm=np.vstack([d.alarm for d in parts]),
        expected=np.vstack([d.expected for d in parts]),
        stat=np.vstack([d.stat for d in parts]),
        extra=extra,
    )


def stack_detections(detections: list[Detection]) -> BatchDetection:
    """Stack per-series detections on the same points into one :class:`BatchDetection`."""
    if not detections:
        raise ValueError("nothing to stack")
    t = detections[0].t
    for d in detections:
        if not np.array_equal(d.t, t):
            raise ValueError("detections monitor different points")
    keys = sorted({k for d in detections for k in d.extra})
    extra = {k: [d.extra.get(k) for d in detections] for k in keys}
    return _stacked(np.asarray(t), detections, extra)


def concat_batches(batches: list[BatchDetection]) -> BatchDetection:
    """Concatenate batch results of consecutive blocks of series (same monitored points)."""
    first = batches[0]
    if len(batches) == 1:
        return first
    extra: dict[str, Any] = {}
    for key in first.extra:
        parts = [b.extra[key] for b in batches]
        extra[key] = (np.concatenate(parts) if isinstance(parts[0], np.ndarray)
                      else [v for part in parts for v in part])
    return _stacked(first.t, batches, extra)


def as_matrix(observed: np.ndarray) -> np.ndarray:
    """``observed`` as a float ``(S, n)`` matrix (a 1-D series becomes one row)."""
    y = np.asarray(observed, dtype=float)
    if y.ndim == 1:
        y = y[None, :]
    if y.ndim != 2:
        raise ValueError("observed must be a vector or an (S, n) matrix")
    return y


def merge_params(name: str, params: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` over ``defaults`` (a ``None`` value keeps the default); a key not in ``defaults``
    raises ``ValueError("<name>: unknown parameters [...]")``."""
    unknown = set(params) - set(defaults)
    if unknown:
        raise ValueError(f"{name}: unknown parameters {sorted(unknown)}")
    return {**defaults, **{k: v for k, v in params.items() if v is not None}}


def check_range(n: int, start: int, end: int) -> np.ndarray:
    """Validate the 1-based inclusive range and return the monitored points ``t``."""
    start, end = int(start), int(end)
    if not 1 <= start <= end <= n:
        raise ValueError(f"range {start}..{end} is not inside 1..{n}")
    return np.arange(start, end + 1)


def detect_one(
    detect_many: Callable[..., BatchDetection],
    series: Series,
    start: int,
    end: int,
    params: Mapping[str, Any],
) -> Detection:
    """Run ``detect_many`` on one series (the per-series ``detect`` of every module)."""
    batch = detect_many(
        series.observed[None, :],
        start,
        end,
        params,
        freq=series.freq,
        start_epoch=series.start_epoch,
    )
    return batch.row(0)


def reference_values(
    y: np.ndarray, t: np.ndarray, *, b: int, w: int, freq: int, act_y: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Reference counts of the Bayes/RKI systems for every monitored point.

    For point ``t``: ``y[t-w .. t-1]`` when ``act_y`` and, for ``i = 1..b``, the window
    ``y[t - i*freq - w .. t - i*freq + w]`` (1-based). Returns ``(values (S, m, L), ok (m,))``;
    ``ok`` is False where a window would start before the series (those rows are NaN).
    """
    offsets: list[int] = []
    if act_y:
        if w < 1:
            raise ValueError("w must be >= 1 when actY is true")
        offsets.extend(range(-w, 0))
    for i in range(1, b + 1):
        offsets.extend(range(-i * freq - w, -i * freq + w + 1))
    if not offsets:
        raise ValueError("no reference values: need b >= 1 or actY")
    pos = t[:, None] + np.asarray(offsets)[None, :] - 1        # 0-based, (m, L)
    ok = pos.min(axis=1) >= 0
    values = y[:, np.maximum(pos, 0)]                            # (S, m, L)
    values[:, ~ok, :] = np.nan
    return values, ok
