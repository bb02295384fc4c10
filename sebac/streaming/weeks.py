"""The weekly-counts table of a worker (``cases_by_area_week``), as pure functions over a mapping.

The table holds one small record per health area (its key, so the table is partitioned exactly like
``reports``)::

    {"o": 1234,                                   # offset of the last report message applied
     "w": {"cholera|2026-W46": [cases, reports]},  # weekly counts by disease
     "closed": {"cholera|2026-W46": [cases, reports]}}

A case is counted once: a client's resend (another message, same idempotency key) is not new in the
database and is not counted; a report stored by the batch is always counted (it never was); a
redelivered message (crash before its offset was committed) is counted only if its offset is above
``o`` — faust flushes the changelog before committing offsets, so the table is never behind the
committed offsets. One table write per area and batch keeps the changelog small. The table is
rebuilt from its changelog or, lost with it, by replaying ``reports`` (a new ``SEBAC_STREAM_APP_ID``).
Epi weeks close on an explicit timer (:mod:`sebac.streaming.agents.timers`), not on faust's window
close, which only fires on the next event.

The functions take any mapping with ``get`` and item assignment (a faust table, or a dict in tests).
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Iterable

from detectors.epiweek import EpiWeek, epiweek, week_end
from sebac.streaming.records import WeekCell
from sebac.streaming.topics import partition_for


def empty_area() -> dict:
    return {"o": -1, "w": {}, "closed": {}}


def add_reports(table: Any, counted: Iterable[tuple[Any, int]], start_day: int = 0,
                first_time: Iterable[str] = ()) -> int:
    """Add (report, offset) pairs to the weekly counts; returns how many were counted.

    A report stored by this batch (``first_time``: its id) was never counted and always is; any
    other pair is a redelivery of the message that stored it, counted only above the area's ``o``.
    """
    first_time = set(first_time)
    by_area: dict[str, list[tuple[int, Any]]] = {}
    for report, offset in counted:
        by_area.setdefault(report.health_area_id, []).append((offset, report))
    added = 0
    for area, items in by_area.items():  # one table write (one changelog record) per area and batch
        value = table.get(area) or empty_area()
        weeks = dict(value["w"])
        last = value["o"]
        changed = False
        for offset, r in sorted(items, key=lambda x: x[0]):
            if offset <= last and r.report_id not in first_time:
                continue  # redelivered and already counted before the crash
            cell = f"{r.disease}|{epiweek(r.onset_date, start_day)}"
            cases, reports = weeks.get(cell, (0, 0))
            weeks[cell] = [cases + r.cases, reports + 1]
            last = max(last, offset)
            added += 1
            changed = True
        if changed:
            table[area] = {"o": last, "w": weeks, "closed": value["closed"]}
    return added


def _week_closes_at(week: str, start_day: int) -> dt.datetime:
    end = week_end(EpiWeek.parse(week), start_day) + dt.timedelta(days=1)
    return dt.datetime.combine(end, dt.time(), tzinfo=dt.timezone.utc)


def due_cells(items: Iterable[tuple[str, dict]], partitions: set[int], n_partitions: int, now: dt.datetime,
              grace: dt.timedelta, start_day: int = 0) -> list[WeekCell]:
    """Cells of weeks that ended (plus grace) and are not closed with their current counts."""
    out = []
    for area, value in items:
        if partition_for(area, n_partitions) not in partitions:
            continue  # a partition being handed over: its owner closes it
        for cell, counts in value["w"].items():
            disease, week = cell.split("|")
            if now < _week_closes_at(week, start_day) + grace:
                continue
            closed = value["closed"].get(cell)
            if closed is not None and list(closed) == list(counts):
                continue
            out.append(WeekCell(area, disease, week, counts[0], counts[1], reclosed=closed is not None))
    return out


def mark_closed(table: Any, cells: Iterable[WeekCell]) -> None:
    by_area: dict[str, list[WeekCell]] = {}
    for c in cells:
        by_area.setdefault(c.health_area_id, []).append(c)
    for area, group in by_area.items():
        value = table.get(area) or empty_area()
        closed = dict(value["closed"])
        for c in group:
            closed[f"{c.disease}|{c.epiweek}"] = [c.cases, c.reports]
        table[area] = {"o": value["o"], "w": value["w"], "closed": closed}


def forget_old_weeks(table: Any, areas: Iterable[str], before: dt.date, start_day: int = 0) -> None:
    """Drop closed weeks that ended before ``before`` (late data for them re-creates the cell)."""
    for area in areas:
        value = table.get(area)
        if not value:
            continue
        old = [cell for cell in value["closed"]
               if week_end(EpiWeek.parse(cell.split("|")[1]), start_day) < before]
        if old:
            table[area] = {"o": value["o"], "w": {k: v for k, v in value["w"].items() if k not in old},
                           "closed": {k: v for k, v in value["closed"].items() if k not in old}}
