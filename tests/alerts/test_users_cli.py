"""``sebac users create|list|api-key`` against a real SQLite file."""
from __future__ import annotations

from typer.testing import CliRunner

from sebac.cli import app


def test_users_cli(tmp_path, monkeypatch):
    monkeypatch.setenv("SEBAC_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    run = CliRunner().invoke
    r = run(app, ["users", "create", "--username", "epi.djenne", "--role", "district", "--orgunit", "ML-MOP-DJENNE",
                  "--phone", "+223 70 00 00 03", "--email", "epi@djenne.ml", "--notify", "sms,email"])
    assert r.exit_code == 0, r.output
    assert "user epi.djenne (district at ML-MOP-DJENNE) created" in r.output and "password: " in r.output
    r = run(app, ["users", "create", "--username", "x.mopti", "--role", "district", "--orgunit", "ML-MOP",
                  "--password", "long-enough-pass"])
    assert r.exit_code == 1 and "user.orgunit.levelMismatch" in r.output
    r = run(app, ["users", "list"])
    assert "epi.djenne" in r.output and "+22370000003" in r.output and "x.mopti" not in r.output
    r = run(app, ["users", "api-key", "--name", "tablet 3", "--kind", "device"])
    assert r.exit_code == 0 and "sbk_" in r.output
    r = run(app, ["users", "api-key", "--name", "x", "--kind", "toaster"])
    assert r.exit_code == 1 and "apikey.kind.unknown" in r.output
