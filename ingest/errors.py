"""Domain errors with stable, translatable keys.

A key such as ``report.orgunit.unknown`` never changes once released; clients and the SMS reply
builder translate it (see :mod:`ingest.messages`). ``status`` is the HTTP status the API maps it to.
"""
from __future__ import annotations

from dataclasses import dataclass, field as dc_field
from typing import Any


@dataclass(frozen=True)
class ErrorDetail:
    """One problem with one input item: a stable key, the field concerned and the parameters."""

    key: str
    field: str | None = None
    params: dict[str, Any] = dc_field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "field": self.field, "params": self.params}


class DomainError(Exception):
    """Base of every error a user can cause; carries a stable key and an HTTP status."""

    status: int = 400

    def __init__(self, key: str, message: str = "", *, status: int | None = None, **params: Any):
        super().__init__(message or key)
        self.key = key
        self.message = message or key
        self.params = params
        if status is not None:
            self.status = status


class PyramidError(DomainError):
    """The org-unit tree given at start-up is inconsistent (bad parent, cycle, duplicate id...)."""


class ValidationFailed(DomainError):
    """An input item failed validation; ``errors`` lists every problem found."""

    status = 422

    def __init__(self, errors: list[ErrorDetail]):
        super().__init__(errors[0].key if errors else "report.invalid", "invalid input")
        self.errors = errors
