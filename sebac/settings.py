"""Settings from the environment (``SEBAC_`` prefix) and an optional ``.env`` file, strictly validated."""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SEBAC_", env_file=".env", extra="forbid",
                                      validate_default=True)

    environment: Literal["development", "production", "test"] = "development"
    database_url: str = Field(default="sqlite:///./data/sebac.db",
                              description="SQLAlchemy URL: sqlite:///path or postgresql+psycopg://...")
    pyramid_path: Path | None = Field(default=None, description="YAML/CSV/DHIS2 JSON; default: demo Mali")
    diseases_path: Path | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    broker: str | None = Field(default=None, description="kafka://host:port; embedded pipeline when unset")
    max_cases: int = Field(default=1000, ge=1, description="reports with more cases are rejected as absurd")
    max_body_bytes: int = Field(default=1_000_000, ge=1024)
    epiweek_start_day: int = Field(default=0, ge=0, le=6, description="0 = Monday (ISO weeks) … 6 = Sunday")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    metrics_cache_seconds: float = Field(default=5.0, ge=0, le=300,
                                         description="how long /metrics reuses its database gauges")

    # -- ingest channels (helper-ingest): SMS gateways, CHW registry, DHIS2, batches, lateness, quality --
    chw_registry_path: Path | None = Field(default=None, description="CHW phones → sites (YAML/CSV); "
                                           "default: one demo CHW per site of the demo pyramid")
    sms_telerivet_secret: str | None = Field(default=None, description="Telerivet webhook secret; unset = disabled")
    sms_rapidpro_secret: str | None = Field(default=None, description="RapidPro/TextIt webhook header secret")
    sms_generic_secret: str | None = Field(default=None, description="generic SMS gateway secret")
    sms_rapidpro_fields_path: Path | None = Field(default=None, description="RapidPro flow result names → report "
                                                  "fields YAML; default: ingest/data/rapidpro_fields.yaml")
    sms_default_lang: str = Field(default="fr", pattern=r"^[a-z]{2,3}$", description="reply language, unknown phone")
    sms_date_window_days: int = Field(default=60, ge=1, le=366, description="SMS onset dates further back are refused")
    translations_path: Path | None = Field(default=None, description="extra reply translations, e.g. Bambara")
    dhis2_mapping_path: Path | None = Field(default=None, description="DHIS2 program/data element mapping YAML")
    max_batch_items: int = Field(default=500, ge=1, le=100_000, description="items per POST /api/v1/reports batch")
    late_after_days: int = Field(default=2, ge=0, le=60,
                                 description="days after an epi week ends before a report for it is late")
    duplicate_window_days: float = Field(default=3.0, ge=0, le=60,
                                         description="same content within this window = possible duplicate")
    promptness_deadline_days: int = Field(default=1, ge=0, le=30,
                                          description="a week's report is prompt if received ≤ N days after it ends")
    silent_after_days: int = Field(default=3, ge=1, le=60, description="a site silent this long is listed")

    # -- detectors (helper-detectors): case-definition rules and statistical detectors --
    rules_path: Path | None = Field(default=None, description="case-definition rules YAML; default: IDSR "
                                    "catalogue (detectors/rules/data/idsr.yaml)")
    detectors_path: Path | None = Field(default=None, description="statistical detectors per disease YAML; "
                                        "default: detectors/data/detectors.yaml")
    typical_report_delay_hours: float = Field(default=24.0, ge=0, le=24 * 60, description="onset → report "
                                              "delay assumed on time (would_have_fired_at of late signals)")
    reevaluation_settle_minutes: float = Field(default=15.0, ge=0, le=24 * 60, description="wait after a late "
                                               "report before its queued week is re-evaluated")

    # -- streaming (helper-streaming): Kafka topics and faust workers, used when ``broker`` is set --
    stream_app_id: str = Field(default="sebac", pattern=r"^[A-Za-z0-9._-]+$",
                               description="faust app id: consumer group and changelog topic names")
    stream_topic_prefix: str = Field(default="sebac", pattern=r"^[A-Za-z0-9._-]+$")
    stream_partitions: int = Field(default=8, ge=1, le=1024, description="partitions of every topic")
    stream_replication: int = Field(default=1, ge=1, le=5, description="replication factor of created topics")
    stream_batch_size: int = Field(default=1000, ge=1, le=10_000, description="messages per worker batch")
    stream_batch_seconds: float = Field(default=0.05, gt=0, le=10)
    stream_publish_timeout: float = Field(default=10.0, gt=0, le=120,
                                          description="seconds the API waits for the broker ack before 503")
    stream_sweep_interval: float = Field(default=30.0, gt=0,
                                         description="seconds between checks for records a worker's consumer skipped")
    stream_close_interval: float = Field(default=60.0, gt=0, description="seconds between epi-week close runs")
    stream_close_grace_hours: float = Field(default=24.0, ge=0,
                                            description="wait after a week ends before closing it")
    stream_retention_weeks: int = Field(default=8, ge=1, description="closed weeks kept in worker tables")
    stream_session_timeout: float = Field(default=10.0, ge=3, le=300,
                                          description="seconds before a silent worker leaves the group")
    stream_rebalance_timeout: float = Field(default=30.0, ge=5, le=600,
                                            description="seconds a rebalance waits for every worker to rejoin")
    stream_instance_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._-]+$",
                                           description="static group membership of a worker (e.g. its pod name): "
                                                       "a restarted worker takes its partitions back at once")
    worker_metrics_port: int = Field(default=0, ge=0, le=65535, description="Prometheus port of a worker; 0 = off")

    # -- alerts (helper-alerts): escalation, notifications, authentication --
    escalation_policy_path: Path | None = Field(default=None, description="escalation policy YAML; "
                                                "default: alerts/data/escalation.yaml")
    escalation_tick_seconds: float = Field(default=5.0, gt=0, le=3600, description="scheduler period (wall clock)")
    outbox_poll_seconds: float = Field(default=2.0, gt=0, le=3600, description="notification worker period")
    outbox_max_attempts: int = Field(default=6, ge=1, le=50, description="delivery attempts before dead letter")
    outbox_backoff_seconds: float = Field(default=30.0, gt=0, description="first retry delay (doubles each time)")
    outbox_lease_seconds: float = Field(default=120.0, gt=0, le=86400,
                                        description="a claimed message not marked sent after this is sent again")
    sms_gateway_url: str | None = Field(default=None, description="outgoing SMS gateway (POST {to, text}); "
                                        "unset = SMS written to the log")
    sms_gateway_token: str | None = Field(default=None, description="bearer token for the outgoing SMS gateway")
    smtp_host: str | None = Field(default=None, description="SMTP server for email notifications; unset = off")
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_sender: str = Field(default="sebac@localhost", description="From: address of notification emails")
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    auth_token_hours: float = Field(default=12.0, gt=0, le=24 * 90, description="lifetime of login tokens")

    @field_validator("database_url")
    @classmethod
    def _known_scheme(cls, v: str) -> str:
        if not v.startswith(("sqlite", "postgresql")):
            raise ValueError("SEBAC_DATABASE_URL must be a sqlite:// or postgresql:// URL")
        return v

    @model_validator(mode="after")
    def _no_placeholder_secrets(self) -> "Settings":
        # outside development, every secret that is set must be real (≥ 12 chars, not "change-me")
        from ingest.sms.gateways import is_placeholder_secret

        if self.environment != "development":
            for name in ("sms_telerivet_secret", "sms_rapidpro_secret", "sms_generic_secret",
                         "sms_gateway_token", "smtp_password"):
                if is_placeholder_secret(getattr(self, name)):
                    raise ValueError(f"SEBAC_{name.upper()} is a placeholder or shorter than 12 characters; "
                                     "set a real secret (or leave it unset)")
        return self

    @field_validator("broker")
    @classmethod
    def _kafka_url(cls, v: str | None) -> str | None:
        if v in (None, ""):
            return None
        if not v.startswith("kafka://") or ":" not in v[len("kafka://"):]:
            raise ValueError("SEBAC_BROKER must look like kafka://host:port")
        return v
