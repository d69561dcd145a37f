"""The bot's settings: read once, from the environment and a `.env` file, and checked."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from digits.community import DEFAULT_DATABASE, DEFAULT_QUORUM
from digits.reading import ImageLimits
from digits.settings import Paths, environment

T = TypeVar("T")


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names it and says what is expected, in one line."""


@dataclass(frozen=True)
class BotSettings:
    """Everything the bot is configured with; `from_env` documents each variable."""

    token: str = field(repr=False)  # never printed, never logged
    paths: Paths
    prefix: str = "!"
    admin_user_ids: frozenset[int] = frozenset()
    admin_role_ids: frozenset[int] = frozenset()
    channel_ids: frozenset[int] = frozenset()  # empty: every channel the bot can read
    max_image_bytes: int = ImageLimits.max_bytes
    max_image_pixels: int = ImageLimits.max_pixels
    cooldown_rate: int = 10
    cooldown_seconds: float = 30.0
    download_timeout: float = 30.0
    accuracy_floor_points: float = 0.5
    retrain_train_limit: int | None = None
    database: Path = DEFAULT_DATABASE  # community corrections (SQLite)
    correction_quorum: int = DEFAULT_QUORUM  # members who must agree before a correction is trained on
    message_content: bool = True
    api_base: str | None = None
    gateway_url: str | None = None
    log_level: str = "INFO"

    def watches(self, channel_id: int) -> bool:
        """Whether messages in this channel are read (an empty BOT_CHANNEL_IDS means all)."""
        return not self.channel_ids or channel_id in self.channel_ids

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> BotSettings:
        """Read the settings from `env` (default: the process environment, completed by `.env`).

        Raises ConfigError on the first missing or malformed value.
        """
        env = environment() if env is None else env

        def get(name: str, parse: Callable[[str], T], default: T, expected: str) -> T:
            raw = env.get(name, "").strip()
            if not raw:
                return default
            try:
                return parse(raw)
            except ValueError:
                raise ConfigError(f"{name} must be {expected}, got {raw!r}") from None

        token = env.get("DISCORD_TOKEN", "").strip()
        if not token:
            raise ConfigError("DISCORD_TOKEN is not set: put the bot token from the Discord Developer Portal in the environment or in .env")
        prefix = env.get("BOT_PREFIX", "!").strip()
        if not prefix:
            raise ConfigError("BOT_PREFIX must not be empty")
        log_level = env.get("BOT_LOG_LEVEL", "INFO").strip().upper()
        if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ConfigError(f"BOT_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, got {log_level!r}")
        return cls(
            token=token,
            paths=Paths.from_env(env),
            prefix=prefix,
            admin_user_ids=get("BOT_ADMIN_USER_IDS", _id_set, frozenset(), "comma-separated Discord user IDs"),
            admin_role_ids=get("BOT_ADMIN_ROLE_IDS", _id_set, frozenset(), "comma-separated Discord role IDs"),
            channel_ids=get("BOT_CHANNEL_IDS", _id_set, frozenset(), "comma-separated Discord channel IDs"),
            max_image_bytes=get("BOT_MAX_IMAGE_BYTES", _positive(int), cls.max_image_bytes, "a positive whole number of bytes"),
            max_image_pixels=get("BOT_MAX_IMAGE_PIXELS", _positive(int), cls.max_image_pixels, "a positive whole number of pixels"),
            cooldown_rate=get("BOT_COOLDOWN_RATE", _positive(int), cls.cooldown_rate, "a positive whole number of messages"),
            cooldown_seconds=get("BOT_COOLDOWN_SECONDS", _positive(float), cls.cooldown_seconds, "a positive number of seconds"),
            download_timeout=get("BOT_DOWNLOAD_TIMEOUT", _positive(float), cls.download_timeout, "a positive number of seconds"),
            accuracy_floor_points=get("BOT_ACCURACY_FLOOR", _non_negative_float, cls.accuracy_floor_points, "a number of percentage points ≥ 0"),
            retrain_train_limit=get("BOT_RETRAIN_TRAIN_LIMIT", _positive(int), None, "a positive whole number of images"),
            database=get("BOT_DATABASE", _file_path, DEFAULT_DATABASE, "a file path (not a folder) for the corrections database"),
            correction_quorum=get("BOT_CORRECTION_QUORUM", _positive(int), DEFAULT_QUORUM, "a positive whole number of members"),
            message_content=get("BOT_MESSAGE_CONTENT", _boolean, True, "true or false"),
            api_base=get("DISCORD_API_BASE", _http_url, None, "an http(s) URL such as https://discord.com/api/v10"),
            gateway_url=get("DISCORD_GATEWAY_URL", _ws_url, None, "a ws(s) URL such as wss://gateway.discord.gg/"),
            log_level=log_level,
        )


def _id_set(raw: str) -> frozenset[int]:
    ids = frozenset(int(part) for part in raw.replace(" ", "").split(",") if part)
    if any(i <= 0 for i in ids):
        raise ValueError(raw)
    return ids


def _positive(kind: Callable[[str], T]) -> Callable[[str], T]:
    def parse(raw: str) -> T:
        value = kind(raw)
        if not value > 0:  # type: ignore[operator]
            raise ValueError(raw)
        return value

    return parse


def _non_negative_float(raw: str) -> float:
    value = float(raw)
    if not value >= 0:
        raise ValueError(raw)
    return value


def _file_path(raw: str) -> Path:
    path = Path(raw).expanduser()
    if path.is_dir():
        raise ValueError(raw)
    return path


def _boolean(raw: str) -> bool:
    lowered = raw.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(raw)


def _http_url(raw: str) -> str:
    if not raw.startswith(("http://", "https://")):
        raise ValueError(raw)
    return raw.rstrip("/")


def _ws_url(raw: str) -> str:
    if not raw.startswith(("ws://", "wss://")):
        raise ValueError(raw)
    return raw
