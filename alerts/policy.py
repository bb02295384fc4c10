"""Escalation policy: data (YAML), strictly validated, cross-checked against the pyramid and diseases.

A policy names the escalation path (pyramid levels, bottom → top) and an ordered list of rules; the
first rule that matches a signal (by disease, by the catalogue's *immediately notifiable* flag, by
severity) decides, and every field a rule leaves out is inherited from ``defaults``::

    version: 1
    path: [health_area, district, region, national]
    defaults: {start_level: district, ack_within: {district: 24h, region: 24h}, cooldown: 7d, risk: 2}
    rules:
      - {name: vhf, diseases: [ebola, marburg], direct_to: national, risk: 4}
      - {name: immediately_notifiable, immediate: true, start_level: health_area,
         acknowledge_from: district, ack_within: {health_area: 30m, district: 30m, region: 30m}}

Fields of a rule:

``start_level``       level the alert is first sent to (raised to the signal's own level if lower);
``direct_to``         level it escalates to at once, at creation (e.g. national for a VHF);
``ack_within``        acknowledgement deadline per level; a level without one never escalates by
                      timeout (the top level has none);
``acknowledge_from``  lowest level whose users may acknowledge (IDSR: the district must know of an
                      immediately notifiable disease, so a CSCom cannot stop its escalation);
``cooldown``          after an alert closes, signals for the same disease and area are suppressed
                      for this long unless more severe (alert fatigue);
``repeat_every``      re-notify the current level while the alert stays unacknowledged;
``risk``              1 (low) … 4 (very high); ``epidemic`` severity adds one.

Loading fails with ``alert.policy.invalid`` and the list of problems (unknown keys, bad durations,
levels not in the pyramid, diseases not in the catalogue, deadlines at levels off the path).
Style: Alertmanager's config loader (``undefined receiver "x" used in route``) and GoAlert's
escalation policies (ordered steps, validated delays).
"""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any, Iterable

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ingest.errors import DomainError

DEFAULT_POLICY_PATH = Path(__file__).parent / "data" / "escalation.yaml"
_DURATION = re.compile(r"^(\d+)\s*(s|m|h|d|w)$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(value: Any) -> dt.timedelta:
    """``"30m"``, ``"24h"``, ``"7d"``, ``"2w"`` or a number of seconds → a positive timedelta."""
    if isinstance(value, dt.timedelta):
        delta = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        delta = dt.timedelta(seconds=value)
    elif isinstance(value, str) and (m := _DURATION.match(value.strip())):
        delta = dt.timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})
    else:
        raise ValueError(f"not a duration: {value!r} (use e.g. 30m, 24h, 7d)")
    if delta <= dt.timedelta(0):
        raise ValueError(f"duration must be positive: {value!r}")
    return delta


class RuleFields(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    start_level: str | None = None
    direct_to: str | None = None
    ack_within: dict[str, dt.timedelta] | None = None
    acknowledge_from: str | None = None
    cooldown: dt.timedelta | None = None
    repeat_every: dt.timedelta | None = None
    risk: int | None = Field(default=None, ge=1, le=4)

    @field_validator("ack_within", mode="before")
    @classmethod
    def _durations(cls, v: Any) -> Any:
        if v is None:
            return v
        if not isinstance(v, dict):
            raise ValueError("ack_within must map level → duration")
        return {k: parse_duration(d) for k, d in v.items()}

    @field_validator("cooldown", "repeat_every", mode="before")
    @classmethod
    def _duration(cls, v: Any) -> Any:
        return None if v is None else parse_duration(v)


class Rule(RuleFields):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    diseases: tuple[str, ...] | None = None
    immediate: bool | None = None
    severity: str | None = Field(default=None, pattern=r"^(alert|epidemic)$")


class Defaults(RuleFields):
    start_level: str
    cooldown: dt.timedelta
    risk: int = Field(ge=1, le=4)


class PolicyDoc(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = Field(ge=1, le=1)
    path: tuple[str, ...] = Field(min_length=1)
    defaults: Defaults
    rules: tuple[Rule, ...] = ()


class Decision(BaseModel):
    """The resolved policy for one alert: the matching rule with defaults filled in."""

    model_config = ConfigDict(frozen=True)

    rule: str
    start_level: str
    direct_to: str | None
    ack_within: dict[str, dt.timedelta]
    acknowledge_from: str | None
    cooldown: dt.timedelta
    repeat_every: dt.timedelta | None
    risk: int


class EscalationPolicy:
    def __init__(self, doc: PolicyDoc):
        self.doc = doc
        self.path = doc.path

    # -- path arithmetic ------------------------------------------------------------------------
    def rank(self, level: str) -> int:
        """Position on the path, 0 = bottom; levels below the path (e.g. site) rank -1."""
        return self.path.index(level) if level in self.path else -1

    def next_level(self, level: str) -> str | None:
        r = self.rank(level)
        return self.path[r + 1] if r + 1 < len(self.path) else None

    def is_at_or_above(self, level: str, floor: str) -> bool:
        return self.rank(level) >= self.rank(floor)

    # -- rule resolution ------------------------------------------------------------------------
    def decide(self, disease: str, severity: str, immediate: bool) -> Decision:
        d = self.doc.defaults
        for rule in self.doc.rules:
            if rule.diseases is not None and disease not in rule.diseases:
                continue
            if rule.immediate is not None and rule.immediate != immediate:
                continue
            if rule.severity is not None and rule.severity != severity:
                continue
            break
        else:
            rule = None

        def pick(name: str) -> Any:
            value = getattr(rule, name) if rule is not None else None
            return value if value is not None else getattr(d, name)

        return Decision(rule=rule.name if rule else "defaults", start_level=pick("start_level"),
                        direct_to=pick("direct_to"), ack_within=dict(pick("ack_within") or {}),
                        acknowledge_from=pick("acknowledge_from"), cooldown=pick("cooldown"),
                        repeat_every=pick("repeat_every"), risk=pick("risk"))

    def rule_names(self) -> list[str]:
        return [r.name for r in self.doc.rules]


def _problems(doc: PolicyDoc, pyramid_levels: Iterable[str] | None, diseases: Iterable[str] | None) -> list[str]:
    problems: list[str] = []
    levels = list(pyramid_levels) if pyramid_levels is not None else None
    if len(set(doc.path)) != len(doc.path):
        problems.append(f"path has a repeated level: {list(doc.path)}")
    if levels is not None:
        for lv in doc.path:
            if lv not in levels:
                problems.append(f"undefined level {lv!r} used in path (pyramid levels: {levels})")
        ranks = [levels.index(lv) for lv in doc.path if lv in levels]
        if ranks != sorted(ranks, reverse=True):
            problems.append(f"path must go up the pyramid, bottom → top: {list(doc.path)}")
    names = [r.name for r in doc.rules]
    for dup in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"rule name {dup!r} is used twice")
    known = set(diseases) if diseases is not None else None
    for where, fields in [("defaults", doc.defaults)] + [(f"rule {r.name!r}", r) for r in doc.rules]:
        for attr in ("start_level", "direct_to", "acknowledge_from"):
            lv = getattr(fields, attr)
            if lv is not None and lv not in doc.path:
                problems.append(f"undefined level {lv!r} used in {where}.{attr} (path: {list(doc.path)})")
        for lv in (fields.ack_within or {}):
            if lv not in doc.path:
                problems.append(f"undefined level {lv!r} used in {where}.ack_within")
            elif lv == doc.path[-1]:
                problems.append(f"{where}.ack_within sets a deadline at the top level {lv!r}: nowhere to go")
        if isinstance(fields, Rule):
            for code in fields.diseases or ():
                if known is not None and code not in known:
                    problems.append(f"undefined disease {code!r} used in {where}")
            if fields.diseases is None and fields.immediate is None and fields.severity is None:
                problems.append(f"{where} matches everything: use defaults instead")
    return problems


def policy_from_mapping(raw: Any, *, pyramid_levels: Iterable[str] | None = None,
                        diseases: Iterable[str] | None = None) -> EscalationPolicy:
    try:
        doc = PolicyDoc.model_validate(raw)
    except ValidationError as exc:
        errs = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        raise DomainError("alert.policy.invalid", "escalation policy: " + "; ".join(errs), status=500,
                          problems=errs) from exc
    problems = _problems(doc, pyramid_levels, diseases)
    if problems:
        raise DomainError("alert.policy.invalid", "escalation policy: " + "; ".join(problems), status=500,
                          problems=problems)
    return EscalationPolicy(doc)


def load_policy(path: str | Path | None = None, *, pyramid_levels: Iterable[str] | None = None,
                diseases: Iterable[str] | None = None) -> EscalationPolicy:
    path = Path(path) if path else DEFAULT_POLICY_PATH
    with open(path, encoding="utf-8") as fh:
        raw = yaml.safe_load(fh)
    return policy_from_mapping(raw, pyramid_levels=pyramid_levels, diseases=diseases)
