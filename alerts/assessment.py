"""Structured assessment of an alert, modelled on WHO EWARS' verification and risk assessment forms.

An ``assess`` action appends an ``assessed`` event whose ``data.assessment`` is one of:

* ``{"kind": "risk", "risk": "low|moderate|high|very_high", "text": ...}`` — the rapid risk
  assessment (WHO, *Rapid risk assessment of acute public health events*, 2012: likelihood ×
  consequences, graded low / moderate / high / very high);
* ``{"kind": "response", "text": ...}`` — response actions taken (e.g. "chlorination of wells").

The verification outcome is the ``verify`` (confirmed) or ``discard`` (+ why) action, and the final
outcome is the ``close`` action's reason; :func:`summary` gathers the four from an alert's events.
"""
from __future__ import annotations

from typing import Any, Iterable, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from alerts.contracts import AlertEvent

RISK_GRADES = ("low", "moderate", "high", "very_high")


class Assessment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["risk", "response"]
    risk: Literal["low", "moderate", "high", "very_high"] | None = None
    text: str = Field(min_length=1, max_length=2000)

    @model_validator(mode="after")
    def _risk_needs_a_grade(self) -> "Assessment":
        if self.kind == "risk" and self.risk is None:
            raise ValueError("a risk assessment needs a grade: low, moderate, high or very_high")
        if self.kind != "risk" and self.risk is not None:
            raise ValueError("only a risk assessment has a grade")
        return self


def summary(events: Iterable[AlertEvent]) -> dict[str, Any]:
    """The latest of each part: verification, risk, response actions (all of them), outcome."""
    out: dict[str, Any] = {"verification": None, "risk": None, "response": [], "outcome": None}
    for e in sorted(events, key=lambda e: e.seq):
        if e.type == "verified":
            out["verification"] = {"outcome": "confirmed", "text": e.reason, "by": e.by, "at": e.at}
        elif e.type == "discarded":
            out["verification"] = {"outcome": "discarded", "text": e.reason, "by": e.by, "at": e.at}
        elif e.type == "closed":
            out["outcome"] = {"text": e.reason, "by": e.by, "at": e.at}
        elif e.type == "assessed":
            a = e.data.get("assessment", {})
            item = {"text": a.get("text"), "by": e.by, "at": e.at}
            if a.get("kind") == "risk":
                out["risk"] = item | {"grade": a.get("risk")}
            elif a.get("kind") == "response":
                out["response"].append(item)
    return out
