"""Prometheus metrics of the SMS webhooks (bounded labels: gateway and outcome, never a phone)."""
from __future__ import annotations

from prometheus_client import Counter

GATEWAYS = ("telerivet", "rapidpro", "generic")
OUTCOMES = ("accepted", "duplicate", "rejected", "unregistered", "command", "zero", "simulated", "ignored",
            "bad_request", "forbidden", "disabled")

SMS_WEBHOOK_REQUESTS = Counter("sebac_sms_webhook_requests", "SMS gateway webhook calls, by gateway and outcome",
                               ["gateway", "outcome"])

for _g in GATEWAYS:
    for _o in OUTCOMES:
        SMS_WEBHOOK_REQUESTS.labels(_g, _o)
