"""``sebac dhis2 pull`` as a user runs it, against a stand-in DHIS2 server on a real socket."""
from __future__ import annotations

import json
import re

import pytest

from tests.dhis2_standin import PASSWORD, TOKEN, USER, Dhis2State, StandInDhis2, mali_org_units, signal_event
from tests.sebac.test_cli import sebac

pytestmark = pytest.mark.integration
LINE = re.compile(r"^created (\d+), updated (\d+), deleted (\d+), ignored (\d+), rejected (\d+)$")


def counts(stdout: str) -> list[tuple[int, ...]]:
    return [tuple(int(x) for x in m.groups()) for m in map(LINE.match, stdout.splitlines()) if m]


@pytest.fixture
def state(pyramid):
    site = pyramid.get("ML-MOP-DJENNE-MOUGNA-S1").dhis2_uid
    events = [signal_event(f"EvtCli{i:05d}", site, f"2026-11-19T08:0{i}:00.000") for i in range(1, 6)]
    events.append(signal_event("EvtCliBad01", site, "2026-11-19T08:09:00.000", disease="LEPRE"))
    return Dhis2State(org_units=mali_org_units(pyramid), events=events, programs={"SbcSignal01", "SbcCholera1"})


@pytest.fixture
def dhis2(state):
    with StandInDhis2(state) as server:
        yield server


def env(tmp_path, **extra):
    return {"SEBAC_DATABASE_URL": f"sqlite:///{tmp_path / 'sebac.db'}", **extra}


def test_once_with_a_token_prints_the_counts_then_nothing_new(dhis2, tmp_path):
    r = sebac("dhis2", "pull", "--url", dhis2.url, "--once", "--save-orgunits", str(tmp_path / "ou.json"),
              cwd=tmp_path, env=env(tmp_path, DHIS2_TOKEN=TOKEN))
    assert r.returncode == 0, r.stderr
    assert counts(r.stdout) == [(5, 0, 0, 0, 1)]
    assert "DHIS2 2.40" in r.stderr and TOKEN not in r.stdout + r.stderr
    again = sebac("dhis2", "pull", "--url", dhis2.url, cwd=tmp_path, env=env(tmp_path, DHIS2_TOKEN=TOKEN))
    assert counts(again.stdout) == [(0, 0, 0, 1, 0)]  # the cursor's own event, through the overlap
    # the org units saved are a DHIS2 export the server (and --orgunits file) can load
    saved = json.loads((tmp_path / "ou.json").read_text())["organisationUnits"]
    assert len(saved) == len(dhis2.state.org_units)
    file_mode = sebac("dhis2", "pull", "--url", dhis2.url, "--orgunits", "file", cwd=tmp_path,
                      env=env(tmp_path, DHIS2_TOKEN=TOKEN, SEBAC_PYRAMID_PATH=str(tmp_path / "ou.json")))
    assert file_mode.returncode == 0 and counts(file_mode.stdout) == [(0, 0, 0, 1, 0)], file_mode.stderr


def test_basic_auth(dhis2, tmp_path):
    r = sebac("dhis2", "pull", "--url", dhis2.url, "--username", USER, cwd=tmp_path,
              env=env(tmp_path, DHIS2_PASSWORD=PASSWORD))
    assert r.returncode == 0 and counts(r.stdout) == [(5, 0, 0, 0, 1)], r.stderr
    assert PASSWORD not in r.stdout + r.stderr


BAD = [  # (arguments, environment, server script, what the one error line says)
    (["--token", "d2pat_notTheRightOne"], {}, {}, "DHIS2 refused the credentials (401)"),
    (["--token", "abc"], {}, {}, "personal access token (d2pat_"),
    (["--token", TOKEN, "--every", "5m", "--once"], {}, {}, "--once or --every, not both"),
    (["--token", TOKEN, "--every", "soon"], {}, {}, "not a duration"),
    (["--token", TOKEN], {}, {"fail_next": [403]}, "denies this user access (403)"),
    (["--token", TOKEN], {}, {"events_fail": 503}, "answered 503"),
    (["--token", TOKEN, "--timeout", "0.3"], {}, {"delay": 2.0}, "did not answer /dhis/api/tracker/events within 0.3s"),
    (["--token", TOKEN, "--every", "1s", "--backoff", "0.1s"], {}, {"fail_next": [401]},
     "refused the credentials (401)"),
    (["--token", TOKEN], {"SEBAC_DHIS2_MAPPING_PATH": "nowhere.yaml"}, {}, "nowhere.yaml"),
]


@pytest.mark.parametrize("args,extra,script,says", BAD, ids=[b[3] for b in BAD])
def test_failures_exit_non_zero_with_one_line(dhis2, state, tmp_path, args, extra, script, says):
    for name, value in script.items():
        if name == "events_fail":  # org units read, then the events page fails
            state.on_request = _fail_on_events(value)
        else:
            setattr(state, name, value)
    r = sebac("dhis2", "pull", "--url", dhis2.url, *args, cwd=tmp_path, env=env(tmp_path, **extra))
    assert r.returncode != 0, r
    errors = [line for line in r.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and says in errors[0], r.stderr
    assert "Traceback" not in r.stderr and TOKEN not in r.stderr


def _fail_on_events(status):
    def hook(st, path, params):
        if path == "/api/tracker/events":
            st.fail_next.append(status)
    return hook


def test_unreachable_server(tmp_path):
    from tests.servers import free_port

    r = sebac("dhis2", "pull", "--url", f"http://127.0.0.1:{free_port()}", "--token", TOKEN, cwd=tmp_path,
              env=env(tmp_path))
    assert r.returncode == 1 and r.stderr.splitlines()[-1].startswith("error: cannot reach DHIS2 at http://127.0.0.1:")


def test_every_retries_transient_failures_with_backoff_then_runs(dhis2, state, tmp_path):
    state.fail_next = [503, "reset", 502]
    r = sebac("dhis2", "pull", "--url", dhis2.url, "--token", TOKEN, "--every", "0.5s", "--backoff", "0.1s",
              "--runs", "2", cwd=tmp_path, env=env(tmp_path))
    assert r.returncode == 0, r.stderr
    retries = [line for line in r.stderr.splitlines() if line.startswith("warning: ")]
    assert [re.search(r"retry (\d+) in ([\d.]+)s", w).groups() for w in retries] == [
        ("1", "0.1"), ("2", "0.2"), ("3", "0.4")]
    assert "answered 503" in retries[0] and "cannot reach" in retries[1]
    assert counts(r.stdout) == [(5, 0, 0, 0, 1), (0, 0, 0, 1, 0)]
