"""The generated parts of the documentation site: the configuration reference and doctest blocks."""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Literal

import pytest
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from sebac.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"docs_{name}", ROOT / "deploy" / "docs" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


reference = _load("settings_reference")
doctests = _load("doctest_blocks")


def _table_rows(markdown: str) -> dict[str, list[str]]:
    """``{env name: [type, default, description]}`` from the rendered per-domain tables."""
    rows = {}
    for line in markdown.splitlines():
        m = re.match(r"^\| `(SEBAC_[A-Z0-9_]+)` \| (.*) \|$", line)
        if m:
            rows[m.group(1)] = [c.strip() for c in re.split(r"(?<!\\)\|", m.group(2))]
    return rows


def test_every_setting_has_one_row_with_its_env_name_and_a_description():
    rows = _table_rows(reference.render(Settings))
    expected = {f"SEBAC_{name.upper()}" for name in Settings.model_fields}
    assert set(rows) == expected
    undocumented = sorted(env for env, (_, _, description) in rows.items() if not description)
    assert undocumented == [], "give these settings a description= in sebac/settings.py"


@pytest.mark.parametrize(("env", "type_text", "default"), [
    ("SEBAC_PORT", "integer (≥ 1, ≤ 65535)", "`8000`"),
    ("SEBAC_ENVIRONMENT", "one of `development`, `production`, `test`", "`development`"),
    ("SEBAC_BROKER", "string", "unset"),
    ("SEBAC_PYRAMID_PATH", "path", "unset"),
    ("SEBAC_SMTP_STARTTLS", "boolean", "`false`"),
    ("SEBAC_STREAM_BATCH_SECONDS", "number (> 0, ≤ 10)", "`0.05`"),
    ("SEBAC_SMS_DEFAULT_LANG", "string (matches `^[a-z]{2,3}$`)", "`fr`"),
])
def test_types_bounds_and_defaults_come_from_the_model(env, type_text, default):
    assert _table_rows(reference.render(Settings))[env][:2] == [type_text, default]


class _Extra(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SEBAC_")
    console_page_size: int = Field(default=100, ge=10, description="rows per inbox page")
    tuning_mode: Literal["a|b", "c"] = Field(default="c", description="pipes | escaped")
    stray: float = 2.5


def test_a_new_field_appears_without_editing_any_page():
    text = reference.render(_Extra)
    rows = _table_rows(text)
    assert rows["SEBAC_CONSOLE_PAGE_SIZE"] == ["integer (≥ 10)", "`100`", "rows per inbox page"]
    assert "### Console" in text and "### Other" in text          # the section map, and unmapped fields
    assert rows["SEBAC_STRAY"] == ["number", "`2.5`", ""]
    assert r"pipes \| escaped" in text                             # a pipe never splits a table cell


@pytest.mark.parametrize(("name", "domain"), [
    ("database_url", "Database"),
    ("sms_gateway_url", "Notifications (outgoing SMS, email, outbox)"),   # outgoing, before incoming sms_
    ("sms_telerivet_secret", "SMS (incoming) and CHW registry"),
    ("stream_partitions", "Streaming (Kafka and faust workers)"),
    ("broker", "Streaming (Kafka and faust workers)"),
    ("brokers_extra", "Other"),                                         # exact names are not prefixes
])
def test_domain_map(name, domain):
    assert reference.domain_of(name) == domain


def test_every_setting_is_tagged_with_a_domain_the_page_has_a_section_for():
    from sebac.settings import DOMAINS, domain_of

    tags = {name: domain_of(info) for name, info in Settings.model_fields.items()}
    assert sorted(n for n, tag in tags.items() if tag is None) == []
    assert set(tags.values()) <= set(DOMAINS) == set(reference.TITLES)
    assert list(DOMAINS) == [key for key, _, _ in reference.DOMAINS]   # one order for the model and the page


@pytest.mark.parametrize(("env", "section"), [
    ("SEBAC_SMS_OUTBOUND", "Notifications (outgoing SMS, email, outbox)"),   # outgoing, by its tag
    ("SEBAC_SMS_TELERIVET_API_KEY", "Notifications (outgoing SMS, email, outbox)"),
    ("SEBAC_SMS_TELERIVET_SECRET", "SMS (incoming) and CHW registry"),
    ("SEBAC_AUTH_TOKEN_HOURS", "Console and logins"),
    ("SEBAC_BROKER", "Streaming (Kafka and faust workers)"),
])
def test_sections_follow_the_tags(env, section):
    text = reference.render(Settings)
    heading = text.index(f"### {section}\n")
    following = text.find("\n### ", heading + 1)
    assert f"| `{env}` |" in text[heading:following if following > 0 else None]


def test_a_domain_reads_as_a_group():
    s = Settings(stream_partitions=4)
    assert s.domain("database") == {"database_url": s.database_url}
    assert s.domain("streaming")["stream_partitions"] == 4
    assert "auth_token_hours" in Settings.fields_of("console")


def test_the_hook_fills_only_the_marker():
    page = f"# Configuration\n\n{reference.MARKER}\n"
    filled = reference.on_page_markdown(page, None, None, None)
    assert reference.MARKER not in filled and "`SEBAC_DATABASE_URL`" in filled
    assert reference.on_page_markdown("# Other page\n", None, None, None) == "# Other page\n"
    assert reference.MARKER in (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(("docstring", "expected"), [
    ("Text.\n\n>>> f(1)\n[0, 1]\n\nMore.",
     "Text.\n\n```pycon\n>>> f(1)\n[0, 1]\n```\n\nMore."),
    ("  >>> a = 1\n  ... b = 2\n  >>> a + b\n  3",
     "  ```pycon\n  >>> a = 1\n  ... b = 2\n  >>> a + b\n  3\n  ```"),
    ("```pycon\n>>> already fenced\n```", "```pycon\n>>> already fenced\n```"),
    ("No example here.", "No example here."),
])
def test_doctests_become_pycon_blocks(docstring, expected):
    assert doctests.fence_doctests(docstring) == expected


@pytest.mark.parametrize(("docstring", "expected"), [
    ("see :mod:`sebac.commands` and :func:`ingest.validation.validate_report`",
     "see `sebac.commands` and `ingest.validation.validate_report`"),
    (":class:`~alerts.service.AlertService` raises :exc:`ValueError`", "`AlertService` raises `ValueError`"),
    (":py:meth:`Pipeline.submit`", "`Pipeline.submit`"),
    ("``code`` and `x` stay", "``code`` and `x` stay"),
])
def test_sphinx_roles_become_code_spans(docstring, expected):
    assert doctests.plain_roles(docstring) == expected
