"""7-1-7 timeliness of one alert (Frieden et al., *Lancet* 2021; Resolve to Save Lives).

Milestones recorded on every alert:

* emergence    — earliest onset among its reports (``emergence_date``, midnight UTC);
* detection    — the alert was created (``created_at``);
* notification — first acknowledgement (or verification) by someone at district level or above
  (``notified_at``);
* response     — early response started (``response_at``).

Targets: detection − emergence ≤ 7 days; notification − detection ≤ 1 day; response − notification
≤ 7 days. Each milestone is ``met``, ``missed``, ``pending`` (not reached, deadline not passed) or
None (its clock has not started). ``compliant`` is True when all three are met, False as soon as one
is missed, None otherwise. The same definitions feed the ``sebac_alert_717`` gauges (``alerts.metrics``).

>>> import datetime as dt
>>> from alerts.timeliness import milestone
>>> t0 = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
>>> milestone(t0, t0 + dt.timedelta(hours=20), dt.timedelta(days=1), t0)
'met'
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from alerts.contracts import Alert

TARGETS = {"detection": dt.timedelta(days=7), "notification": dt.timedelta(days=1),
           "response": dt.timedelta(days=7)}


def milestone(start: dt.datetime | None, done: dt.datetime | None, target: dt.timedelta,
              now: dt.datetime) -> str | None:
    if start is None:
        return None
    if done is not None:
        return "met" if done - start <= target else "missed"
    return "missed" if now - start > target else "pending"


def _days(a: dt.datetime | None, b: dt.datetime | None) -> float | None:
    return round((b - a).total_seconds() / 86400, 3) if a is not None and b is not None else None


def timeliness(alert: Alert, now: dt.datetime) -> dict[str, Any]:
    emergence = dt.datetime.combine(alert.emergence_date, dt.time(), dt.timezone.utc)
    stamps = {"emergence": emergence, "detection": alert.created_at, "notification": alert.notified_at,
              "response": alert.response_at}
    order = ("emergence", "detection", "notification", "response")
    status = {m: milestone(stamps[order[i - 1]], stamps[m], TARGETS[m], now) for i, m in enumerate(order) if i}
    if alert.discarded_at is not None:  # not an outbreak: 7-1-7 does not apply
        compliant = None
    elif any(s == "missed" for s in status.values()):
        compliant = False
    elif all(s == "met" for s in status.values()):
        compliant = True
    else:
        compliant = None
    return {
        "emergence": alert.emergence_date.isoformat(),
        "detection": alert.created_at.isoformat(),
        "notification": alert.notified_at.isoformat() if alert.notified_at else None,
        "response": alert.response_at.isoformat() if alert.response_at else None,
        "days": {m: _days(stamps[order[i - 1]], stamps[m]) for i, m in enumerate(order) if i},
        "targets_days": {m: t.days for m, t in TARGETS.items()},
        "status": status,
        "compliant": compliant,
    }
