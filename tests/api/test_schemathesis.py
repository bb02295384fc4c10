"""schemathesis against the live app: every operation of the OpenAPI document (except logout, which
would revoke the token the run uses), all four phases (examples, coverage, fuzzing, stateful), with a
real admin token, and the check ``not_a_server_error``: whatever it generates, no answer is a 5xx.

The count of generated cases is ``SEBAC_SCHEMATHESIS_CASES``; in CI (``SEBAC_REQUIRE_SERVERS=1``) at
least 10,000, locally 2,000 by default (about half a minute). The run's JSON report gives the count,
and the test fails when fewer were generated than asked.

Two gateways have a secret (sent in every request's ``X-Sebac-Secret`` header, so fuzzing reaches the
SMS parsers); Telerivet has none, so its webhook is the "unconfigured gateway": a 404 with its key.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from sebac.engine import build_app
from sebac.settings import Settings
from tests.api.alerts_helpers import PASSWORD, cheap_hashing, make_user  # noqa: F401 (fixture)
from tests.conftest import LiveServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SECRET = "fuzz-secret-0123456789"
CI_CASES = 10_000


def wanted_cases() -> int:
    if os.environ.get("SEBAC_SCHEMATHESIS_CASES"):
        return int(os.environ["SEBAC_SCHEMATHESIS_CASES"])
    return CI_CASES if os.environ.get("SEBAC_REQUIRE_SERVERS") == "1" or os.environ.get("CI") else 2_000


def schemathesis() -> list[str]:
    """The CLI, run through tests/api/schemathesis_cli.py (serialises ``ast.parse``, CPython gh-106905)."""
    try:
        import schemathesis.cli  # noqa: F401
    except ImportError:
        pytest.fail("schemathesis is not installed (pip install -e '.[test]')")
    return [sys.executable, str(Path(__file__).with_name("schemathesis_cli.py"))]


@pytest.fixture
def fuzzed_app(tmp_path, clock, cheap_hashing):  # noqa: F811
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'fuzz.db'}", environment="test",
                        sms_rapidpro_secret=SECRET, sms_generic_secret=SECRET)
    with LiveServer(build_app(settings, clock)) as server:
        yield server


def test_no_generated_request_gets_a_server_error(fuzzed_app, tmp_path):
    make_user(fuzzed_app, "fuzz.admin", "admin", "ML")
    r = httpx.post(f"{fuzzed_app.url}/api/v1/auth/token", json={"username": "fuzz.admin", "password": PASSWORD})
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    spec = httpx.get(f"{fuzzed_app.url}/openapi.json").json()
    operations = sum(len(ops) for ops in spec["paths"].values())
    cases = wanted_cases()
    report = tmp_path / "schemathesis.json"
    per_operation = max(10, cases // 30)  # coverage and stateful add to fuzzing's count; checked below
    cmd = schemathesis() + [
        "run", f"{fuzzed_app.url}/openapi.json", "--checks", "not_a_server_error",
        "--phases", "examples,coverage,fuzzing,stateful", "--max-examples", str(per_operation),
        "--header", f"Authorization: Bearer {token}", "--header", f"X-Sebac-Secret: {SECRET}",
        "--exclude-path", "/api/v1/auth/logout", "--workers", "2", "--seed", "17", "--no-shrink",
        "--warnings", "off", "--report", "json", "--report-json-path", str(report)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, check=False, cwd=tmp_path)  # its cache too
    out = res.stdout[-20_000:] + res.stderr[-5_000:]
    assert report.exists(), out
    run = json.loads(report.read_text())
    assert run["complete"] and run["operations"]["tested"] == operations - 1, out  # all but logout
    assert run["failures"] == [] and run["errors"] == [], out
    assert res.returncode == 0, out
    generated = run["test_cases"]["generated"]
    assert generated >= cases, f"only {generated} cases generated, {cases} wanted"
    print(f"schemathesis: {generated} cases over {operations - 1} operations, 0 server errors")
