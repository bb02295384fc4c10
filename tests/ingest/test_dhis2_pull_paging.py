"""Pure logic of the DHIS2 pull: page shapes, the pager, the event cursor, backoff, option parsing."""
from __future__ import annotations

import pytest

from ingest.dhis2_pull.client import auth_header, parse_version, server_key
from ingest.dhis2_pull.paging import (EventPaging, PageError, PageStep, events_of, format_instant,
                                      next_org_unit_page, parse_instant, parse_interval, retry_delay)


def ev(uid, at):
    return {"event": uid, "updatedAt": at}


T = "2026-11-18T10:00:0{}.000"


@pytest.mark.parametrize("doc,want", [
    ({"page": 1, "pageSize": 2, "instances": [1, 2]}, [1, 2]),                 # 2.36 - 2.40
    ({"pager": {"page": 1, "pageSize": 2}, "events": [3]}, [3]),               # 2.41+
    ({"pager": {"page": 1}, "instances": [], "events": [4]}, []),
])
def test_events_of_reads_both_shapes(doc, want):
    assert events_of(doc) == want


@pytest.mark.parametrize("doc", [{}, {"events": {}}, {"trackedEntities": []}])
def test_events_of_refuses_other_shapes(doc):
    with pytest.raises(PageError):
        events_of(doc)


@pytest.mark.parametrize("doc,page,want", [
    ({"pager": {"page": 1, "pageCount": 3, "nextPage": "http://h/api/organisationUnits?page=2"}}, 1,
     "http://h/api/organisationUnits?page=2"),
    ({"pager": {"page": 2, "pageCount": 3}}, 2, 3),        # no link: page + 1 while below pageCount
    ({"pager": {"page": 3, "pageCount": 3}}, 3, None),
    ({"organisationUnits": []}, 1, None),                  # paging=false: one answer
])
def test_next_org_unit_page(doc, page, want):
    assert next_org_unit_page(doc, page) == want


@pytest.mark.parametrize("text,want", [
    ("2026-11-18T10:00:00.370", "2026-11-18T10:00:00.370"),
    ("2026-11-18T10:00:00.37", "2026-11-18T10:00:00.370"),
    ("2026-11-18T10:00:00Z", "2026-11-18T10:00:00.000"),
    ("2026-11-18T12:00:00+02:00", "2026-11-18T10:00:00.000"),
    ("2026-11-18", "2026-11-18T00:00:00.000"),
])
def test_instants_read_and_written_as_dhis2_does(text, want):
    assert format_instant(parse_instant(text)) == want


@pytest.mark.parametrize("text", [None, "", "yesterday", 42])
def test_unreadable_instants_are_none(text):
    assert parse_instant(text) is None


# (cursor, pages read in order, [(ids to import, cursor to save, done, next request's page/updatedAfter)])
PAGING = [
    ("first run: no cursor, two pages by key",
     None, 2,
     [[ev("a", T.format(1)), ev("b", T.format(2))], [ev("c", T.format(3))]],
     [(["a", "b"], T.format(2), False, (1, "2026-11-18T10:00:01.999")),
      (["c"], T.format(3), True, (1, "2026-11-18T10:00:02.999"))]),
    ("the overlap brings the cursor's own event back: skipped, not re-imported",
     T.format(2), 2,
     [[ev("b", T.format(2)), ev("c", T.format(3))], [ev("c", T.format(3))]],
     [(["b", "c"], T.format(3), False, (1, "2026-11-18T10:00:02.999")), ([], None, True, (2, None))]),
    ("a page of one millisecond: read on by page number, cursor kept",
     None, 2,
     [[ev("a", T.format(1)), ev("b", T.format(1))], [ev("a", T.format(1)), ev("b", T.format(1))],
      [ev("c", T.format(1)), ev("d", T.format(2))]],
     [(["a", "b"], T.format(1), False, (1, "2026-11-18T10:00:00.999")), ([], None, False, (2, None)),
      (["c", "d"], T.format(2), False, (1, "2026-11-18T10:00:01.999"))]),
    ("a new version of a taken event is taken again",
     None, 3,
     [[ev("a", T.format(1)), ev("b", T.format(2)), ev("c", T.format(3))], [ev("a", T.format(4))]],
     [(["a", "b", "c"], T.format(3), False, (1, None)), (["a"], T.format(4), True, (1, None))]),
    ("the server ignores order: page numbers from the same start, cursor saved at the end only",
     T.format(0), 2,
     [[ev("b", T.format(3)), ev("a", T.format(1))], [ev("c", T.format(2)), ev("d", T.format(5))],
      [ev("e", T.format(4))]],
     [(["b", "a"], None, False, (2, "2026-11-18T09:59:59.999")),
      (["c", "d"], None, False, (3, "2026-11-18T09:59:59.999")),
      (["e"], T.format(5), True, (4, "2026-11-18T09:59:59.999"))]),
]


@pytest.mark.parametrize("cursor,size,pages,want", [c[1:] for c in PAGING], ids=[c[0] for c in PAGING])
def test_event_paging(cursor, size, pages, want):
    paging = EventPaging(cursor, page_size=size)
    for page, (ids, saved, done, (next_page, after)) in zip(pages, want):
        step = paging.take(page)
        assert ([e["event"] for e in step.fresh], step.cursor, step.done) == (ids, saved, done)
        params = paging.params()
        assert params["page"] == next_page and params["order"] == "updatedAt:asc"
        if after is not None:
            assert params["updatedAfter"] == after


def test_first_request_has_no_updated_after_then_the_cursor_minus_one_millisecond():
    assert "updatedAfter" not in EventPaging(None).params()
    assert EventPaging("2026-11-18T10:00:00.000").params()["updatedAfter"] == "2026-11-18T09:59:59.999"


def test_a_server_repeating_one_full_page_is_an_error_not_a_loop():
    paging = EventPaging(None, page_size=2)
    page = [ev("a", T.format(1)), ev("b", T.format(1))]
    paging.take(page)
    with pytest.raises(PageError, match="no new event"):
        for _ in range(20):
            paging.take(page)


def test_a_bad_cursor_or_page_size_is_refused():
    with pytest.raises(ValueError):
        EventPaging("yesterday")
    with pytest.raises(ValueError):
        EventPaging(None, page_size=0)


def test_step_is_a_value():
    assert EventPaging(None, page_size=5).take([]) == PageStep([], None, True)


@pytest.mark.parametrize("attempt,want", [(0, 5), (1, 10), (2, 20), (3, 40), (6, 300), (100, 300)])
def test_retry_delay_doubles_up_to_the_cap(attempt, want):
    assert retry_delay(attempt, 5, 300) == want


@pytest.mark.parametrize("text,want", [("90", 90), ("30s", 30), ("5m", 300), ("2h", 7200), ("1d", 86400),
                                       ("0.5s", 0.5), (" 5M ", 300)])
def test_parse_interval(text, want):
    assert parse_interval(text) == want


@pytest.mark.parametrize("text", ["", "0", "5x", "-5m", "m", "five minutes"])
def test_parse_interval_refuses(text):
    with pytest.raises(ValueError):
        parse_interval(text)


@pytest.mark.parametrize("text,want", [("2.40.4", (2, 40)), ("2.41-SNAPSHOT", (2, 41)), ("v42.1", (2, 42)),
                                       ("2.36.13.1", (2, 36)), ("", None), (None, None), ("dev", None)])
def test_parse_version(text, want):
    assert parse_version(text) == want


@pytest.mark.parametrize("url,want", [
    ("https://DHIS2.example.org/", "https://dhis2.example.org"),
    ("https://dhis2.example.org/dhis/api", "https://dhis2.example.org/dhis"),
    ("http://127.0.0.1:8080/dhis/", "http://127.0.0.1:8080/dhis"),
])
def test_server_key(url, want):
    assert server_key(url) == want


@pytest.mark.parametrize("url", ["dhis2.example.org", "ftp://h", "https://admin:district@h.org"])
def test_server_key_refuses(url):
    with pytest.raises(ValueError):
        server_key(url)


@pytest.mark.parametrize("args,want", [
    (("d2pat_abc", None, None), "ApiToken d2pat_abc"),
    ((None, "admin", "district"), "Basic YWRtaW46ZGlzdHJpY3Q="),
])
def test_auth_header(args, want):
    assert auth_header(*args) == want


@pytest.mark.parametrize("args", [(None, None, None), ("abc", None, None), ("d2pat_x", "u", "p"),
                                  (None, "admin", None)])
def test_auth_header_refuses(args):
    with pytest.raises(ValueError):
        auth_header(*args)


def test_doctests_of_the_paging_module():
    import doctest

    import ingest.dhis2_pull.paging as paging

    result = doctest.testmod(paging)
    assert result.attempted >= 4 and result.failed == 0
