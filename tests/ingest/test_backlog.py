"""Backlog replay (CSV / NDJSON), the `sebac replay` and `sebac load-history` commands, history counts."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from ingest.backlog import lines_of, read_backlog, replay
from ingest.history import history_counts, parse_history_csv, store_history
from tests.conftest import NOW

CSV = """client_id,orgunit_id,disease,cases,onset_date,report_date,sex,age_group
b-1,ML-MOP-DJENNE-MOUGNA-S1,malaria,4,2026-11-16,2026-11-17,F,5+
b-2,ML-MOP-DJENNE-MOUGNA-S2,acute_diarrhoea,2,2026-11-02,,,
b-3,ML-NOWHERE,malaria,1,2026-11-16,,,
b-4,ML-MOP-DJENNE-MOUGNA-S1,malaria,-2,2026-11-16,,,
b-5,ML-MOP-DJENNE-MOUGNA-S1,malaria,1,2026-11-16,,,,extra
"""


def test_csv_backlog_accepts_valid_lines_and_keeps_bad_ones(pipeline):
    summary = replay(pipeline, read_backlog(lines_of(CSV), "csv"))
    assert (summary.accepted, summary.duplicate, summary.rejected, summary.late) == (2, 0, 3, 1)
    assert [(e["line"], e["errors"][0]["key"]) for e in summary.errors] == [
        (4, "report.orgunit.unknown"), (5, "report.count.negative"), (6, "csv.row.invalid")]
    again = replay(pipeline, read_backlog(lines_of(CSV), "csv"))
    assert (again.accepted, again.duplicate, again.rejected) == (0, 2, 3)
    with pipeline.db.connect() as conn:
        assert pipeline.reports.count(conn) == 2 and pipeline.rejected.count(conn) == 6


def test_ndjson_backlog_keeps_original_idempotency_keys(pipeline):
    assert pipeline.submit({"client_id": "h-1", "orgunit_id": "ML-MOP-DJENNE-MOUGNA-S1", "disease": "malaria",
                            "cases": 2, "onset_date": "2026-11-18"}).status == "accepted"
    lines = [json.dumps({"idempotency_key": "http:h-1", "client_id": "h-1", "orgunit_id": "ML-MOP-DJENNE-MOUGNA-S1",
                         "disease": "malaria", "cases": 2, "onset_date": "2026-11-18"}),
             "",
             '{"client_id": "h-2", "orgunit_id": ',
             "[1, 2]",
             json.dumps({"client_id": "h-3", "orgunit_id": "ML-MOP-DJENNE-MOUGNA-S2", "disease": "ili", "cases": 1,
                         "onset_date": "2026-11-18"})]
    s = replay(pipeline, read_backlog(lines_of("\n".join(lines)), "ndjson"))
    assert (s.accepted, s.duplicate, s.rejected) == (1, 1, 2)
    assert [(e["line"], e["errors"][0]["key"]) for e in s.errors] == [(3, "report.json.malformed"),
                                                                       (4, "report.format.invalid")]


def test_csv_without_report_header_is_refused():
    with pytest.raises(ValueError, match="csv.header.invalid"):
        list(read_backlog(lines_of("a,b\n1,2\n"), "csv"))


HISTORY = """area_id,disease,iso_year,iso_week,count
ML-MOP-DJENNE-MOUGNA,malaria,2024,45,31
ML-MOP-DJENNE-MOUGNA,malaria,2025,45,40
ML-MOP-DJENNE-MOUGNA,malaria,2020,53,12
ML-MOP-DJENNE-MOUGNA,malaria,2025,53,12
ML-NOWHERE,malaria,2025,44,3
ML-MOP-DJENNE-MOUGNA,zombie,2025,44,3
ML-MOP-DJENNE,malaria,2025,44,-1
ML-MOP-DJENNE,malaria,1999,10,1
"""


def test_history_rows_are_checked_and_upserted(db, pyramid, diseases):
    rows, errors = parse_history_csv(lines_of(HISTORY), pyramid, diseases)
    assert [(r.iso_year, r.iso_week, r.count) for r in rows] == [(2024, 45, 31), (2025, 45, 40), (2020, 53, 12)]
    assert [(n, e.key) for n, e in errors] == [(5, "csv.row.invalid"), (6, "report.orgunit.unknown"),
                                               (7, "report.disease.unknown"), (8, "report.count.negative"),
                                               (9, "report.date.too_old")]
    with db.begin() as conn:
        store_history(conn, rows, now=NOW)
        store_history(conn, parse_history_csv(lines_of(
            "orgunit_id,disease,year,week,cases\nML-MOP-DJENNE-MOUGNA,malaria,2025,45,41\n"), pyramid, diseases)[0],
            now=NOW)
        assert history_counts(conn, "ML-MOP-DJENNE-MOUGNA", "malaria") == [(2020, 53, 12), (2024, 45, 31),
                                                                           (2025, 45, 41)]
        assert history_counts(conn, "ML-MOP-DJENNE-MOUGNA", "cholera") == []


def test_cli_replay_and_load_history(tmp_path, db_url, monkeypatch):
    from sebac.cli import app

    monkeypatch.setenv("SEBAC_DATABASE_URL", db_url)
    monkeypatch.chdir(tmp_path)  # no stray .env
    backlog = tmp_path / "backlog.csv"
    backlog.write_text(CSV)
    runner = CliRunner()
    out = runner.invoke(app, ["replay", str(backlog), "--quiet"])
    assert out.exit_code == 0, out.output
    assert "5 items: 2 accepted, 0 duplicate, 3 rejected" in out.stdout
    out = runner.invoke(app, ["replay", str(backlog), "--quiet"])
    assert "5 items: 0 accepted, 2 duplicate, 3 rejected" in out.stdout
    hist = tmp_path / "history.csv"
    hist.write_text(HISTORY)
    out = runner.invoke(app, ["load-history", str(hist)])
    assert out.exit_code == 0 and "3 weekly counts stored, 5 rows rejected" in out.stdout
