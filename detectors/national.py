"""National weekly batch: every (org unit, disease) series of one level evaluated at once.

The per-report path (:meth:`detectors.stage.DetectionStage.evaluate_detectors`) runs one detector
on one series. When an epi week closes, the whole country is evaluated instead: for each configured
detector, the weekly counts of every org unit of its level form a matrix ``(S, N)`` (rows = org
units, columns = consecutive epi weeks ending at the last week evaluated) and the algorithm's
vectorised function (``registry.batch_detector``) runs on all rows in one call.

Identical to the per-cell path, point by point. For one row the per-cell path uses the series from
``first = max(first week observed, last - needed_history - n_eval + 1)`` to ``last`` (length
``n``), parameters ``fitted_params(cfg, n)`` (Farrington ``b`` reduced for short series) and
monitors ``max(n - n_eval + 1, start_rule(n))..n``. Rows are therefore grouped by their series
length ``n`` (one batch call per distinct length; with years of history every row has the full
window, so one call per detector) and each group is run on the matrix's last ``n`` columns with
exactly those parameters and range. ``start_epoch`` is the week number of the group's first column,
as ``Series(counts, 52, year, week)`` of the per-cell path.

Speed: :func:`evaluate_jobs` can run the (detector, matrix) jobs on a process pool; jobs are split
into row chunks (series are independent: same results) and run longest first.
"""
from __future__ import annotations

import datetime as dt
import uuid
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from typing import Iterator, Sequence

import numpy as np

from detectors.algorithms import registry
from detectors.epiweek import EpiWeek, epiweek, week_start
from detectors.statistical import FREQ, DetectorConfig, fitted_params

__all__ = ["CountMatrix", "NationalResult", "Job", "window_weeks", "evaluate_matrix", "evaluate_jobs",
           "signal_id", "last_closed_week", "COST_US"]

# CPU µs per series-week of each batch function (bench/detectors.py, 2-core EPYC): job ordering only.
COST_US = {"earsC_C1": 0.1, "earsC_C2": 0.1, "earsC_C3": 0.1, "cusum": 0.02, "cusum_glm_rossi": 1.5,
           "bayes": 0.07, "rki": 0.09, "glrpois": 3.2, "glrnb": 37.0, "ff_default": 19.0,
           "ff_farrington": 19.0, "ff_noufaily": 98.0, "ff_noufaily_muan": 98.0, "farrington": 20.0}
_NS = uuid.UUID("5ebac000-0000-4000-8000-000000000001")   # namespace of batch signal ids


@dataclass(frozen=True)
class CountMatrix:
    """Weekly counts of one level and disease: ``counts[i, j]`` = cases of ``orgunits[i]`` in
    ``weeks[j]`` (consecutive epi weeks). ``first[i]``: column of the first week observed for row
    ``i`` (earlier columns are unknown, not zero); ``len(weeks)`` when the row has no data."""

    level: str
    disease: str
    orgunits: tuple[str, ...]
    weeks: tuple[EpiWeek, ...]
    counts: np.ndarray
    first: np.ndarray

    def __post_init__(self) -> None:
        S, N = len(self.orgunits), len(self.weeks)
        if self.counts.shape != (S, N) or self.first.shape != (S,):
            raise ValueError(f"counts {self.counts.shape} / first {self.first.shape} do not match "
                             f"{S} org units x {N} weeks")

    def tail(self, n: int) -> "CountMatrix":
        """The last ``n`` columns (``first`` shifted, clipped at 0)."""
        off = len(self.weeks) - n
        if off < 0:
            raise ValueError(f"matrix has {len(self.weeks)} weeks, {n} asked")
        return CountMatrix(self.level, self.disease, self.orgunits, self.weeks[off:], self.counts[:, off:],
                           np.maximum(self.first - off, 0))

    def rows(self, idx: np.ndarray) -> "CountMatrix":
        return CountMatrix(self.level, self.disease, tuple(self.orgunits[i] for i in idx), self.weeks,
                           self.counts[idx], self.first[idx])


@dataclass
class NationalResult:
    """Per row and evaluated week (the last ``n_eval`` columns): observed, upper bound, alarm.

    Points not evaluated (warm-up, before the algorithm's first admissible point, no data) have
    NaN upper bound and no alarm. ``b[i]`` is the Farrington ``b`` used for row ``i`` (or -1).
    """

    cfg: DetectorConfig
    orgunits: tuple[str, ...]
    weeks: tuple[EpiWeek, ...]
    observed: np.ndarray
    upperbound: np.ndarray
    alarm: np.ndarray
    evaluated: np.ndarray
    b: np.ndarray

    def alarms(self) -> Iterator[tuple[int, int]]:
        """``(row, week column)`` of every alarm with at least ``min_observed`` cases."""
        hit = self.alarm & (self.observed >= self.cfg.min_observed)
        for i, j in zip(*np.nonzero(hit)):
            yield int(i), int(j)

    def params(self, i: int) -> dict:
        p = self.cfg.merged_params
        return {**p, "b": int(self.b[i])} if self.b[i] >= 0 else p


@dataclass(frozen=True)
class Job:
    cfg: DetectorConfig
    matrix: CountMatrix
    n_eval: int = 1


def window_weeks(cfg: DetectorConfig, n_eval: int) -> int:
    """Columns the detector reads to evaluate the last ``n_eval`` weeks (as the per-cell path)."""
    return cfg.needed_history() + n_eval


def evaluate_matrix(cfg: DetectorConfig, matrix: CountMatrix, n_eval: int = 1) -> NationalResult:
    """Run ``cfg`` on every row of ``matrix`` for its last ``n_eval`` weeks (pure, vectorised).

    ``matrix`` may hold more columns than the detector reads: its last ``window_weeks`` are used.
    """
    if n_eval < 1:
        raise ValueError("n_eval must be >= 1")
    N = min(len(matrix.weeks), window_weeks(cfg, n_eval))
    m = matrix.tail(N)
    S, k = len(m.orgunits), min(n_eval, N)
    observed = m.counts[:, N - k:].astype(float, copy=True)
    upper = np.full((S, k), np.nan)
    alarm = np.zeros((S, k), dtype=bool)
    evaluated = np.zeros((S, k), dtype=bool)
    b = np.full(S, -1, dtype=int)
    spec = registry.get(cfg.algorithm)
    batch = registry.batch_detector(cfg.algorithm)
    lengths = N - m.first
    for n in np.unique(lengths):
        n = int(n)
        if n <= 0:
            continue
        params = fitted_params(cfg, n)
        if params is None:
            continue   # warm-up: as the per-cell path, no signal
        rows = np.nonzero(lengths == n)[0]
        start = max(n - min(n_eval, n) + 1, spec.start_rule(n, FREQ, params, False))
        y = np.ascontiguousarray(m.counts[rows, N - n:], dtype=float)
        if batch is not None:
            det = batch(y, start, n, params, freq=FREQ, start_epoch=m.weeks[N - n].week)
            t, ub, al, ob = det.t, det.upperbound, det.alarm, det.observed
        else:   # no vectorised function: the single-series one, row by row
            from detectors.algorithms.base import Series
            one = registry.detector(cfg.algorithm)
            dets = [one(Series(row, FREQ, m.weeks[N - n].year, m.weeks[N - n].week), start, n, params)
                    for row in y]
            t = dets[0].t
            ub = np.stack([d.upperbound for d in dets])
            al = np.stack([d.alarm for d in dets])
            ob = np.stack([d.observed for d in dets])
        cols = (N - n) + np.asarray(t, dtype=int) - 1 - (N - k)   # series point t -> result column
        upper[np.ix_(rows, cols)] = ub
        alarm[np.ix_(rows, cols)] = al
        observed[np.ix_(rows, cols)] = ob
        evaluated[np.ix_(rows, cols)] = True
        if spec.farrington_family:
            b[rows] = int(params["b"])
    return NationalResult(cfg, m.orgunits, m.weeks[N - k:], observed, upper, alarm, evaluated, b)


def _run(job: Job) -> NationalResult:
    return evaluate_matrix(job.cfg, job.matrix, job.n_eval)


def _cost(job: Job) -> float:
    return COST_US.get(job.cfg.algorithm, 10.0) * len(job.matrix.orgunits) * job.n_eval


def _merge(parts: Sequence[NationalResult]) -> NationalResult:
    if len(parts) == 1:
        return parts[0]
    p0 = parts[0]
    return NationalResult(p0.cfg, tuple(u for p in parts for u in p.orgunits), p0.weeks,
                          *(np.concatenate([getattr(p, f) for p in parts])
                            for f in ("observed", "upperbound", "alarm", "evaluated", "b")))


_FORKED: list[Job] = []   # pieces handed to forked workers by index (inherited, never pickled)


def _run_forked(p: int) -> NationalResult:
    return _run(_FORKED[p])


def evaluate_jobs(jobs: Sequence[Job], *, workers: int = 1, chunk_cost_us: float = 2e5,
                  min_pool_cost_us: float = 1e6) -> list[NationalResult]:
    """:func:`evaluate_matrix` for every job, in order; ``workers > 1`` uses a process pool (fork).

    Jobs dearer than ``chunk_cost_us`` (estimated CPU µs, :data:`COST_US`) are split into row
    chunks so both cores stay busy; the largest pieces start first and go to the workers (which
    inherit the matrices at fork: nothing is pickled but the results), the cheap ones run here
    meanwhile. Below ``min_pool_cost_us`` in total (a weekly run) everything runs here: starting
    processes would cost more. Results are the same as with ``workers=1`` (rows are independent).
    """
    global _FORKED
    if workers <= 1 or len(jobs) == 0 or sum(_cost(j) for j in jobs) < min_pool_cost_us:
        return [_run(j) for j in jobs]
    pieces: list[tuple[int, Job]] = []
    for i, job in enumerate(jobs):
        S = len(job.matrix.orgunits)
        n_chunks = max(1, min(S, int(np.ceil(_cost(job) / chunk_cost_us)), 4 * workers))
        for idx in np.array_split(np.arange(S), n_chunks):
            if len(idx) or S == 0:
                pieces.append((i, Job(job.cfg, job.matrix.rows(idx), job.n_eval)))
    order = sorted(range(len(pieces)), key=lambda p: -_cost(pieces[p][1]))
    dear = [p for p in order if _cost(pieces[p][1]) >= chunk_cost_us / 4]
    out: list[NationalResult | None] = [None] * len(pieces)
    _FORKED = [job for _, job in pieces]
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("fork")) as pool:
            futures = {p: pool.submit(_run_forked, p) for p in dear}
            for p in order:
                if p not in futures:
                    out[p] = _run(pieces[p][1])
            for p, f in futures.items():
                out[p] = f.result()
    finally:
        _FORKED = []
    grouped: dict[int, list[NationalResult]] = {}
    for (i, _), res in zip(pieces, out):
        assert res is not None  # every piece ran, in this process or a forked one
        grouped.setdefault(i, []).append(res)   # pieces of a job are in row order
    return [_merge(grouped[i]) for i in range(len(jobs))]


def signal_id(dedup_key: str, observed: float, threshold: float | None) -> str:
    """Deterministic signal id of a batch signal: re-running the batch on the same counts yields
    the same id, which the alerts stage recognises (nothing changes); a changed count merges."""
    return str(uuid.uuid5(_NS, f"{dedup_key}|{observed:.6g}|{threshold!r}"))


def last_closed_week(now: dt.datetime, start_day: int = 0) -> EpiWeek:
    """The epi week before the one ``now`` falls in."""
    return epiweek(week_start(epiweek(now.date(), start_day), start_day) - dt.timedelta(days=7), start_day)
