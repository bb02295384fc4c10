"""Settings from the environment (``SEBAC_`` prefix) and an optional ``.env`` file, strictly validated."""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
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

    @field_validator("database_url")
    @classmethod
    def _known_scheme(cls, v: str) -> str:
        if not v.startswith(("sqlite", "postgresql")):
            raise ValueError("SEBAC_DATABASE_URL must be a sqlite:// or postgresql:// URL")
        return v

    @field_validator("broker")
    @classmethod
    def _kafka_url(cls, v: str | None) -> str | None:
        if v in (None, ""):
            return None
        if not v.startswith("kafka://") or ":" not in v[len("kafka://"):]:
            raise ValueError("SEBAC_BROKER must look like kafka://host:port")
        return v
