"""`make run`'s choice (bot/run.py): the bot on Discord with a token, the playground with the bot in it without."""

from __future__ import annotations

import sys

import pytest

from bot.config import ConfigError
from bot.run import command


def test_with_a_token_the_bot_runs_on_discord() -> None:
    assert command({"DISCORD_TOKEN": "abc"}) == [sys.executable, "-m", "bot"]


def test_without_a_token_the_playground_runs_the_bot_with_its_upload_limits() -> None:
    argv = command({"BOT_MAX_IMAGE_BYTES": "1234"})
    assert argv[:3] == [sys.executable, "-m", "discord_twin.playground"]
    assert argv[argv.index("--max-upload-bytes") + 1] == "1234"
    assert argv[argv.index("--") + 1:] == [sys.executable, "-m", "bot"]


def test_a_bad_setting_stops_before_the_playground() -> None:
    with pytest.raises(ConfigError, match="BOT_MAX_IMAGE_PIXELS"):
        command({"BOT_MAX_IMAGE_PIXELS": "lots"})
