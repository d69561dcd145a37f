"""The bot's settings: defaults, parsing, and one clear line for each bad value."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import BotSettings, ConfigError


def test_defaults_need_only_a_token() -> None:
    settings = BotSettings.from_env({"DISCORD_TOKEN": "secret-token"})
    assert settings.prefix == "!"
    assert settings.channel_ids == frozenset()
    assert settings.paths.model_store == Path("models")
    assert settings.accuracy_floor_points == 0.5
    assert settings.database == Path("data/digitbot.sqlite3") and settings.correction_quorum == 2
    assert settings.api_base is None and settings.gateway_url is None
    assert "secret-token" not in repr(settings)


def test_every_setting_is_read() -> None:
    settings = BotSettings.from_env({
        "DISCORD_TOKEN": "t", "BOT_PREFIX": "?", "BOT_ADMIN_USER_IDS": "1, 2", "BOT_ADMIN_ROLE_IDS": "3",
        "BOT_CHANNEL_IDS": "4,5", "MODEL_STORE": "/srv/models", "MNIST_DIR": "/data/mnist",
        "BOT_MAX_IMAGE_BYTES": "1000", "BOT_MAX_IMAGE_PIXELS": "2000", "BOT_COOLDOWN_RATE": "3",
        "BOT_COOLDOWN_SECONDS": "7.5", "BOT_ACCURACY_FLOOR": "0", "BOT_RETRAIN_TRAIN_LIMIT": "500",
        "BOT_DATABASE": "/srv/bot/corrections.sqlite3", "BOT_CORRECTION_QUORUM": "3",
        "BOT_MESSAGE_CONTENT": "false", "DISCORD_API_BASE": "http://127.0.0.1:9/api/v10/",
        "DISCORD_GATEWAY_URL": "ws://127.0.0.1:9/gateway", "BOT_LOG_LEVEL": "debug",
    })
    assert settings.prefix == "?"
    assert settings.admin_user_ids == {1, 2} and settings.admin_role_ids == {3} and settings.channel_ids == {4, 5}
    assert settings.paths.model_store == Path("/srv/models") and settings.paths.mnist_dir == Path("/data/mnist")
    assert (settings.max_image_bytes, settings.max_image_pixels) == (1000, 2000)
    assert (settings.cooldown_rate, settings.cooldown_seconds) == (3, 7.5)
    assert settings.accuracy_floor_points == 0.0 and settings.retrain_train_limit == 500
    assert settings.database == Path("/srv/bot/corrections.sqlite3") and settings.correction_quorum == 3
    assert settings.message_content is False
    assert settings.api_base == "http://127.0.0.1:9/api/v10" and settings.gateway_url == "ws://127.0.0.1:9/gateway"
    assert settings.log_level == "DEBUG"


@pytest.mark.parametrize(("name", "value", "message"), [
    ("DISCORD_TOKEN", "", "DISCORD_TOKEN is not set"),
    ("BOT_ADMIN_USER_IDS", "alice", "BOT_ADMIN_USER_IDS must be comma-separated Discord user IDs, got 'alice'"),
    ("BOT_CHANNEL_IDS", "-4", "BOT_CHANNEL_IDS must be comma-separated Discord channel IDs"),
    ("BOT_COOLDOWN_RATE", "0", "BOT_COOLDOWN_RATE must be a positive whole number"),
    ("BOT_COOLDOWN_SECONDS", "soon", "BOT_COOLDOWN_SECONDS must be a positive number of seconds"),
    ("BOT_ACCURACY_FLOOR", "-1", "BOT_ACCURACY_FLOOR must be a number of percentage points"),
    ("BOT_DATABASE", "/", "BOT_DATABASE must be a file path (not a folder) for the corrections database, or a "
                          "postgresql:// URL, got '/'"),
    ("BOT_DATABASE", "mysql://bot:secret@db/x", "BOT_DATABASE must be a file path (not a folder) for the corrections "
                                                "database, or a postgresql:// URL, got 'mysql://bot@db/x'"),
    ("BOT_CORRECTION_QUORUM", "0", "BOT_CORRECTION_QUORUM must be a positive whole number of members, got '0'"),
    ("BOT_MESSAGE_CONTENT", "maybe", "BOT_MESSAGE_CONTENT must be true or false"),
    ("DISCORD_API_BASE", "discord.com", "DISCORD_API_BASE must be an http(s) URL"),
    ("DISCORD_GATEWAY_URL", "http://x", "DISCORD_GATEWAY_URL must be a ws(s) URL"),
    ("BOT_LOG_LEVEL", "loud", "BOT_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR"),
])
def test_bad_values_name_the_setting(name: str, value: str, message: str) -> None:
    env = {"DISCORD_TOKEN": "t", name: value}
    with pytest.raises(ConfigError) as error:
        BotSettings.from_env(env)
    assert str(error.value).startswith(message)
    assert "\n" not in str(error.value)
