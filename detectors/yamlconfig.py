"""Reading the YAML configuration files of the detection layer (rule catalogue, detector set).

One loader for both: a missing file and a file that is not YAML are start-up errors raised as the
caller's :class:`~ingest.errors.DomainError` subclass with the caller's stable keys; checking the
document's content is left to the caller (``rules_from_mapping``, ``detectors_from_mapping``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ingest.errors import DomainError

__all__ = ["read_yaml_file"]


def read_yaml_file(path: Path, error: type[DomainError], *, missing_key: str, missing_what: str,
                   invalid_key: str) -> Any:
    """The document in ``path`` (``yaml.safe_load``). Raises ``error(missing_key, "<missing_what> not
    found: <path>")`` when the file does not exist, ``error(invalid_key, "<path>: not valid YAML: ...")``
    when it does not parse."""
    if not path.exists():
        raise error(missing_key, f"{missing_what} not found: {path}")
    try:
        with open(path, encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    except yaml.YAMLError as exc:
        raise error(invalid_key, f"{path}: not valid YAML: {exc}") from None
