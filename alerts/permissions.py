"""Who may do what to an alert: one table of rules per action, checked in order.

Escalation widens the audience; it never locks out the people below (IDSR: the district stays
responsible for verification and response after it has notified the region and the nation;
GoAlert and Alertmanager escalate by adding recipients). So the rules are:

* **Jurisdiction** (every action): the alert's org unit is the user's org unit or below it.
* **Acknowledgement level** (acknowledge, verify, discard): the user works at or above the policy's
  ``acknowledge_from`` level for the alert's rule (a CSCom cannot stop the climb of a cholera alert).
* **Take over** (``take_over``): only a level *above* the alert's current one may take it; the alert
  then sits at the taker's level (an explicit ``taken_over`` event, never a side effect).

The alert's current level is *not* a rule for the other actions: a district epidemiologist acts on
a Djenné alert whether it sits at district, region or national.

================  ============================  ==========================================
action            rules (besides jurisdiction)  refusal key
================  ============================  ==========================================
acknowledge       acknowledgement level         ``alert.acknowledge.levelTooLow`` (403)
verify            acknowledgement level         ``alert.verify.levelTooLow`` (403)
discard           acknowledgement level         ``alert.discard.levelTooLow`` (403)
respond, close    —
escalate          —
assess            —
take_over         above the alert's level       ``alert.take_over.notAbove`` (403)
================  ============================  ==========================================
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from alerts.contracts import Alert
from alerts.policy import EscalationPolicy


@dataclass(frozen=True)
class Context:
    """What a rule looks at: the user's level, the alert, the policy and the rule's ack level."""

    user_level: str
    alert: Alert
    policy: EscalationPolicy
    acknowledge_from: str | None


@dataclass(frozen=True)
class Rule:
    name: str  # the refusal key's last part: alert.<action>.<name>
    allows: Callable[[Context], bool]
    level_param: Callable[[Context], str | None]  # the {level} of the refusal message


def _at_or_above_ack_level(c: Context) -> bool:
    return not c.acknowledge_from or c.policy.rank(c.user_level) >= c.policy.rank(c.acknowledge_from)


def _above_alert_level(c: Context) -> bool:
    return c.policy.rank(c.user_level) > c.policy.rank(c.alert.level)


ACK_LEVEL = Rule("levelTooLow", _at_or_above_ack_level, lambda c: c.acknowledge_from)
ABOVE_ALERT = Rule("notAbove", _above_alert_level, lambda c: c.alert.level)

RULES: dict[str, tuple[Rule, ...]] = {
    "acknowledge": (ACK_LEVEL,),
    "verify": (ACK_LEVEL,),
    "discard": (ACK_LEVEL,),
    "respond": (),
    "close": (),
    "escalate": (),
    "assess": (),
    "take_over": (ABOVE_ALERT,),
}


def refusal(action: str, context: Context) -> tuple[str, str | None] | None:
    """The first rule ``action`` breaks, as (key, level), or None when the user may act."""
    for rule in RULES.get(action, ()):
        if not rule.allows(context):
            return f"alert.{action}.{rule.name}", rule.level_param(context)
    return None
