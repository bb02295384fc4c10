"""Settings from the environment (``SEBAC_`` prefix) and an optional ``.env`` file, strictly validated.

One flat model, so that every variable keeps its one name (``SEBAC_STREAM_PARTITIONS``); each field
is tagged with its domain (:data:`Domain`: server, database, reference data, intake, SMS, DHIS2,
detectors, alerts, notifications, streaming, console), declared in that domain's section, listed
under it in the configuration reference (``deploy/docs/settings_reference.py``) and readable as a
group with :meth:`Settings.domain`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import Field, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, SettingsConfigDict

SECRET_SETTINGS = ("sms_telerivet_secret", "sms_rapidpro_secret", "sms_generic_secret", "sms_gateway_token",
                   "smtp_password", "sms_telerivet_api_key", "sms_rapidpro_api_token", "sms_africastalking_api_key")
OUTBOUND_NEEDS = {"generic": ("sms_gateway_url",),
                  "telerivet": ("sms_telerivet_api_key", "sms_telerivet_project_id"),
                  "rapidpro": ("sms_rapidpro_url", "sms_rapidpro_api_token"),
                  "africastalking": ("sms_africastalking_username", "sms_africastalking_api_key")}

# The domains of the settings, in the order of the configuration reference; every field names one.
Domain = Literal["server", "database", "reference", "intake", "sms", "dhis2", "detectors", "alerts",
                 "notifications", "streaming", "console"]
DOMAINS: tuple[Domain, ...] = get_args(Domain)


def setting(domain: Domain, *, description: str, **field: Any) -> Any:
    """A settings field (:func:`pydantic.Field`) tagged with its domain, which groups it in the
    configuration reference and in :meth:`Settings.domain`."""
    return Field(description=description, json_schema_extra={"domain": domain}, **field)



def domain_of(info: FieldInfo) -> str | None:
    """The domain a settings field was tagged with by :func:`setting`, if any."""
    extra = info.json_schema_extra
    value = extra.get("domain") if isinstance(extra, dict) else None
    return value if isinstance(value, str) else None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SEBAC_", env_file=".env", extra="forbid",
                                      validate_default=True)

    # -- server: the process (environment, address, logging, size of request bodies) --
    environment: Literal["development", "production", "test"] = setting("server", default="development",
        description="production: POST /api/v1/reports requires credentials; outside development, every secret "
                    "set must be real (≥ 12 characters, no placeholder)")
    host: str = setting("server", default="127.0.0.1", description="address the API and console bind to")
    port: int = setting("server", default=8000, ge=1, le=65535, description="port the API and console listen on")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = setting("server", default="INFO",
        description="logging level")
    metrics_cache_seconds: float = setting("server", default=5.0, ge=0, le=300,
        description="how long /metrics reuses its database gauges")
    max_body_bytes: int = setting("server", default=1_000_000, ge=1024,
        description="larger request bodies are refused (413)")

    # -- database: where reports, alerts and accounts are stored --
    database_url: str = setting("database", default="sqlite:///./data/sebac.db",
        description="SQLAlchemy URL: sqlite:///path or postgresql+psycopg://...")

    # -- reference: the health pyramid, the disease catalogue, the epi week --
    pyramid_path: Path | None = setting("reference", default=None,
        description="YAML/CSV/DHIS2 JSON; default: demo Mali")
    diseases_path: Path | None = setting("reference", default=None,
        description="disease catalogue YAML (codes, names fr/en, immediately notifiable, SMS keywords, Nyss "
                    "codes); default: ingest/data/diseases.yaml")
    epiweek_start_day: int = setting("reference", default=0, ge=0, le=6,
        description="0 = Monday (ISO weeks) … 6 = Sunday")

    # -- intake: limits, batches, lateness, duplicates, data quality of reports --
    max_cases: int = setting("intake", default=1000, ge=1, description="reports with more cases are rejected as absurd")
    max_batch_items: int = setting("intake", default=500, ge=1, le=100_000,
        description="items per POST /api/v1/reports batch")
    late_after_days: int = setting("intake", default=2, ge=0, le=60,
        description="days after an epi week ends before a report for it is late")
    duplicate_window_days: float = setting("intake", default=3.0, ge=0, le=60,
        description="same content within this window = possible duplicate")
    promptness_deadline_days: int = setting("intake", default=1, ge=0, le=30,
        description="a week's report is prompt if received ≤ N days after it ends")
    silent_after_days: int = setting("intake", default=3, ge=1, le=60, description="a site silent this long is listed")

    # -- sms: incoming SMS: gateway webhooks, CHW registry, parsing, replies --
    chw_registry_path: Path | None = setting("sms", default=None,
        description="CHW phones → sites (YAML/CSV); default: one demo CHW per site of the demo pyramid")
    sms_telerivet_secret: str | None = setting("sms", default=None,
        description="Telerivet webhook secret; unset = disabled")
    sms_rapidpro_secret: str | None = setting("sms", default=None, description="RapidPro/TextIt webhook header secret")
    sms_generic_secret: str | None = setting("sms", default=None, description="generic SMS gateway secret")
    sms_rapidpro_fields_path: Path | None = setting("sms", default=None,
        description="RapidPro flow result names → report fields YAML; default: ingest/data/rapidpro_fields.yaml")
    sms_default_lang: str = setting("sms", default="fr", pattern=r"^[a-z]{2,3}$",
        description="reply language, unknown phone")
    sms_date_window_days: int = setting("sms", default=60, ge=1, le=366,
        description="SMS onset dates further back are refused")
    translations_path: Path | None = setting("sms", default=None, description="extra reply translations, e.g. Bambara")
    sms_replies: Literal["webhook", "outbound"] = setting("sms", default="webhook",
        description="replies to inbound SMS: in the webhook answer, or sent by the outgoing adapter through the "
                    "outbox (retried)")

    # -- dhis2: the mapping of DHIS2 programs and data elements --
    dhis2_mapping_path: Path | None = setting("dhis2", default=None,
        description="DHIS2 program/data element mapping YAML; default: ingest/data/dhis2_mapping.yaml")

    # -- detectors: case-definition rules and statistical detectors --
    rules_path: Path | None = setting("detectors", default=None,
        description="case-definition rules YAML; default: IDSR catalogue (detectors/rules/data/idsr.yaml)")
    detectors_path: Path | None = setting("detectors", default=None,
        description="statistical detectors per disease YAML; default: detectors/data/detectors.yaml")
    typical_report_delay_hours: float = setting("detectors", default=24.0, ge=0, le=24 * 60,
        description="onset → report delay assumed on time (would_have_fired_at of late signals)")
    reevaluation_settle_minutes: float = setting("detectors", default=15.0, ge=0, le=24 * 60,
        description="wait after a late report before its queued week is re-evaluated")

    # -- alerts: the escalation policy and its scheduler --
    escalation_policy_path: Path | None = setting("alerts", default=None,
        description="escalation policy YAML; default: alerts/data/escalation.yaml")
    escalation_tick_seconds: float = setting("alerts", default=5.0, gt=0, le=3600,
        description="scheduler period (wall clock)")

    # -- notifications: the outbox, the outgoing SMS adapters (setup per gateway: docs/sms-gateways.md), email --
    outbox_poll_seconds: float = setting("notifications", default=2.0, gt=0, le=3600,
        description="notification worker period")
    outbox_max_attempts: int = setting("notifications", default=6, ge=1, le=50,
        description="delivery attempts before dead letter")
    outbox_backoff_seconds: float = setting("notifications", default=30.0, gt=0,
        description="first retry delay (doubles each time)")
    outbox_lease_seconds: float = setting("notifications", default=120.0, gt=0, le=86400,
        description="a claimed message not marked sent after this is sent again")
    sms_outbound: Literal["log", "generic", "telerivet", "rapidpro", "africastalking"] | None = setting(
        "notifications", default=None,
        description="outgoing SMS adapter; unset = generic if SEBAC_SMS_GATEWAY_URL, else log")
    sms_gateway_url: str | None = setting("notifications", default=None,
        description="outgoing SMS gateway (POST {to, text}); unset = SMS written to the log")
    sms_gateway_token: str | None = setting("notifications", default=None,
        description="bearer token for the outgoing SMS gateway")
    sms_outbound_timeout_seconds: float = setting("notifications", default=10.0, gt=0, le=120,
        description="HTTP timeout of one outgoing SMS request")
    sms_telerivet_api_url: str = setting("notifications", default="https://api.telerivet.com/v1",
        description="Telerivet REST API base URL")
    sms_telerivet_api_key: str | None = setting("notifications", default=None,
        description="Telerivet REST API key (basic auth)")
    sms_telerivet_project_id: str | None = setting("notifications", default=None,
        description="Telerivet project id (PJ…) to send from")
    sms_telerivet_route_id: str | None = setting("notifications", default=None,
        description="phone/route to send from; unset = the project's default")
    sms_rapidpro_url: str | None = setting("notifications", default=None,
        description="RapidPro/TextIt base URL, e.g. https://textit.com")
    sms_rapidpro_api_token: str | None = setting("notifications", default=None,
        description="RapidPro API token (Authorization: Token)")
    sms_africastalking_url: str = setting("notifications", default="https://api.africastalking.com/version1/messaging",
        description="Africa's Talking-style messaging endpoint")
    sms_africastalking_username: str | None = setting("notifications", default=None,
        description="Africa's Talking account username")
    sms_africastalking_api_key: str | None = setting("notifications", default=None,
        description="Africa's Talking apiKey header")
    sms_africastalking_from: str | None = setting("notifications", default=None,
        description="registered short code / sender id")
    smtp_host: str | None = setting("notifications", default=None,
        description="SMTP server for email notifications; unset = off")
    smtp_port: int = setting("notifications", default=25, ge=1, le=65535, description="SMTP server port")
    smtp_sender: str = setting("notifications", default="sebac@localhost",
        description="From: address of notification emails")
    smtp_username: str | None = setting("notifications", default=None, description="SMTP login; unset = no login")
    smtp_password: str | None = setting("notifications", default=None, description="SMTP password (never logged)")
    smtp_starttls: bool = setting("notifications", default=False,
        description="upgrade the SMTP connection with STARTTLS")

    # -- streaming: scale-out mode: the broker, its topics and the faust workers (used when broker is set) --
    broker: str | None = setting("streaming", default=None,
        description="kafka://host:port; embedded pipeline when unset")
    stream_app_id: str = setting("streaming", default="sebac", pattern=r"^[A-Za-z0-9._-]+$",
        description="faust app id: consumer group and changelog topic names")
    stream_topic_prefix: str = setting("streaming", default="sebac", pattern=r"^[A-Za-z0-9._-]+$",
        description="topic names are <prefix>.reports, <prefix>.signals…")
    stream_partitions: int = setting("streaming", default=8, ge=1, le=1024, description="partitions of every topic")
    stream_replication: int = setting("streaming", default=1, ge=1, le=5,
        description="replication factor of created topics")
    stream_batch_size: int = setting("streaming", default=1000, ge=1, le=10_000,
        description="messages per worker batch")
    stream_batch_seconds: float = setting("streaming", default=0.05, gt=0, le=10,
        description="longest wait for a worker batch to fill")
    stream_publish_timeout: float = setting("streaming", default=10.0, gt=0, le=120,
        description="seconds the API waits for the broker ack before 503")
    stream_sweep_interval: float = setting("streaming", default=30.0, gt=0,
        description="seconds between checks for records a worker's consumer skipped")
    stream_close_interval: float = setting("streaming", default=60.0, gt=0,
        description="seconds between epi-week close runs")
    stream_close_grace_hours: float = setting("streaming", default=24.0, ge=0,
        description="wait after a week ends before closing it")
    stream_retention_weeks: int = setting("streaming", default=8, ge=1,
        description="closed weeks kept in worker tables")
    stream_session_timeout: float = setting("streaming", default=10.0, ge=3, le=300,
        description="seconds before a silent worker leaves the group")
    stream_rebalance_timeout: float = setting("streaming", default=30.0, ge=5, le=600,
        description="seconds a rebalance waits for every worker to rejoin")
    stream_instance_id: str | None = setting("streaming", default=None, pattern=r"^[A-Za-z0-9._-]+$",
        description="static group membership of a worker (e.g. its pod name): a restarted worker takes its "
                    "partitions back at once")
    worker_metrics_port: int = setting("streaming", default=0, ge=0, le=65535,
        description="Prometheus port of a worker; 0 = off")

    # -- console: the console and the API's logins --
    auth_token_hours: float = setting("console", default=12.0, gt=0, le=24 * 90, description="lifetime of login tokens")

    @field_validator("database_url")
    @classmethod
    def _known_scheme(cls, v: str) -> str:
        if not v.startswith(("sqlite", "postgresql")):
            raise ValueError("SEBAC_DATABASE_URL must be a sqlite:// or postgresql:// URL")
        return v

    @model_validator(mode="after")
    def _no_placeholder_secrets(self) -> Settings:
        # outside development, every secret that is set must be real (≥ 12 chars, not "change-me")
        from ingest.sms.gateways import is_placeholder_secret

        if self.environment != "development":
            for name in SECRET_SETTINGS:
                if is_placeholder_secret(getattr(self, name)):
                    raise ValueError(f"SEBAC_{name.upper()} is a placeholder or shorter than 12 characters; "
                                     "set a real secret (or leave it unset)")
        missing = [f"SEBAC_{n.upper()}" for n in OUTBOUND_NEEDS.get(self.sms_outbound or "", ()) if not getattr(self, n)]
        if missing:
            raise ValueError(f"SEBAC_SMS_OUTBOUND={self.sms_outbound} needs {', '.join(missing)}")
        return self

    @classmethod
    def fields_of(cls, domain: Domain) -> tuple[str, ...]:
        """The names of one domain's fields, in declaration order."""
        return tuple(n for n, info in cls.model_fields.items() if domain_of(info) == domain)

    def domain(self, domain: Domain) -> dict[str, Any]:
        """One domain's settings by field name (a copy), e.g. ``settings.domain("streaming")``."""
        return {n: getattr(self, n) for n in self.fields_of(domain)}

    def secret_values(self) -> list[str]:
        """The secrets that are set: masked in every log line (:func:`ingest.redaction.install_log_redaction`)."""
        return [v for v in (getattr(self, n) for n in SECRET_SETTINGS) if v]

    @field_validator("broker")
    @classmethod
    def _kafka_url(cls, v: str | None) -> str | None:
        if v in (None, ""):
            return None
        if not v.startswith("kafka://") or ":" not in v[len("kafka://"):]:
            raise ValueError("SEBAC_BROKER must look like kafka://host:port")
        return v
