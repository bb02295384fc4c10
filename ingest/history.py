"""Historical weekly counts per area and disease (``weekly_counts_history``), baselines for detectors.

Counts from before SEBAC (DHIS2 aggregate exports, registers) give the statistical detectors
(Farrington, EARS...) the years of baseline they need. Loaded from CSV with columns
``area_id, disease, iso_year, iso_week, count`` (``orgunit_id``/``year``/``week`` also accepted);
the area is any org unit of the pyramid (id or DHIS2 UID, stored as id), weeks are ISO 8601
(week 53 only in years that have one). Loading is an upsert: a re-loaded cell replaces the old count.

Detectors read it with :func:`history_counts`.
"""
from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from typing import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ingest.diseases import DiseaseCatalogue
from ingest.errors import ErrorDetail
from ingest.pyramid import Pyramid
from ingest.tables import weekly_counts_history

ALIASES = {"orgunit_id": "area_id", "area": "area_id", "year": "iso_year", "week": "iso_week", "cases": "count"}
REQUIRED = ("area_id", "disease", "iso_year", "iso_week", "count")


@dataclass(frozen=True)
class HistoryRow:
    area_id: str
    disease: str
    iso_year: int
    iso_week: int
    count: int


def parse_history_csv(lines: Iterable[str], pyramid: Pyramid, diseases: DiseaseCatalogue, *,
                      max_count: int = 1_000_000) -> tuple[list[HistoryRow], list[tuple[int, ErrorDetail]]]:
    """Pure: the valid rows, and (line, error) for each bad row. A bad header is an error on line 1."""
    reader = csv.DictReader(lines)
    header = [ALIASES.get(h.strip(), h.strip()) for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        return [], [(1, ErrorDetail("csv.header.invalid", None, {"detail": f"missing columns {missing}"}))]
    rows: list[HistoryRow] = []
    errors: list[tuple[int, ErrorDetail]] = []
    for raw in reader:
        n = reader.line_num
        rec = {ALIASES.get(k.strip(), k.strip()): (v or "").strip() for k, v in raw.items() if k}
        unit = pyramid.resolve(rec["area_id"])
        if unit is None:
            errors.append((n, ErrorDetail("report.orgunit.unknown", "area_id", {"orgunit_id": rec["area_id"]})))
            continue
        if rec["disease"] not in diseases:
            errors.append((n, ErrorDetail("report.disease.unknown", "disease", {"disease": rec["disease"]})))
            continue
        try:
            year, week, count = int(rec["iso_year"]), int(rec["iso_week"]), int(rec["count"])
            dt.date.fromisocalendar(year, week, 1)
        except ValueError:
            errors.append((n, ErrorDetail("csv.row.invalid", None, {"row": n, "detail": "bad year, week or count"})))
            continue
        if year < 2000:
            errors.append((n, ErrorDetail("report.date.too_old", "iso_year", {"date": str(year), "min": "2000"})))
            continue
        if not 0 <= count <= max_count:
            key = "report.count.negative" if count < 0 else "report.cases.absurd"
            errors.append((n, ErrorDetail(key, "count", {"field": "count", "cases": count, "max": max_count})))
            continue
        rows.append(HistoryRow(unit.id, rec["disease"], year, week, count))
    return rows, errors


def store_history(conn: Connection, rows: Iterable[HistoryRow], *, now: dt.datetime, source: str | None = None) -> int:
    """Upsert rows (delete the cell, insert the new count); returns the number stored."""
    t = weekly_counts_history
    n = 0
    for r in rows:
        conn.execute(t.delete().where((t.c.area_id == r.area_id) & (t.c.disease == r.disease)
                                      & (t.c.iso_year == r.iso_year) & (t.c.iso_week == r.iso_week)))
        conn.execute(t.insert().values(area_id=r.area_id, disease=r.disease, iso_year=r.iso_year,
                                       iso_week=r.iso_week, count=r.count, source=(source or "")[:200] or None,
                                       loaded_at=now))
        n += 1
    return n


def history_counts(conn: Connection, orgunit_id: str, disease: str) -> list[tuple[int, int, int]]:
    """``[(iso_year, iso_week, count), ...]`` of one area and disease, oldest first."""
    t = weekly_counts_history
    q = (sa.select(t.c.iso_year, t.c.iso_week, t.c["count"])
         .where(t.c.area_id == orgunit_id, t.c.disease == disease).order_by(t.c.iso_year, t.c.iso_week))
    return [(int(y), int(w), int(c)) for y, w, c in conn.execute(q)]
