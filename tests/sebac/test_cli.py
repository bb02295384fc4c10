"""The ``sebac`` entry point as a user types it: one database for every command, one-line errors, non-zero exits."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration  # runs `python -m sebac` in subprocesses


def sebac(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if not k.startswith("SEBAC_")} | (env or {})
    return subprocess.run([sys.executable, "-m", "sebac", *args], cwd=cwd, env=full, capture_output=True,
                          text=True, timeout=120)


BAD = [  # (arguments, environment, what the one line says)
    (["replay", "missing.csv"], {}, "'missing.csv' does not exist"),
    (["replay"], {}, "Missing argument 'FILE'"),
    (["serve", "--port", "0"], {}, "--port"),
    (["users", "create", "--username", "x"], {}, "Missing option '--role'"),
    (["no-such-command"], {}, "No such command"),
    (["evaluate-week", "--week", "W47"], {}, "--week must look like 2026-W47"),
    (["evaluate-week", "--level", "village"], {}, "unknown level(s) village"),
    (["migrate"], {"SEBAC_PORT": "abc"}, "SEBAC_PORT: Input should be a valid integer"),
    (["migrate"], {"SEBAC_DATABASE_URL": "mysql://x"}, "SEBAC_DATABASE_URL"),
    (["users", "list"], {"SEBAC_RULES_PATH": "nowhere.yaml"}, "nowhere.yaml"),
]


@pytest.mark.parametrize("args,env,says", BAD, ids=[" ".join(a) for a, _, _ in BAD])
def test_bad_arguments_exit_non_zero_with_one_line(tmp_path, args, env, says):
    r = sebac(*args, cwd=tmp_path, env=env)
    assert r.returncode != 0, r
    errors = [line for line in r.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and says.lower() in errors[0].lower(), r.stderr
    assert "Traceback" not in r.stderr and "Usage:" not in r.stderr


def test_every_command_names_and_uses_the_same_default_database(tmp_path):
    r = sebac("users", "create", "--username", "epi.djenne", "--role", "district", "--orgunit", "ML-MOP-DJENNE",
              cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "database: sqlite:///./data/sebac.db" in r.stderr
    assert (tmp_path / "data" / "sebac.db").exists()
    listed = sebac("users", "list", cwd=tmp_path)
    assert "database: sqlite:///./data/sebac.db" in listed.stderr and "epi.djenne" in listed.stdout
    assert "database: sqlite:///./data/sebac.db" in sebac("migrate", cwd=tmp_path).stderr
