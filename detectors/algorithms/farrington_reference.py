"""Reference weeks of the Farrington algorithms (shared by :mod:`farrington` and
:mod:`farrington_flexible`).

* by index (``t - freq*i + (-w..w)``) or, for dated series, by date as R ``surveillance`` does it
  (``seq(date, by = "-1 year")``, windows of +-w weeks/months, weekly points moved to the closest
  day with the weekday of the current week);
* the ``blocks()`` layout of ``farringtonFlexible`` (``noPeriods`` seasonal factor levels,
  ``pastWeeksNotIncluded``), emulated with R's ``a:b`` semantics (a descending range when
  ``b < a``, which happens for monthly data with ``noPeriods = 10``).

References
----------
Farrington CP, Andrews NJ, Beale AD, Catchpole MA (1996). A statistical algorithm for the early
detection of outbreaks of infectious disease. J R Stat Soc A 159:547-563.
Noufaily A, Enki DG, Farrington P, Garthwaite P, Andrews N, Charlett A (2013). An improved
algorithm for outbreak detection in multiple surveillance systems. Stat Med 32:1206-1222.
Salmon M, Schumacher D, Hoehle M (2016). Monitoring count time series in R: aberration detection
in public health surveillance. J Stat Softw 70(10).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from .base import Series

__all__ = ["farrington_reference_rows", "flexible_layout", "flexible_reference_positions"]


# --------------------------------------------------------------------------- dates (R seq.Date)
def _ymd(d: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    months = d.astype("datetime64[M]")
    y = months.astype(np.int64) // 12 + 1970
    m = months.astype(np.int64) % 12 + 1
    day = (d - months.astype("datetime64[D]")).astype(np.int64) + 1
    return y, m, day


def _from_ymd(y: np.ndarray, m: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Like ``as.Date(POSIXlt)``: month and day overflow roll forward (2011-02-29 -> 03-01)."""
    mm = (np.asarray(y) - 1970) * 12 + (np.asarray(m) - 1)
    return mm.astype("datetime64[M]").astype("datetime64[D]") + (np.asarray(day) - 1)


def _shift(d: np.ndarray, years: int = 0, months: int = 0) -> np.ndarray:
    y, m, day = _ymd(d)
    return _from_ymd(y + years, m + months, day)


def _weekday(d: np.ndarray) -> np.ndarray:
    return (d.astype(np.int64) + 4) % 7  # R format(d, "%w"): 0 = Sunday; 1970-01-01 was Thursday


def _closest_same_weekday(d: np.ndarray, d0: np.ndarray) -> np.ndarray:
    fwd = (_weekday(d0) - _weekday(d)) % 7
    bwd = (_weekday(d) - _weekday(d0)) % 7
    return d + np.where(fwd < bwd, fwd, -bwd)


def _match(dates: np.ndarray, query: np.ndarray) -> np.ndarray:
    """1-based positions of ``query`` in sorted ``dates``; 0 where absent (R ``match`` -> NA)."""
    pos = np.searchsorted(dates, query)
    pos_c = np.minimum(pos, dates.shape[0] - 1)
    return np.where(dates[pos_c] == query, pos_c + 1, 0)


def _epoch_unit(freq: int) -> str:
    return {12: "month", 52: "week", 365: "day"}.get(int(freq), "none")


# ---------------------------------------------------------------- algo.farrington reference rows
def farrington_reference_rows(series: Series, ks: np.ndarray, b: int, w: int) -> np.ndarray:
    """Reference rows of ``algo.farrington`` (1-based, 0 = missing), shape ``(len(ks), b*(2w+1))``.

    Undated: ``k - freq*i + j`` for ``i = b..1``, ``j = -w..w`` (rows < 1 are missing).
    Dated (R ``refvalIdxByDate``): ``date_k`` minus ``i`` years, then ``j`` weeks (months, days);
    weekly points move to the closest day with the weekday of ``date_k``; monthly points to the
    day of month of ``date_k``; points not among the series' dates are missing.
    """
    ks = np.asarray(ks, dtype=np.int64)
    js = np.arange(-w, w + 1)
    i_s = np.arange(b, 0, -1)
    if series.dates is None:
        rows = ks[:, None, None] - series.freq * i_s[None, :, None] + js[None, None, :]
        return np.where(rows >= 1, rows, 0).reshape(ks.shape[0], -1)
    dates = np.asarray(series.dates, dtype="datetime64[D]")
    t0 = dates[ks - 1]
    unit = _epoch_unit(series.freq)
    out = np.zeros((ks.shape[0], b, 2 * w + 1), dtype=np.int64)
    for ii, i in enumerate(i_s):
        ref = _shift(t0, years=-int(i))
        for jj, j in enumerate(js):
            if unit == "week":
                d = _closest_same_weekday(ref + 7 * int(j), t0)
            elif unit == "month":
                d = _shift(ref, months=int(j))
                d = d - (_ymd(d)[2] - _ymd(t0)[2])
            else:
                d = ref + int(j)
            out[:, ii, jj] = _match(dates, d)
    return out.reshape(ks.shape[0], -1)


# ------------------------------------------------------- farringtonFlexible reference positions
def flexible_reference_positions(series: Series, ks: np.ndarray, b: int) -> np.ndarray:
    """Positions (1-based) of the current point and its ``b`` yearly reference points.

    Shape ``(len(ks), b+1)``, column 0 = ``k``; 0 where the reference point does not exist (R
    stops with "Some reference time points did not exist"; we return NA for that point).
    Dated weekly series: one year back by calendar, then the closest same weekday.
    """
    ks = np.asarray(ks, dtype=np.int64)
    i_s = np.arange(0, b + 1)
    if series.dates is None:
        pos = ks[:, None] - series.freq * i_s[None, :]
        return np.where(pos >= 1, pos, 0)
    dates = np.asarray(series.dates, dtype="datetime64[D]")
    t0 = dates[ks - 1]
    out = np.zeros((ks.shape[0], b + 1), dtype=np.int64)
    for i in i_s:
        d = _shift(t0, years=-int(i))
        if _epoch_unit(series.freq) == "week":
            d = _closest_same_weekday(d, t0)
        out[:, i] = _match(dates, d)
    return out


def _r_range(a: int, b: int) -> np.ndarray:
    """R's ``a:b`` (descending when ``b < a``)."""
    return np.arange(a, b + 1) if a <= b else np.arange(a, b - 1, -1)


@lru_cache(maxsize=4096)
def flexible_layout(
    gaps: tuple[int, ...], w: int, p: int, past_weeks_not_included: int
) -> tuple[np.ndarray, np.ndarray]:
    """Rows (offsets to ``k``, sorted by level, then ascending) and factor levels of ``blocks()``.

    ``gaps[i-1] = r_{i-1} - r_i`` where ``r_0 = k > r_1 > ... > r_b`` are the reference
    positions. Windows ``r_i +- w`` (and ``k-w..k``) get level ``p``; for ``p > 1`` the
    ``period = r_{i-1} - 2w - 1 - r_i`` points between windows are cut into ``p-1`` blocks
    (the first ``period %% (p-1)`` one longer), labelled ``1..p-1``. Offsets
    ``-pastWeeksNotIncluded..0`` are then dropped.
    """
    r = np.concatenate([[0], -np.cumsum(gaps)]).astype(np.int64)  # offsets of r_0..r_b
    b = len(gaps)
    origin = int(-r[-1] + w + 2 * p + 8)
    size = origin + w + 2 * p + 8
    lev = np.full(size, np.nan)

    def assign(idx: np.ndarray, value: float) -> None:
        idx = idx + origin
        idx = idx[(idx >= 0) & (idx < size)]
        lev[idx] = value

    assign(_r_range(-w, 0), p)
    for i in range(1, b + 1):
        ref = int(r[i])
        assign(_r_range(ref - w, ref + w), p)
        if p != 1:
            period = int(r[i - 1]) - 2 * w - 1 - ref
            if period < p - (2 * w + 1):
                raise ValueError("farrington.noperiods.too_many: number of factors too big")
            lengths = np.full(p - 1, period // (p - 1), dtype=np.int64)
            lengths[: period % (p - 1)] += 1
            cum = np.concatenate([[0], np.cumsum(lengths)])
            for j in range(1, p):
                assign(_r_range(ref + w + 1 + int(cum[j - 1]), ref + w + 1 + int(cum[j]) - 1), j)
    pw = int(past_weeks_not_included)
    assign(_r_range(-pw, 0), np.nan)
    keep = np.flatnonzero(~np.isnan(lev))
    keep = keep[np.argsort(lev[keep], kind="stable")]  # grouped by level (fast group sums)
    offsets = keep - origin
    return offsets.astype(np.int64), lev[keep].astype(np.int64)
