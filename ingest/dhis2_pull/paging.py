"""Pure paging and cursor logic of a DHIS2 pull (no I/O: tested with plain values).

**Org units** (``GET /api/organisationUnits``, the metadata API): ``{"pager": {"page", "pageCount",
"total", "pageSize", "nextPage"}, "organisationUnits": [...]}``; :func:`next_org_unit_page` follows
``pager.nextPage`` (or ``page + 1`` while ``page < pageCount``).

**Events** (``GET /api/tracker/events``): DHIS2 2.36–2.40 answer ``{"page", "pageSize",
"instances": [...]}``, 2.41+ answer ``{"pager": {"page", "pageSize"}, "events": [...]}``;
:func:`events_of` reads both.

**The cursor** (:class:`EventPaging`) is the highest ``updatedAt`` of the events already imported,
sent back as ``updatedAfter``. Plain page numbers over a live query lose events: while we read page
2, a tablet's sync updates an event of page 1, it moves to the end of the ``updatedAt`` order, every
later event shifts down one place and one of them is never on any page we read. So the pages are
read *by key*: each request asks for ``updatedAfter = cursor − 1 ms``, ``page=1``,
``order=updatedAt:asc``; events already taken in this run are skipped (an event seen again with the
same ``updatedAt`` is the same version). The 1 ms overlap makes this right whether the server
compares ``updatedAt >= updatedAfter`` or ``>``. Only when a whole page is events already taken
(more than a page of events within one millisecond) does the next request move to ``page + 1``.

A server that ignores ``order`` would break reading by key, so each page is checked: if its
``updatedAt`` values are not ascending, the run falls back to plain page numbers from where it is
and saves the cursor only once the last page is committed (:attr:`PageStep.cursor`).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping
from urllib.parse import parse_qs, urlsplit

ONE_MS = dt.timedelta(milliseconds=1)


class PageError(ValueError):
    """A page that is not in any shape DHIS2 answers."""


def parse_instant(value: Any) -> dt.datetime | None:
    """DHIS2's ``2024-03-19T13:18:16.370`` (server time, no zone) or with ``Z`` / an offset → a naive
    datetime (offsets converted to UTC); None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        t = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return t.astimezone(dt.timezone.utc).replace(tzinfo=None) if t.tzinfo else t


def format_instant(t: dt.datetime) -> str:
    """The form DHIS2 writes and reads back: ``2024-03-19T13:18:16.370``."""
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}"


def events_of(doc: Mapping[str, Any]) -> list[Any]:
    """The events of one page: ``instances`` (2.36–2.40) or ``events`` (2.41+)."""
    for key in ("instances", "events"):
        if isinstance(doc.get(key), list):
            return doc[key]
    raise PageError("the events page has neither an 'instances' nor an 'events' list")


def org_units_of(doc: Mapping[str, Any]) -> list[Any]:
    units = doc.get("organisationUnits")
    if not isinstance(units, list):
        raise PageError("the organisation units page has no 'organisationUnits' list")
    return units


def next_org_unit_page(doc: Mapping[str, Any], page: int) -> str | int | None:
    """The next page to read: the ``pager.nextPage`` link, else ``page + 1`` while ``page < pageCount``,
    else None (last page, or an answer without paging)."""
    pager = doc.get("pager")
    if not isinstance(pager, Mapping):
        return None
    link = pager.get("nextPage")
    if isinstance(link, str) and link:
        return link
    count = pager.get("pageCount")
    return page + 1 if isinstance(count, int) and page < count else None


def page_number(link: str) -> int | None:
    """The ``page`` parameter of a ``nextPage`` link (to detect a server sending the same page again)."""
    values = parse_qs(urlsplit(link).query).get("page")
    try:
        return int(values[0]) if values else None
    except ValueError:
        return None


@dataclass(frozen=True)
class PageStep:
    """What to do with one page of events once read."""

    fresh: list[Any]              # events to import (not yet taken in this run), in page order
    cursor: str | None            # cursor to save once ``fresh`` is committed (None: keep the saved one)
    done: bool                    # no further page to read


STALE_PAGES = 10  # full pages in a row without a new event: the server ignores updatedAfter and page


@dataclass
class EventPaging:
    """The request parameters of the next events page, and what each page read means (module doc).

    >>> p = EventPaging("2026-11-18T10:00:00.000", page_size=2)
    >>> p.params()["updatedAfter"], p.params()["page"]
    ('2026-11-18T09:59:59.999', 1)
    >>> step = p.take([{"event": "a", "updatedAt": "2026-11-18T10:00:00.000"},
    ...                {"event": "b", "updatedAt": "2026-11-18T11:00:00.000"}])
    >>> [e["event"] for e in step.fresh], step.cursor, step.done
    (['a', 'b'], '2026-11-18T11:00:00.000', False)
    >>> p.take([{"event": "b", "updatedAt": "2026-11-18T11:00:00.000"}])
    PageStep(fresh=[], cursor=None, done=True)
    """

    cursor: str | None
    page_size: int = 200
    page: int = 1
    ordered: bool = True
    taken: set[tuple[str, str | None]] = field(default_factory=set)
    stale: int = 0
    saved: str | None = None   # the cursor as last saved (or loaded)
    _after: str | None = None  # updatedAfter of the current query

    def __post_init__(self) -> None:
        if self.page_size < 1:
            raise ValueError("page_size must be at least 1")
        if self.cursor is not None and parse_instant(self.cursor) is None:
            raise ValueError(f"cursor {self.cursor!r} is not a DHIS2 timestamp")
        self._after = self.saved = self.cursor

    @property
    def high(self) -> dt.datetime | None:
        return parse_instant(self.cursor)

    def params(self) -> dict[str, Any]:
        out: dict[str, Any] = {"page": self.page, "pageSize": self.page_size, "order": "updatedAt:asc"}
        after = parse_instant(self._after)
        if after is not None:
            out["updatedAfter"] = format_instant(after - ONE_MS)
        return out

    def take(self, events: Iterable[Any]) -> PageStep:
        events = list(events)
        stamps = [parse_instant(e.get("updatedAt")) if isinstance(e, Mapping) else None for e in events]
        known = [t for t in stamps if t is not None]
        fresh = [e for e in events if self._first_sight(e)]
        done = len(events) < self.page_size
        if not done and not fresh:
            self.stale += 1
            if self.stale >= STALE_PAGES:
                raise PageError(f"{STALE_PAGES} full pages in a row held no new event: the server "
                                "ignores updatedAfter and page")
        else:
            self.stale = 0
        before = self.high
        top = max([t for t in (before, *known) if t is not None], default=None)
        if self.ordered and known != sorted(known):
            self.ordered = False  # the server ignores order=updatedAt:asc: page numbers from here on
        self.cursor = format_instant(top) if top is not None else self.cursor
        if not self.ordered:
            self.page += 1
            if done and self.cursor != self.saved:
                self.saved = self.cursor
                return PageStep(fresh, self.cursor, done)
            return PageStep(fresh, None, done)
        if top is not None and (before is None or top > before):
            self._after = self.saved = self.cursor
            self.page = 1
            return PageStep(fresh, self.cursor, done)
        self.page += 1  # nothing newer than the cursor on this page: read on by page number
        return PageStep(fresh, None, done)

    def _first_sight(self, event: Any) -> bool:
        """False for an event already taken in this run with the same ``updatedAt`` (same version)."""
        if not isinstance(event, Mapping) or not isinstance(event.get("event"), str):
            return True
        ident = (event["event"], event.get("updatedAt"))
        if ident in self.taken:
            return False
        self.taken.add(ident)
        return True


def retry_delay(attempt: int, first: float, cap: float) -> float:
    """Exponential backoff: ``first · 2^attempt`` seconds, at most ``cap`` (attempt 0 = first retry)."""
    if first <= 0 or cap <= 0:
        raise ValueError("backoff delays must be positive")
    return min(cap, first * 2 ** min(attempt, 32))


def parse_interval(text: str) -> float:
    """``90``, ``30s``, ``5m``, ``2h``, ``1d`` → seconds (a positive number)."""
    import re

    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", str(text).lower())
    if not m or float(m.group(1)) <= 0:
        raise ValueError(f"{text!r} is not a duration such as 30s, 5m or 1h")
    return float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]
