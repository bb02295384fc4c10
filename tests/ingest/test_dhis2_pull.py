"""A pull against a stand-in DHIS2 server on a real socket: org units, events page by page in both
shapes, the cursor, live updates during a run, and every failure a real server gives."""
from __future__ import annotations

import sqlalchemy as sa
import pytest

from ingest.dhis2 import load_dhis2_mapping
from ingest.dhis2_pull.client import Dhis2Client, PullError, auth_header
from ingest.dhis2_pull.cursors import all_cursors
from ingest.dhis2_pull.run import fetch_org_units, org_unit_param, pull_events
from ingest.pyramid import pyramid_from_dhis2
from ingest.tables import rejected_items, reports
from sebac.pipeline import Pipeline
from tests.dhis2_standin import PASSWORD, TOKEN, USER, Dhis2State, StandInDhis2, mali_org_units, signal_event

pytestmark = pytest.mark.integration
SITE = "ML-MOP-DJENNE-MOUGNA-S1"
OTHER_SITE = "ML-MOP-DJENNE-MOUGNA-S2"


def at(minute: int, ms: int = 0) -> str:
    return f"2026-11-19T08:{minute:02d}:00.{ms:03d}"


@pytest.fixture
def units(pyramid):
    return mali_org_units(pyramid)


@pytest.fixture
def state(units):
    return Dhis2State(org_units=units, programs={"SbcSignal01", "SbcCholera1"})


@pytest.fixture
def dhis2(state):
    with StandInDhis2(state) as server:
        yield server


@pytest.fixture
def server_pyramid(units):
    return pyramid_from_dhis2({"organisationUnits": units})


@pytest.fixture
def pipe(db, server_pyramid, diseases, clock):
    return Pipeline(db, server_pyramid, diseases, clock=clock)


@pytest.fixture
def mapping(diseases):
    return load_dhis2_mapping(None, diseases)


def client_for(dhis2, **kw):
    return Dhis2Client(dhis2.url, auth_header(TOKEN, None, None), **kw)


def uid(pyramid, site=SITE):
    return pyramid.get(site).dhis2_uid


def run(pipe, dhis2, mapping, version=(2, 40), page_size=3, **kw):
    with client_for(dhis2) as client:
        root = next(u for u in pipe.pyramid.units.values() if u.parent_id is None).id
        return pull_events(pipe, client, mapping, server=client.base, root=root, ou_param=org_unit_param(version),
                           page_size=page_size, programs=["SbcSignal01"], **kw)


def stored_keys(pipe) -> set[str]:
    with pipe.db.connect() as conn:
        return set(conn.execute(sa.select(reports.c.idempotency_key)).scalars())


def test_org_units_follow_the_pager_and_build_the_pyramid_with_codes(dhis2, units, pyramid):
    with client_for(dhis2) as client:
        got = fetch_org_units(client, page_size=7)
    assert len(got) == len(units) and len(dhis2.requests_to("/api/organisationUnits")) == -(-len(units) // 7)
    built = pyramid_from_dhis2({"organisationUnits": got})
    site = built.get(uid(pyramid))
    assert site.code == SITE and site.level == "site" and site.parent_id == uid(pyramid, "ML-MOP-DJENNE-MOUGNA")
    # every page after the first was read by the nextPage link, with the fields asked for
    asked = dhis2.requests_to("/api/organisationUnits")
    assert [int(p["page"]) for p in asked] == list(range(1, len(asked) + 1))
    assert {p["fields"] for p in asked} == {"id,code,name,level,path,parent[id]"}


@pytest.mark.parametrize("version,param,key", [("2.40.4", "ouMode", "instances"), ("2.41.2", "orgUnitMode", "events")])
def test_events_page_by_page_in_both_shapes_then_only_what_changed(dhis2, state, pipe, mapping, pyramid,
                                                                   version, param, key):
    state.version = version
    site, other = uid(pyramid), uid(pyramid, OTHER_SITE)
    state.events = [signal_event(f"EvtPull{i:04d}", site if i % 2 else other, at(i)) for i in range(1, 8)]
    with client_for(dhis2) as client:
        v = client.version()
    counts = run(pipe, dhis2, mapping, version=v)
    assert (counts.created, counts.ignored, counts.rejected) == (7, 0, 0)
    assert stored_keys(pipe) == {f"dhis2:EvtPull{i:04d}" for i in range(1, 8)}
    asked = dhis2.requests_to("/api/tracker/events")
    assert all(p[param] == "DESCENDANTS" and p["fields"] == "*" and p["program"] == "SbcSignal01" for p in asked)
    with pipe.db.connect() as conn:
        assert all_cursors(conn, "http://127.0.0.1:%d/dhis" % dhis2.httpd.server_port) == {"SbcSignal01": at(7)}
    # nothing new: the second run reads one page from the cursor and imports nothing
    again = run(pipe, dhis2, mapping, version=v)
    assert (again.created, again.ignored) == (0, 1)  # the cursor's own event, seen again through the overlap
    assert dhis2.requests_to("/api/tracker/events")[-1]["updatedAfter"] == "2026-11-19T08:06:59.999"
    state.events.append(signal_event("EvtPull0100", site, at(30)))
    assert run(pipe, dhis2, mapping, version=v).created == 1


def test_the_wrong_org_unit_parameter_name_finds_only_the_root_s_own_events(dhis2, state, pipe, mapping, pyramid):
    state.version = "2.41.0"
    state.events = [signal_event("EvtPull0001", uid(pyramid), at(1))]
    assert run(pipe, dhis2, mapping, version=(2, 40)).created == 0  # ouMode ignored by this server
    assert run(pipe, dhis2, mapping, version=(2, 41)).created == 1


def test_a_failure_after_a_page_keeps_that_page_and_its_cursor(dhis2, state, pipe, mapping, pyramid):
    state.events = [signal_event(f"EvtPull{i:04d}", uid(pyramid), at(i)) for i in range(1, 8)]
    state.on_request = lambda st, path, params: st.fail_next.append(503) \
        if path == "/api/tracker/events" and params.get("updatedAfter") else None
    with pytest.raises(PullError) as exc:
        run(pipe, dhis2, mapping)
    assert exc.value.kind == "server" and exc.value.transient and exc.value.counts.created == 3
    with pipe.db.connect() as conn:
        assert list(all_cursors(conn, client_for(dhis2).base).values()) == [at(3)]
    state.on_request = None
    counts = run(pipe, dhis2, mapping)
    assert (counts.created, counts.ignored) == (4, 1) and len(stored_keys(pipe)) == 7


@pytest.mark.parametrize("strict", [False, True], ids=["updatedAfter >=", "updatedAfter >"])
def test_no_event_is_lost_at_a_page_boundary_inside_one_millisecond(dhis2, state, pipe, mapping, pyramid, strict):
    state.strict = strict
    same = at(5, 123)
    state.events = [signal_event(f"EvtSame{i:04d}", uid(pyramid), same) for i in range(1, 8)]
    state.events.append(signal_event("EvtLater001", uid(pyramid), at(6)))
    counts = run(pipe, dhis2, mapping, page_size=3)
    assert counts.created == 8 and counts.rejected == 0


def test_an_event_updated_during_the_run_shifts_no_other_event_out_of_reach(dhis2, state, pipe, mapping, pyramid):
    """Plain page numbers would skip one event here: the first event moves to the end of the
    updatedAt order while page 2 is read. Reading by key does not."""
    state.events = [signal_event(f"EvtLive{i:04d}", uid(pyramid), at(i)) for i in range(1, 10)]
    calls = []

    def sync_on_tablet(st, path, params):
        if path == "/api/tracker/events":
            calls.append(params)
            if len(calls) == 2:
                st.touch("EvtLive0001", at(40))
    state.on_request = sync_on_tablet
    counts = run(pipe, dhis2, mapping, page_size=3)
    assert stored_keys(pipe) == {f"dhis2:EvtLive{i:04d}" for i in range(1, 10)}
    assert counts.created == 9


def test_a_server_ignoring_order_is_read_by_page_number_and_the_cursor_saved_at_the_end(dhis2, state, pipe,
                                                                                        mapping, pyramid):
    state.honour_order = False
    stamps = [7, 2, 9, 1, 5, 3, 8]
    state.events = [signal_event(f"EvtAny{m:05d}", uid(pyramid), at(m)) for m in stamps]
    saved = []
    counts = run(pipe, dhis2, mapping, page_size=3,
                 on_page=lambda program, n, c: saved.append(all_cursors(pipe.db.connect(), client_for(dhis2).base)))
    assert counts.created == 7
    assert saved[:-1] == [{}] * (len(saved) - 1) and saved[-1] == {"SbcSignal01": at(9)}


def test_unmapped_stage_is_ignored_and_a_bad_event_rejected_once(dhis2, state, pipe, mapping, pyramid):
    state.events = [signal_event("EvtStage001", uid(pyramid), at(1), stage="OtherStage1"),
                    signal_event("EvtBadDis01", uid(pyramid), at(2), disease="LEPRE"),
                    signal_event("EvtGood0001", uid(pyramid), at(3))]
    counts = run(pipe, dhis2, mapping)
    assert (counts.created, counts.ignored, counts.rejected) == (1, 1, 1)
    run(pipe, dhis2, mapping)
    with pipe.db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(rejected_items)).scalar_one() == 1


FAILURES = [  # (what the server does, kind, words of the message)
    ({"fail_next": [401]}, "auth", "refused the credentials (401)"),
    ({"fail_next": [403]}, "auth", "denies this user access (403)"),
    ({"fail_next": [502]}, "server", "answered 502"),
    ({"fail_next": [429]}, "server", "answered 429"),
    ({"fail_next": ["html"]}, "protocol", "text/html, not JSON"),
    ({"fail_next": ["reset"]}, "network", "cannot reach DHIS2"),
]


@pytest.mark.parametrize("script,kind,says", FAILURES, ids=[f[1] + ":" + f[2] for f in FAILURES])
def test_failures_are_one_error_with_a_kind(dhis2, state, script, kind, says):
    for name, value in script.items():
        setattr(state, name, value)
    with client_for(dhis2) as client, pytest.raises(PullError) as exc:
        client.version()
    assert exc.value.kind == kind and says in str(exc.value)
    assert TOKEN not in str(exc.value)


def test_wrong_token_and_basic_auth(dhis2):
    with Dhis2Client(dhis2.url, auth_header("d2pat_wrong", None, None)) as client, pytest.raises(PullError) as exc:
        client.version()
    assert exc.value.kind == "auth" and exc.value.status == 401 and "Unauthorized" in str(exc.value)
    with Dhis2Client(dhis2.url, auth_header(None, USER, PASSWORD)) as client:
        assert client.version() == (2, 40)
    assert dhis2.state.requests[-1][2].startswith("Basic ")


def test_a_409_names_the_server_s_reason(dhis2, pipe, mapping):
    with client_for(dhis2) as client, pytest.raises(PullError) as exc:
        pull_events(pipe, client, mapping, server=client.base, root="x", programs=["NoSuchProg1"])
    assert exc.value.kind == "refused" and "Program is specified but does not exist: NoSuchProg1" in str(exc.value)


def test_a_slow_page_beyond_the_timeout_is_a_network_failure(dhis2, state, pipe, mapping, pyramid):
    state.events = [signal_event("EvtSlow0001", uid(pyramid), at(1))]
    state.delay = 0.2
    assert run(pipe, dhis2, mapping).created == 1  # slow but within the timeout
    state.delay = 1.5
    with client_for(dhis2, timeout=0.3) as client, pytest.raises(PullError) as exc:
        pull_events(pipe, client, mapping, server=client.base, root="x", programs=["SbcSignal01"])
    assert exc.value.kind == "network" and "within 0.3s" in str(exc.value)


def test_a_next_page_link_to_another_server_is_not_followed(dhis2, state, units):
    state.org_units = units
    original = dhis2.httpd.RequestHandlerClass.base
    dhis2.httpd.RequestHandlerClass.base = "http://evil.example.org/dhis"
    try:
        with client_for(dhis2) as client, pytest.raises(PullError) as exc:
            fetch_org_units(client, page_size=5)
    finally:
        dhis2.httpd.RequestHandlerClass.base = original
    assert exc.value.kind == "protocol" and "evil.example.org" in str(exc.value)
    assert len(dhis2.requests_to("/api/organisationUnits")) == 1


def test_create_update_delete_cycle_keeps_the_counts_in_step(dhis2, state, pipe, mapping, pyramid):
    """A tablet's event is created, corrected (later updatedAt, new count), then deleted in DHIS2:
    each pull moves SEBAC's counts with it, and the report is never physically lost."""
    import datetime as dt

    from detectors.repository import DetectorRepository

    def counted():
        with pipe.db.connect() as conn:
            area = pipe.pyramid.ancestor_at(pipe.pyramid.resolve(uid(pyramid)).id, "health_area").id
            return sum(DetectorRepository().daily_cases(conn, "health_area", area, "cholera",
                                                        dt.date(2026, 11, 1), dt.date(2026, 11, 30)).values())

    state.events = [signal_event("EvtCycle001", uid(pyramid), at(1), cases="2"),
                    signal_event("EvtCycle002", uid(pyramid), at(2), cases="1")]
    first = run(pipe, dhis2, mapping)
    assert (first.created, counted()) == (2, 3)
    state.touch("EvtCycle001", at(10), dataValues=signal_event("x", "y", at(10), cases="5")["dataValues"])
    second = run(pipe, dhis2, mapping)
    assert (second.created, second.updated, counted()) == (0, 1, 6)
    state.touch("EvtCycle002", at(20), deleted=True)
    third = run(pipe, dhis2, mapping)
    assert (third.updated, third.deleted, counted()) == (0, 1, 5)
    assert third.line() == "created 0, updated 0, deleted 1, ignored 1, rejected 0"  # EvtCycle001 via the overlap
    assert dhis2.requests_to("/api/tracker/events")[-1]["includeDeleted"] == "true"
    with pipe.db.connect() as conn:
        rows = {r.idempotency_key: (r.state, r.version, r.cases) for r in conn.execute(sa.select(reports))}
    assert rows == {"dhis2:EvtCycle001": ("active", 2, 5), "dhis2:EvtCycle002": ("retracted", 2, 1)}
    assert run(pipe, dhis2, mapping).line() == "created 0, updated 0, deleted 0, ignored 1, rejected 0"
