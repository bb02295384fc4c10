"""Alerts: signals become alerts with an auditable lifecycle and escalation up the pyramid."""
