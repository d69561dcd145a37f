"""The bot's settings: read once, from the environment and a `.env` file, and checked (pydantic-settings).

Each field names its variable and says what it expects; a bad value is one line naming the variable
(`ConfigError`), and a blank one counts as unset.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import psycopg
from psycopg.conninfo import conninfo_to_dict
from pydantic import AfterValidator, BeforeValidator, Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from digits.community import DEFAULT_DATABASE, DEFAULT_QUORUM
from bot.shards import parse_shard_ids
from digits.reading import ImageLimits
from digits.settings import Paths, environment
from model_store import is_database_url, redact


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names it and says what is expected, in one line."""


def _ids(raw: Any) -> Any:
    """`"1, 2"` → {1, 2} (IDs are positive whole numbers)."""
    if isinstance(raw, str):
        raw = [int(part) for part in raw.replace(" ", "").split(",") if part]
    if any(not isinstance(i, int) or i <= 0 for i in raw):
        raise ValueError("not positive IDs")
    return raw


def _prefixed(*schemes: str) -> AfterValidator:
    def check(url: str) -> str:
        if not url.startswith(schemes):
            raise ValueError(f"not {' or '.join(schemes)}")
        return url.rstrip("/") if url.startswith("http") else url

    return AfterValidator(check)


def _database(raw: Any) -> Any:
    """A `postgresql://` URL (kept as text), or a file path that is not a folder."""
    if isinstance(raw, str) and "://" in raw:
        if not is_database_url(raw):
            raise ValueError("not a postgresql:// URL")
        try:
            conninfo_to_dict(raw)
        except psycopg.ProgrammingError:
            raise ValueError("not a URL PostgreSQL reads") from None
        return raw
    path = Path(raw).expanduser()
    if path.is_dir():
        raise ValueError("a folder")
    return path


def _shard_ids(raw: Any) -> Any:
    return parse_shard_ids(raw) if isinstance(raw, str) else raw


Ids = Annotated[frozenset[int], BeforeValidator(_ids)]
ShardIds = Annotated[tuple[int, ...], BeforeValidator(_shard_ids)]


class BotSettings(BaseSettings):
    """Everything the bot is configured with; each field's alias is its environment variable."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", populate_by_name=True, case_sensitive=True)

    token: str = Field(alias="DISCORD_TOKEN", min_length=1, repr=False, description="the bot token")  # never logged
    paths: Paths
    prefix: str = Field("!", alias="BOT_PREFIX", min_length=1, description="a non-empty command prefix")
    admin_user_ids: Ids = Field(frozenset(), alias="BOT_ADMIN_USER_IDS", description="comma-separated Discord user IDs")
    admin_role_ids: Ids = Field(frozenset(), alias="BOT_ADMIN_ROLE_IDS", description="comma-separated Discord role IDs")
    channel_ids: Ids = Field(frozenset(), alias="BOT_CHANNEL_IDS", description="comma-separated Discord channel IDs")  # empty: all
    max_image_bytes: int = Field(ImageLimits.max_bytes, alias="BOT_MAX_IMAGE_BYTES", gt=0,
                                 description="a positive whole number of bytes")
    max_image_pixels: int = Field(ImageLimits.max_pixels, alias="BOT_MAX_IMAGE_PIXELS", gt=0,
                                  description="a positive whole number of pixels")
    cooldown_rate: int = Field(10, alias="BOT_COOLDOWN_RATE", gt=0, description="a positive whole number of images")
    cooldown_seconds: float = Field(30.0, alias="BOT_COOLDOWN_SECONDS", gt=0, description="a positive number of seconds")
    download_timeout: float = Field(30.0, alias="BOT_DOWNLOAD_TIMEOUT", gt=0, description="a positive number of seconds")
    accuracy_floor_points: float = Field(0.5, alias="BOT_ACCURACY_FLOOR", ge=0,
                                         description="a number of percentage points ≥ 0")
    retrain_train_limit: int | None = Field(None, alias="BOT_RETRAIN_TRAIN_LIMIT", gt=0,
                                            description="a positive whole number of images")
    database: Annotated[Path | str, BeforeValidator(_database)] = Field(
        DEFAULT_DATABASE, alias="BOT_DATABASE",
        description="a file path (not a folder) for the corrections database, or a postgresql:// URL")
    correction_quorum: int = Field(DEFAULT_QUORUM, alias="BOT_CORRECTION_QUORUM", gt=0,
                                   description="a positive whole number of members")
    message_content: bool = Field(True, alias="BOT_MESSAGE_CONTENT", description="true or false")
    api_base: Annotated[str, _prefixed("http://", "https://")] | None = Field(
        None, alias="DISCORD_API_BASE", description="an http(s) URL such as https://discord.com/api/v10")
    gateway_url: Annotated[str, _prefixed("ws://", "wss://")] | None = Field(
        None, alias="DISCORD_GATEWAY_URL", description="a ws(s) URL such as wss://gateway.discord.gg/")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", alias="BOT_LOG_LEVEL", description="DEBUG, INFO, WARNING or ERROR")
    # Sharding and the cluster (docs/operating.md, "Many servers: shards and processes").
    shard_count: int | None = Field(None, alias="BOT_SHARD_COUNT", gt=0,
                                    description="a positive whole number of shards")  # None: Discord's recommendation
    shard_ids: ShardIds | None = Field(None, alias="BOT_SHARD_IDS",
                                       description="shard ids or ranges such as 0-7 or 0,2,4")  # None: all
    processes: int = Field(1, alias="BOT_PROCESSES", gt=0, description="a positive whole number of processes")
    metrics_port: int | None = Field(None, alias="BOT_METRICS_PORT", gt=0, lt=65536,
                                     description="a TCP port number (1-65535)")  # None: no /healthz or /metrics
    identify_interval: float = Field(5.0, alias="BOT_IDENTIFY_INTERVAL", gt=0,
                                     description="a positive number of seconds")  # Discord's 5 s; shorter for tests
    reading_workers: int = Field(os.cpu_count() or 1, alias="BOT_READING_WORKERS", gt=0,
                                 description="a positive whole number of processes")

    @model_validator(mode="after")
    def _shards_agree(self) -> BotSettings:
        if self.shard_ids is not None:
            if self.shard_count is None:
                raise ValueError("BOT_SHARD_IDS needs BOT_SHARD_COUNT: every process of the bot must use the same count")
            if self.shard_ids[-1] >= self.shard_count:
                raise ValueError(f"BOT_SHARD_IDS names shard {self.shard_ids[-1]}, but BOT_SHARD_COUNT={self.shard_count} "
                                 f"makes shards 0-{self.shard_count - 1}")
        return self

    @model_validator(mode="before")
    @classmethod
    def _from_variables(cls, data: Any) -> Any:
        """Blank variables count as unset; the paths come from MODEL_STORE, MNIST_DIR and XDG_CACHE_HOME."""
        if not isinstance(data, Mapping):
            return data
        values = {name: value.strip() if isinstance(value, str) else value for name, value in data.items()}
        values = {name: value for name, value in values.items() if value != ""}
        if isinstance(values.get("BOT_LOG_LEVEL"), str):
            values["BOT_LOG_LEVEL"] = values["BOT_LOG_LEVEL"].upper()
        values.setdefault("paths", Paths.from_env(values))
        return values

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> BotSettings:
        """Read the settings from `env` (default: the process environment, completed by `.env`).

        Raises ConfigError on the first missing or malformed value.
        """
        variables = dict(environment() if env is None else env)
        try:
            return cls.model_validate(variables)
        except ValidationError as error:
            raise ConfigError(_first_problem(error, variables)) from None


def _first_problem(error: ValidationError, variables: Mapping[str, str]) -> str:
    """One line for the first bad value: the variable, what it must be, what it was."""
    problem = error.errors()[0]
    if not problem["loc"]:  # a rule between settings: its message names them
        return str(problem["msg"]).removeprefix("Value error, ")
    name = str(problem["loc"][0])
    if name == "DISCORD_TOKEN" and problem["type"] in ("missing", "string_too_short"):
        return "DISCORD_TOKEN is not set: put the bot token from the Discord Developer Portal in the environment or in .env"
    field = next((f for f in BotSettings.model_fields.values() if f.alias == name), None)
    expected = field.description if field is not None and field.description else problem["msg"]
    return f"{name} must be {expected}, got {redact(variables.get(name, ''))!r}"  # never a password
