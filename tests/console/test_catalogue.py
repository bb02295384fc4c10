"""Every console string has a French translation, and the page data functions work without a browser."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from console.chart import weekly_chart
from console.i18n import LOCALE_DIR, catalogue, page_lang

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.integration  # babel in a subprocess
def test_every_template_and_code_string_has_a_french_translation(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "console/babel.cfg", "-k", "N_",
                    "--no-location", "--omit-header", "-o", str(pot), "."], cwd=ROOT, check=True,
                   capture_output=True)
    wanted = {m.id for m in read_po(pot.open("rb")) if m.id}
    fr = {m.id: m.string for m in read_po((LOCALE_DIR / "fr/LC_MESSAGES/messages.po").open("rb"), locale="fr")}
    assert len(wanted) > 80
    assert sorted(w for w in wanted if not fr.get(w)) == []
    assert catalogue("fr").gettext("Log in") == "Se connecter" and catalogue("en").gettext("Log in") == "Log in"


def test_language_profile_then_browser_then_french():
    assert page_lang("en", "fr") == "en"
    assert page_lang(None, "en-GB,en;q=0.9") == "en"
    assert page_lang(None, "de") == "fr" and page_lang(None, None) == "fr"


def test_chart_marks_the_alert_week_and_breaks_the_threshold_where_there_is_none():
    c = weekly_chart(["2026-W47", "2026-W48", "2026-W49"], [1, 0, 7], [2.0, None, 3.5], "2026-W49")
    assert [b["alert"] for b in c["bars"]] == [False, False, True]
    assert len(c["threshold"]) == 2  # a gap at W48
    assert c["bars"][2]["h"] > c["bars"][0]["h"] and c["bars"][1]["h"] == 0
    assert c["ticks"][-1]["label"] == "10"
