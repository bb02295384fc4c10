"""Load the case-definition rule catalogue from YAML, strictly.

Format (see ``data/idsr.yaml``, the default IDSR rule set)::

    version: 1
    rules:
      - id: measles_district_month      # stable, [a-z0-9_], part of the dedup key
        kind: count                     # immediate | count | rate | ratio | trend | cluster
        name_fr: Rougeole, ≥ 5 cas suspects par district et par mois
        name_en: Measles, ≥ 5 suspected cases per district per month
        diseases: [measles]             # codes of the disease catalogue
        levels: [district]              # pyramid levels the rule is evaluated at
        threshold: 5                    # kind-specific fields (see each kind's module)
        period: month

Every problem is a :class:`~ingest.errors.DomainError` at start-up with a stable key:
``rules.file.missing``, ``rules.format.invalid`` (not YAML / not the shape above / bad version),
``rules.rule.invalid`` (unknown kind, unknown or missing field, bad value — the pydantic message
names the rule and the field), ``rules.id.duplicate``, ``rules.disease.unknown``,
``rules.level.unknown``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Iterable, Iterator, Union

from pydantic import Field, TypeAdapter, ValidationError

from detectors.rules.cluster import ClusterRule
from detectors.rules.count_threshold import CountRule
from detectors.rules.immediate import ImmediateRule
from detectors.rules.rate import RateRule
from detectors.rules.ratio import RatioRule
from detectors.rules.trend import TrendRule
from detectors.yamlconfig import read_yaml_file
from ingest.diseases import DiseaseCatalogue
from ingest.errors import DomainError

Rule = Annotated[Union[ImmediateRule, CountRule, RateRule, RatioRule, TrendRule, ClusterRule],
                 Field(discriminator="kind")]
KINDS = ("immediate", "count", "rate", "ratio", "trend", "cluster")
_ADAPTER: TypeAdapter[Any] = TypeAdapter(Rule)
SUPPORTED_VERSIONS = (1,)


class RuleError(DomainError):
    """The rule catalogue given at start-up is invalid."""


def default_rules_path() -> Path:
    return Path(__file__).parent / "data" / "idsr.yaml"


class RuleCatalogue:
    """Validated rules, in file order, with an index by disease."""

    def __init__(self, rules: Iterable[Any]):
        self.rules = list(rules)
        self.by_id = {r.id: r for r in self.rules}
        self._by_disease: dict[str, list[Any]] = {}
        for r in self.rules:
            for d in r.diseases:
                self._by_disease.setdefault(d, []).append(r)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    def for_disease(self, disease: str) -> list[Any]:
        return [r for r in self._by_disease.get(disease, []) if r.enabled]


def _describe(exc: ValidationError, where: str) -> str:
    parts = []
    for e in exc.errors():
        loc = ".".join(str(x) for x in e["loc"])
        parts.append(f"{loc}: {e['msg']}" if loc else e["msg"])
    return f"{where}: " + "; ".join(parts)


def rules_from_mapping(doc: Any, diseases: DiseaseCatalogue, levels: Iterable[str] | None = None,
                       *, source: str = "rules") -> RuleCatalogue:
    if not isinstance(doc, dict) or "rules" not in doc or set(doc) - {"version", "rules"}:
        raise RuleError("rules.format.invalid", f"{source}: expected a mapping with keys 'version' and 'rules'")
    if doc.get("version", 1) not in SUPPORTED_VERSIONS:
        raise RuleError("rules.format.invalid", f"{source}: unsupported version {doc.get('version')!r}")
    if not isinstance(doc["rules"], list):
        raise RuleError("rules.format.invalid", f"{source}: 'rules' must be a list")
    known_levels = set(levels) if levels is not None else None
    out, seen = [], set()
    for i, raw in enumerate(doc["rules"]):
        where = f"{source}: rule #{i + 1}" + (f" ({raw.get('id')})" if isinstance(raw, dict) and raw.get("id") else "")
        if isinstance(raw, dict) and raw.get("kind") == "immediate" and "diseases" not in raw:
            raw = {**raw, "diseases": [d.code for d in diseases if d.immediate]}
        try:
            rule = _ADAPTER.validate_python(raw)
        except ValidationError as exc:
            raise RuleError("rules.rule.invalid", _describe(exc, where)) from None
        if rule.id in seen:
            raise RuleError("rules.id.duplicate", f"{where}: duplicate rule id {rule.id!r}", id=rule.id)
        seen.add(rule.id)
        unknown = [d for d in rule.diseases if d not in diseases]
        if unknown:
            raise RuleError("rules.disease.unknown", f"{where}: unknown disease(s) {unknown}; known: "
                            f"{', '.join(diseases.codes())}", rule=rule.id, diseases=unknown)
        if known_levels is not None:
            bad = [lv for lv in rule.levels if lv not in known_levels]
            if bad:
                raise RuleError("rules.level.unknown", f"{where}: unknown pyramid level(s) {bad}",
                                rule=rule.id, levels=bad)
        out.append(rule)
    return RuleCatalogue(out)


def load_rules(path: str | Path | None, diseases: DiseaseCatalogue,
               levels: Iterable[str] | None = None) -> RuleCatalogue:
    """Load and check a rule file (default: the IDSR catalogue shipped with SEBAC)."""
    p = Path(path) if path else default_rules_path()
    doc = read_yaml_file(p, RuleError, missing_key="rules.file.missing", missing_what="rule file",
                         invalid_key="rules.format.invalid")
    return rules_from_mapping(doc, diseases, levels, source=str(p))
