"""Backlogs (CSV or NDJSON files of reports) → ``pipeline.submit_many``, a batch per transaction.

Each report of a batch gets exactly what ``pipeline.submit`` would give it one at a time, in file
order (:mod:`detectors.session`); ``batch=1`` (or a pipeline without ``submit_many``) submits one by one.

CSV: a header with :class:`~ingest.contracts.ReportIn` field names (``client_id, orgunit_id,
disease, cases, deaths, onset_date, report_date, sex, age_group, reporter, text``); empty cells are
absent values. NDJSON: one JSON object per line (blank lines skipped). Either may carry an
``idempotency_key`` column/field to keep the key the report had in the system it came from (e.g.
``http:abc``), so replaying an export of reports already received is answered "duplicate";
otherwise the key is ``csv:<client_id>``. Each bad line is kept in the rejected table with its
line number; a replay never stops on one bad line.
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

from ingest.contracts import Channel, ReportIn
from ingest.errors import ErrorDetail

KNOWN_COLUMNS = set(ReportIn.model_fields) | {"idempotency_key"}


@dataclass(frozen=True)
class BacklogItem:
    line: int
    payload: dict[str, Any] | None
    raw: str
    error: ErrorDetail | None = None
    idempotency_key: str | None = None


@dataclass
class ReplaySummary:
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    late: int = 0
    possible_duplicates: int = 0
    alerts: int = 0  # alerts raised or updated by the replayed reports
    errors: list[dict[str, Any]] = field(default_factory=list)  # first ``max_errors`` rejected lines

    @property
    def total(self) -> int:
        return self.accepted + self.duplicate + self.rejected

    def as_dict(self) -> dict[str, Any]:
        return {"total": self.total, "accepted": self.accepted, "duplicate": self.duplicate,
                "rejected": self.rejected, "late": self.late, "possible_duplicates": self.possible_duplicates,
                "alerts": self.alerts, "errors": self.errors}


def detect_format(name: str | None, head: str) -> str:
    n = (name or "").lower()
    if n.endswith((".ndjson", ".jsonl", ".json")):
        return "ndjson"
    if n.endswith(".csv"):
        return "csv"
    return "ndjson" if head.lstrip().startswith("{") else "csv"


def _split_key(payload: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    key = payload.pop("idempotency_key", None)
    return payload, (str(key)[:200] if key else None)


def read_ndjson(lines: Iterable[str]) -> Iterator[BacklogItem]:
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
        except json.JSONDecodeError as exc:
            yield BacklogItem(n, None, line.rstrip("\n"), ErrorDetail("report.json.malformed", None,
                                                                       {"line": n, "column": exc.colno}))
            continue
        if not isinstance(doc, dict):
            yield BacklogItem(n, None, line.rstrip("\n"), ErrorDetail("report.format.invalid", None,
                                                                       {"line": n, "detail": "expected an object"}))
            continue
        payload, key = _split_key(doc)
        yield BacklogItem(n, payload, line.rstrip("\n"), idempotency_key=key)


def read_csv(lines: Iterable[str]) -> Iterator[BacklogItem]:
    reader = csv.DictReader(lines)
    header = [h.strip() for h in (reader.fieldnames or [])]
    if not header or not {"orgunit_id", "disease", "cases", "onset_date"} <= set(header):
        raise ValueError("csv.header.invalid: the header needs at least orgunit_id, disease, cases, onset_date")
    for row in reader:
        n = reader.line_num
        raw = json.dumps(row, ensure_ascii=False)
        if None in row:  # more cells than header columns
            yield BacklogItem(n, None, raw, ErrorDetail("csv.row.invalid", None, {"row": n,
                                                                                  "detail": "too many cells"}))
            continue
        payload = {k.strip(): v.strip() for k, v in row.items() if k and v is not None and v.strip() != ""}
        payload, key = _split_key(payload)
        yield BacklogItem(n, payload, raw, idempotency_key=key)


def read_backlog(text_lines: Iterable[str], fmt: str) -> Iterator[BacklogItem]:
    if fmt not in ("csv", "ndjson"):
        raise ValueError(f"unknown backlog format {fmt!r}")
    return read_csv(text_lines) if fmt == "csv" else read_ndjson(text_lines)


def _results(pipeline: Any, items: Iterable[BacklogItem], channel: Channel, batch: int) -> Iterator[tuple[BacklogItem, Any]]:
    """Each item with its result: ``batch`` items per transaction (``pipeline.submit_many``, every
    report as if submitted alone, in order) or one by one (``batch`` 1, or a pipeline without it)."""
    many = getattr(pipeline, "submit_many", None) if batch > 1 else None
    chunk: list[BacklogItem] = []
    for item in items:
        if many is None:
            yield item, (pipeline.reject(channel, item.raw, [item.error], item.idempotency_key)
                         if item.error is not None else
                         pipeline.submit(item.payload, channel, idempotency_key=item.idempotency_key))
            continue
        chunk.append(item)
        if len(chunk) >= batch:
            yield from _chunk(pipeline, chunk, channel)
            chunk = []
    if chunk:
        yield from _chunk(pipeline, chunk, channel)


def _chunk(pipeline: Any, chunk: list[BacklogItem], channel: Channel) -> Iterator[tuple[BacklogItem, Any]]:
    good = [it for it in chunk if it.error is None]
    done = iter(pipeline.submit_many([(it.payload, it.idempotency_key) for it in good], channel))
    for item in chunk:
        yield item, (next(done) if item.error is None else
                     pipeline.reject(channel, item.raw, [item.error], item.idempotency_key))


def replay(pipeline: Any, items: Iterable[BacklogItem], *, channel: Channel = Channel.csv, max_errors: int = 100,
           on_item: Callable[[BacklogItem, str], object] | None = None, batch: int = 1000) -> ReplaySummary:
    """Submit every item; bad lines are kept as rejected (with their line number). ``batch``: items
    per transaction (the signals and alerts are those of submitting them one by one)."""
    summary = ReplaySummary()
    for item, res in _results(pipeline, items, channel, batch):
        status = res.status
        setattr(summary, status, getattr(summary, status) + 1)
        summary.alerts += len(getattr(res, "alerts", None) or [])
        notes = getattr(res, "notes", None)
        if notes is not None:
            summary.late += int(notes.late)
            summary.possible_duplicates += int(bool(notes.possible_duplicate_of))
        if status == "rejected" and len(summary.errors) < max_errors:
            summary.errors.append({"line": item.line, "rejected_id": res.rejected_id,
                                   "errors": [e.as_dict() for e in res.errors]})
        if on_item is not None:
            on_item(item, status)
    return summary


def lines_of(data: bytes | str) -> list[str]:
    text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
    return io.StringIO(text, newline="").readlines()
