"""One pull from a DHIS2 server: org units → pyramid, then every mapped program's events → importer.

* :func:`fetch_org_units` reads ``GET /api/organisationUnits?fields=id,code,name,level,path,parent[id]``
  page by page, following ``pager.nextPage``; :func:`ingest.pyramid.pyramid_from_dhis2` builds the tree.
* :func:`pull_events` reads ``GET /api/tracker/events?program=…&orgUnit=<root>&ouMode=DESCENDANTS
  &updatedAfter=…&fields=*`` for each program of the DHIS2 mapping (:class:`.paging.EventPaging`),
  imports each page's events with :func:`ingest.dhis2_import.import_event` and saves the program's
  cursor once they are committed.
* DHIS2 2.41 renamed ``ouMode`` to ``orgUnitMode`` (the old name is deprecated, to be removed): the
  server's version (``GET /api/system/info``, the first request and the credentials check) decides.

An event seen again with a later ``updatedAt`` is a correction (``updated``), one with ``deleted:
true`` a retraction (``deleted``): :func:`ingest.dhis2_import.plan_event`.

Events of a pulled program whose stage the mapping does not name are *ignored*, not rejected: the pull
asked for the whole program, the stage is simply not surveillance data.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from ingest.dhis2 import Dhis2Mapping
from ingest.dhis2_pull.client import Dhis2Client, PullError
from ingest.dhis2_pull.cursors import load_cursor, save_cursor
from ingest.dhis2_pull.paging import EventPaging, PageError, events_of, next_org_unit_page, org_units_of

log = logging.getLogger("sebac.dhis2.pull")
ORG_UNIT_FIELDS = "id,code,name,level,path,parent[id]"
MAX_ORG_UNIT_PAGES = 100_000


@dataclass
class PullCounts:
    created: int = 0
    updated: int = 0
    deleted: int = 0
    ignored: int = 0
    rejected: int = 0

    def add(self, status: str) -> None:
        name = "rejected" if status == "error" else status
        setattr(self, name, getattr(self, name) + 1)

    def line(self) -> str:
        return (f"created {self.created}, updated {self.updated}, deleted {self.deleted}, "
                f"ignored {self.ignored}, rejected {self.rejected}")


def _protocol(exc: PageError, where: str) -> PullError:
    return PullError("protocol", f"DHIS2 answered {where} in an unknown shape: {exc}")


def fetch_org_units(client: Dhis2Client, page_size: int = 500) -> list[dict[str, Any]]:
    """Every org unit, following the pager; a server sending a link twice is an error, not a loop."""
    units: list[dict[str, Any]] = []
    page, link, seen = 1, None, set()
    for _ in range(MAX_ORG_UNIT_PAGES):
        doc = client.get(link) if link else client.get(
            "api/organisationUnits", {"fields": ORG_UNIT_FIELDS, "page": page, "pageSize": page_size})
        try:
            units += org_units_of(doc)
        except PageError as exc:
            raise _protocol(exc, "/api/organisationUnits") from None
        following = next_org_unit_page(doc, page)
        if following is None:
            return units
        page += 1
        link = following if isinstance(following, str) else None
        if link is not None:
            if link in seen:
                raise PullError("protocol", "DHIS2 sent the same organisationUnits nextPage link twice")
            seen.add(link)
    raise PullError("protocol", f"more than {MAX_ORG_UNIT_PAGES} pages of organisation units")


def org_unit_param(version: tuple[int, int] | None) -> str:
    """``orgUnitMode`` from DHIS2 2.41 on, ``ouMode`` before (and when the version is unknown)."""
    return "orgUnitMode" if version is not None and version >= (2, 41) else "ouMode"


def mapped_programs(mapping: Dhis2Mapping) -> list[str]:
    return list(dict.fromkeys(p.program for p in mapping.programs))


def pull_events(pipeline: Any, client: Dhis2Client, mapping: Dhis2Mapping, *, server: str, root: str,
                ou_param: str = "ouMode", page_size: int = 200, counts: PullCounts | None = None,
                programs: Iterable[str] | None = None,
                on_page: Callable[[str, int, PullCounts], None] | None = None) -> PullCounts:
    """Import the events updated since each program's cursor; counts (also on a failure, as ``exc.counts``)."""
    from ingest.dhis2_import import import_event

    counts = counts if counts is not None else PullCounts()
    try:
        for program in programs or mapped_programs(mapping):
            with pipeline.db.connect() as conn:
                paging = EventPaging(load_cursor(conn, server, program), page_size)
            while True:
                # deleted events too: a deletion at the source retracts the report
                params = {"program": program, "orgUnit": root, ou_param: "DESCENDANTS", "fields": "*",
                          "includeDeleted": "true", **paging.params()}
                doc = client.get("api/tracker/events", params)
                try:
                    step = paging.take(events_of(doc))
                except PageError as exc:
                    raise _protocol(exc, "/api/tracker/events") from None
                for i, event in enumerate(step.fresh):
                    if isinstance(event, dict) and mapping.find(event.get("program"), event.get("programStage")) \
                            is None and event.get("program") == program:
                        counts.ignored += 1  # a stage of a pulled program that is not surveillance data
                        continue
                    outcome = import_event(pipeline, mapping, event, i)
                    # the same bad version seen again (the cursor's overlap) is kept once, counted once
                    counts.add("ignored" if outcome.kept_before else outcome.status)
                if step.cursor is not None:
                    with pipeline.db.begin() as conn:  # after the page's events are committed
                        save_cursor(conn, server, program, step.cursor, pipeline.clock.now())
                if on_page is not None:
                    on_page(program, len(step.fresh), counts)
                if step.done:
                    break
    except PullError as exc:
        exc.counts = counts  # type: ignore[attr-defined]
        raise
    return counts
