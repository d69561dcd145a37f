"""Shard settings and ranges: BOT_SHARD_COUNT, BOT_SHARD_IDS, and how the launcher splits them over processes."""

from __future__ import annotations

import pytest

from bot.config import BotSettings, ConfigError
from bot.shards import describe, parse_shard_ids, split


def test_shard_ids_read_as_written_and_shown_back() -> None:
    assert parse_shard_ids("0-7") == tuple(range(8))
    assert parse_shard_ids("0,2,4") == (0, 2, 4)
    assert parse_shard_ids(" 8, 0-3, 2 ") == (0, 1, 2, 3, 8)
    assert describe((0, 1, 2, 3, 8)) == "0-3,8" and describe([5]) == "5"
    for bad in ("", "a", "3-1", "-1", "1-", "0,,x"):
        with pytest.raises(ValueError):
            parse_shard_ids(bad)


def test_split_gives_each_process_a_contiguous_range() -> None:
    assert split(range(8), 2) == [(0, 1, 2, 3), (4, 5, 6, 7)]
    assert split(range(5), 3) == [(0, 1), (2, 3), (4,)]
    assert split((8, 9, 10), 2) == [(8, 9), (10,)]  # this machine's part of the shards
    with pytest.raises(ValueError, match="3 processes cannot share 2 shard"):
        split(range(2), 3)


def test_shard_settings() -> None:
    settings = BotSettings.from_env({"DISCORD_TOKEN": "t", "BOT_SHARD_COUNT": "16", "BOT_SHARD_IDS": "8-15",
                                     "BOT_PROCESSES": "2", "BOT_METRICS_PORT": "9310"})
    assert settings.shard_count == 16 and settings.shard_ids == tuple(range(8, 16))
    assert settings.processes == 2 and settings.metrics_port == 9310
    defaults = BotSettings.from_env({"DISCORD_TOKEN": "t"})
    assert defaults.shard_count is None and defaults.shard_ids is None and defaults.metrics_port is None
    assert defaults.identify_interval == 5.0 and defaults.reading_workers >= 1


@pytest.mark.parametrize(("env", "message"), [
    ({"BOT_SHARD_IDS": "0-3"}, "BOT_SHARD_IDS needs BOT_SHARD_COUNT"),
    ({"BOT_SHARD_IDS": "2-4", "BOT_SHARD_COUNT": "4"}, "BOT_SHARD_IDS names shard 4, but BOT_SHARD_COUNT=4 makes shards 0-3"),
    ({"BOT_SHARD_IDS": "4-2", "BOT_SHARD_COUNT": "8"}, "BOT_SHARD_IDS must be shard ids or ranges such as 0-7 or 0,2,4"),
    ({"BOT_SHARD_COUNT": "0"}, "BOT_SHARD_COUNT must be a positive whole number of shards"),
    ({"BOT_METRICS_PORT": "70000"}, "BOT_METRICS_PORT must be a TCP port number (1-65535)"),
])
def test_bad_shard_settings_say_what_is_wrong(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as error:
        BotSettings.from_env({"DISCORD_TOKEN": "t", **env})
    assert str(error.value).startswith(message)
