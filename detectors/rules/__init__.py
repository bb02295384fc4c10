"""Case-definition rules (IDSR action thresholds) as declarative YAML: one module per rule kind,
``catalogue.py`` loads and checks a rule file, ``data/idsr.yaml`` is the default rule set."""
from detectors.rules.base import CaseRecord, RuleInput, Scope
from detectors.rules.catalogue import KINDS, RuleCatalogue, RuleError, load_rules, rules_from_mapping

__all__ = ["CaseRecord", "RuleInput", "Scope", "KINDS", "RuleCatalogue", "RuleError", "load_rules",
           "rules_from_mapping"]
