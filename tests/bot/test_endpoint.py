"""bot.endpoint: pointing discord.py at another API base, and back."""

from __future__ import annotations

import discord.gateway
import discord.http
import yarl

from bot.endpoint import discord_py_pointed_at, point_discord_py_at


def current() -> tuple[str, yarl.URL]:
    return discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY


def test_pointed_at_a_base_for_a_block_then_back() -> None:
    before = current()
    with discord_py_pointed_at("http://127.0.0.1:1/api/v10", "ws://127.0.0.1:1/gateway"):
        assert current() == ("http://127.0.0.1:1/api/v10", yarl.URL("ws://127.0.0.1:1/gateway"))
        point_discord_py_at("http://127.0.0.1:2/api/v10", None)  # a change inside the block is undone too
    assert current() == before


def test_none_or_empty_keeps_the_current_value_and_the_previous_ones_are_returned() -> None:
    before = current()
    assert point_discord_py_at(None, "") == (before[0], str(before[1]))
    assert current() == before
