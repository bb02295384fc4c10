"""The configuration reference, generated from ``sebac.settings.Settings``: never kept by hand.

Every field of the settings model becomes one row: its environment variable (the model's prefix and
the field name in capitals), its type with the bounds the model enforces, its default and its
description. Rows are grouped by domain: the domain each field is tagged with in the model
(``sebac.settings.setting``), in the order of ``DOMAINS``; a field without a tag goes where its name
says (``DOMAINS`` also maps names and name prefixes), and a field nothing names still appears, under
*Other*.

Used two ways:

* as a MkDocs hook (``hooks:`` in ``mkdocs.yml``): ``on_page_markdown`` replaces the marker
  ``<!-- settings-reference -->`` of ``docs/configuration.md`` with the tables;
* as a script: ``python deploy/docs/settings_reference.py`` prints the same Markdown.
"""
from __future__ import annotations

import enum
import sys
import types
import typing
from pathlib import Path
from typing import Any, Literal, Union

from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

MARKER = "<!-- settings-reference -->"

# (domain, section title, field names or prefixes ending in "_"), in the order of the page. A field
# tagged with a domain (``sebac.settings.setting``) goes to that domain's section; an untagged one to
# the section of the longest name or prefix it matches, else to *Other*.
DOMAINS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("server", "Server: environment, address, logging, request size", (
        "environment", "host", "port", "log_level", "metrics_cache_seconds", "max_body_bytes")),
    ("database", "Database", ("database_",)),
    ("reference", "Health pyramid, diseases and epi weeks", ("pyramid_", "diseases_", "epiweek_")),
    ("intake", "Intake: limits, lateness, duplicates, data quality", (
        "max_", "late_after_days", "duplicate_window_days", "promptness_deadline_days", "silent_after_days")),
    ("sms", "SMS (incoming) and CHW registry", ("sms_", "chw_", "translations_")),
    ("dhis2", "DHIS2", ("dhis2_",)),
    ("detectors", "Detectors", ("rules_", "detectors_", "typical_report_delay_", "reevaluation_")),
    ("alerts", "Alerts: escalation", ("escalation_",)),
    ("notifications", "Notifications (outgoing SMS, email, outbox)", ("outbox_", "sms_gateway_", "smtp_")),
    ("streaming", "Streaming (Kafka and faust workers)", ("broker", "stream_", "worker_")),
    ("console", "Console and logins", ("console_", "auth_")),
)
TITLES = {key: title for key, title, _ in DOMAINS}
OTHER = "Other"


def domain_of(name: str) -> str:
    """The section of an untagged field, from its name."""
    best, length = OTHER, 0
    for _, title, keys in DOMAINS:
        for k in keys:
            if (name.startswith(k) if k.endswith("_") else name == k) and len(k) > length:
                best, length = title, len(k)
    return best


def section_of(name: str, info: FieldInfo) -> str:
    """The section of a field: its tagged domain's, else the one its name says."""
    extra = info.json_schema_extra
    tag = extra.get("domain") if isinstance(extra, dict) else None
    if tag is None:
        return domain_of(name)
    if tag not in TITLES:
        raise ValueError(f"setting {name}: unknown domain {tag!r}; one of {', '.join(TITLES)}")
    return TITLES[str(tag)]


def env_name(settings_cls: type, name: str, info: FieldInfo) -> str:
    prefix = settings_cls.model_config.get("env_prefix", "")
    alias = info.validation_alias if isinstance(info.validation_alias, str) else None
    return (alias or f"{prefix}{name}").upper()


def type_text(annotation: Any) -> str:
    """A reader's name for a field's type: ``integer``, ``path``, ``one of `a`, `b```…; ``None`` is left out."""
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return "one of " + ", ".join(f"`{v}`" for v in typing.get_args(annotation))
    if origin in (Union, types.UnionType):
        parts = [type_text(a) for a in typing.get_args(annotation) if a is not type(None)]
        return " or ".join(parts)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return "one of " + ", ".join(f"`{m.value}`" for m in annotation)
    names = {bool: "boolean", int: "integer", float: "number", str: "string", Path: "path"}
    return names.get(annotation, getattr(annotation, "__name__", str(annotation)))


def bounds_text(info: FieldInfo) -> str:
    words = {"ge": "≥", "gt": ">", "le": "≤", "lt": "<"}
    found = []
    for meta in info.metadata:
        for attr, sign in words.items():
            value = getattr(meta, attr, None)
            if value is not None:
                found.append(f"{sign} {value:g}" if isinstance(value, float) else f"{sign} {value}")
        pattern = getattr(meta, "pattern", None)
        if pattern:
            found.append(f"matches `{pattern}`")
    return ", ".join(found)


def default_text(info: FieldInfo) -> str:
    if info.default is PydanticUndefined:
        return "required" if info.default_factory is None else "computed"
    value = info.default
    if value is None:
        return "unset"
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, float) and value.is_integer():
        return f"`{value:g}`"
    return f"`{value}`"


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def rows(settings_cls: type) -> list[dict[str, str]]:
    out = []
    for name, info in settings_cls.model_fields.items():
        kind = type_text(info.annotation)
        bounds = bounds_text(info)
        out.append({
            "name": name,
            "env": env_name(settings_cls, name, info),
            "type": f"{kind} ({bounds})" if bounds else kind,
            "default": default_text(info),
            "description": info.description or "",
            "domain": section_of(name, info),
        })
    return out


def render(settings_cls: type | None = None) -> str:
    """The reference as Markdown: a section map, then one table per domain."""
    if settings_cls is None:
        from sebac.settings import Settings as settings_cls
    table = rows(settings_cls)
    titles = [t for _, t, _ in DOMAINS] + [OTHER]
    present = [t for t in titles if any(r["domain"] == t for r in table)]
    source = f"{settings_cls.__module__}.{settings_cls.__qualname__}"
    lines = [f"{len(table)} settings, generated from `{source}` when the site is built.", ""]
    lines += ["| section | variables |", "|---|---|"]
    for title in present:
        envs = [r["env"] for r in table if r["domain"] == title]
        lines.append(f"| {title} | {len(envs)}: " + ", ".join(f"`{e}`" for e in envs) + " |")
    for title in present:
        lines += ["", f"### {title}", "", "| variable | type | default | description |", "|---|---|---|---|"]
        for r in (r for r in table if r["domain"] == title):
            lines.append(f"| `{r['env']}` | {cell(r['type'])} | {cell(r['default'])} | {cell(r['description'])} |")
    return "\n".join(lines) + "\n"


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """MkDocs hook: fill the marker of the configuration page."""
    if MARKER not in markdown:
        return markdown
    return markdown.replace(MARKER, render())


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    sys.stdout.write(render())
