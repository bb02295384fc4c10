"""Alerts: signals become alerts with an auditable lifecycle and escalation up the pyramid.

One noun per module (Alertmanager style):

* ``contracts``  Alert, AlertEvent, AlertStatus
* ``lifecycle``  transition table, guards with stable error keys, the event reducer and replay
* ``intake``     signal → open / merge / cooldown suppression (pure)
* ``policy``     the escalation policy (YAML, strictly validated)
* ``escalation`` due escalation steps (pure) and the scheduler
* ``notify``     subscriptions → outbox rows; ``templates`` the French/English texts
* ``outbox``     delivery with retries, backoff and dead letter; ``channels`` SMS, SMTP, webhook
* ``users``      roles, jurisdiction, password hashing; ``sms_commands`` ``OK 1234`` by SMS
* ``timeliness`` 7-1-7; ``service`` the stage (SQL via ``repository``); ``runtime`` background loops
"""
