"""SEBAC as a DHIS2 client: pull org units and tracker events from a DHIS2 server.

* :mod:`.client` — the HTTP client (personal access token or Basic auth) and its one error type;
* :mod:`.paging` — pure logic: reading pages, following ``pager.nextPage``, the event cursor, backoff;
* :mod:`.cursors` — the persisted ``updatedAfter`` cursor per (server, program);
* :mod:`.run` — one pull: org units → pyramid, events → the DHIS2 importer, counts.

The command is ``sebac dhis2 pull`` (:mod:`sebac.commands.dhis2`); see ``docs/dhis2.md``.
"""
