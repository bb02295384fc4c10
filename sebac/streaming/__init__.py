"""Scale-out mode: Kafka topics keyed by health area, faust-streaming workers, PostgreSQL.

Same stages as the embedded pipeline (``ingest.validation``, ``DetectionStage``, ``AlertService``,
the repositories) — only the transport differs:

    API replicas ──validate_report──▶ reports ──▶ classify_reports ──▶ signals ──▶ raise_alerts
         │ (kafka-python, acks=all,    (key:          │ store report (dedup key)     │ inbox (signal id)
         │  idempotent; 503 if down)    area)         │ DetectionStage.on_reports    │ AlertService.on_signal
         └──────────▶ rejected ◀── poison messages ───┘ cases_by_area_week table     ▼
                         │                              close_epiweeks timer    alert-events, notifications
                         ▼ store_rejected                 └──▶ weekly-counts, signals

Exactly-once *effect* = at-least-once delivery + idempotent writes: reports by idempotency key,
signals by a deterministic id in an inbox table, weekly counts by an offset watermark
per health area (client resends are not new in the database, redeliveries are below the watermark).
"""
