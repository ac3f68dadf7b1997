"""Configuration: environment variables (also read from `.env`), validated once at start."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.storage.sqlite import sqlite_path

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class Settings(BaseSettings):
    """Every knob of the bot. Names are the environment variables, upper-cased."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
    )

    discord_token: SecretStr = Field(min_length=1)
    geekai_api_key: SecretStr = Field(min_length=1)
    geekai_base_url: str = "https://geekai.co/api/v1"
    discord_api_base: str = "https://discord.com/api/v10"
    discord_gateway_url: str | None = None
    database_url: str = "sqlite:///data/imagine.db"
    dev_guild_id: int | None = None
    owner_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    operator_channel_id: int | None = None
    log_level: LogLevel = "INFO"
    log_format: Literal["text", "json"] = "text"

    # A fleet: the shards this process runs, and how long it owns a job without renewing.
    shard_count: int = Field(default=1, ge=1, le=4096)
    shard_ids: Annotated[tuple[int, ...] | None, NoDecode] = None
    lease_seconds: float = Field(default=30.0, ge=3, le=3600)

    # Jobs and polling.
    job_timeout_seconds: float = Field(default=600.0, gt=0)
    max_running_jobs: int = Field(default=20, ge=1)
    max_running_per_user: int = Field(default=2, ge=1)
    max_queued_per_user: int = Field(default=10, ge=0)
    max_queued_jobs: int = Field(default=500, ge=1)
    max_running_per_guild: int = Field(default=10, ge=1)
    max_queued_per_guild: int = Field(default=250, ge=1)
    status_edit_interval: float = Field(default=1.5, ge=0)
    interaction_token_ttl: float = Field(default=14 * 60, gt=0, le=15 * 60)

    # Quotas: the bot-wide default allowance (servers and admins refine it).
    quota_default_credits: int = Field(default=25, ge=0, le=1_000_000)
    quota_default_period: Literal["day", "week", "month", "total", "unlimited"] = "day"
    allow_dm_imagine: bool = False
    # Operator ceilings, above every server's settings (a public bot can be added anywhere).
    guild_allowlist: Annotated[frozenset[int], NoDecode] = frozenset()  # empty: any server
    user_daily_credits_max: int | None = Field(default=None, ge=0)
    guild_daily_credits_max: int | None = Field(default=None, ge=0)
    user_cooldown_seconds: float = Field(default=0.0, ge=0, le=3600)

    # GeekAI requests.
    geekai_request_timeout: float = Field(default=30.0, gt=0)
    geekai_max_attempts: int = Field(default=4, ge=1, le=10)

    # Images.
    default_model: str = "gpt-image-1"
    model_catalog_path: Path | None = None  # an operator's catalog: adds / replaces models
    max_input_image_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    max_download_bytes: int = Field(default=40 * 1024 * 1024, gt=0)
    max_parallel_deliveries: int = Field(default=4, ge=1, le=64)
    max_prompt_length: int = Field(default=1500, ge=1, le=4000)
    # Vary / image-to-image: the model used when the result's own model takes no reference
    # image (a catalog model with image input and strength), and GeekAI's own retries.
    vary_model: str = "jimeng_t2i_v40"
    geekai_task_retries: int = Field(default=0, ge=0, le=10)

    # Untrusted answers (issue 13): the cap on a GeekAI answer without images; answers
    # that may carry base64 images add MAX_DOWNLOAD_BYTES x 4/3 per image asked for.
    geekai_max_json_bytes: int = Field(default=8 * 1024 * 1024, gt=0)
    # Discord faults at delivery: the final result waits at most this long on the
    # interaction webhook (429s, 5xx retries) before it goes through the bot token.
    delivery_webhook_budget: float = Field(default=30.0, gt=0, le=900)

    @field_validator("owner_ids", "guild_allowlist", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p for p in value.replace(";", ",").replace(" ", ",").split(",") if p]
            return frozenset(int(p) for p in parts)
        if isinstance(value, int):
            return frozenset({value})
        return value

    @field_validator(
        "dev_guild_id",
        "discord_gateway_url",
        "operator_channel_id",
        "model_catalog_path",
        "user_daily_credits_max",
        "guild_daily_credits_max",
        mode="before",
    )
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("geekai_base_url", "discord_api_base")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _known_engine(cls, value: str) -> str:
        if value.startswith("sqlite:"):
            sqlite_path(value)
        elif not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("must be sqlite:///path.db or postgresql://user:pass@host:port/db")
        return value

    @field_validator("shard_ids", mode="before")
    @classmethod
    def _split_shards(cls, value: object) -> object:
        if value == "" or value is None:
            return None
        if isinstance(value, str):
            return tuple(int(p) for p in value.replace(" ", ",").split(",") if p)
        if isinstance(value, int):
            return (value,)
        return value

    @model_validator(mode="after")
    def _shards_in_range(self) -> Settings:
        if self.shard_ids is not None:
            wrong = [i for i in self.shard_ids if not 0 <= i < self.shard_count]
            if wrong or not self.shard_ids:
                raise ValueError(
                    f"SHARD_IDS must be ids from 0 to SHARD_COUNT - 1 ({self.shard_count - 1})"
                )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite:")

    @property
    def database_display(self) -> str:
        """The URL without its password, for messages."""
        password = urlsplit(self.database_url).password if not self.is_sqlite else None
        return self.database_url.replace(password, "***") if password else self.database_url

    def secrets(self) -> list[str]:
        """Values that must never appear in logs or messages."""
        values = [self.discord_token.get_secret_value(), self.geekai_api_key.get_secret_value()]
        password = None if self.is_sqlite else urlsplit(self.database_url).password
        return values + ([password] if password else [])

    # Operations: /healthz, /readyz and /metrics; off unless HTTP_PORT is set (0: any port).
    http_host: str = "127.0.0.1"
    http_port: int | None = Field(default=None, ge=0, le=65535)

    @field_validator("http_port", mode="before")
    @classmethod
    def _empty_port_is_off(cls, value: object) -> object:
        return None if value == "" else value


class SettingsError(Exception):
    """A setting is missing or invalid; the message is one line naming the variable."""


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise SettingsError(describe_validation_error(exc)) from None


def describe_validation_error(exc: ValidationError) -> str:
    problems = []
    for err in exc.errors():
        name = str(err["loc"][0]).upper() if err["loc"] else "?"
        empty = err["type"] in ("string_too_short", "too_short") and not err.get("input")
        missing = err["type"] == "missing" or empty
        reason = "is missing" if missing else f"is invalid ({err['msg']})"
        problems.append(f"{name} {reason}")
    return "; ".join(problems) + " — see .env.example"
