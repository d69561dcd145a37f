"""Injected faults, and discord.py riding them out: 429s, 500s, a slow or missing CDN."""

from __future__ import annotations

import time

import discord
import pytest

from discord_twin import Attachment, DiscordTwin, World
from discord_twin.tests.clients import StartClient, make_client, received, record_messages

pytestmark = pytest.mark.timeout(30)

async def test_429_is_waited_out_and_retried_by_discord_py(
    discord_twin: DiscordTwin, twin_world: World, start_client: StartClient
) -> None:
    client = await start_client(make_client())
    channel = client.get_channel(twin_world.channel.id)
    assert isinstance(channel, discord.TextChannel)

    discord_twin.fail_next_rest(429, retry_after=0.3, route="POST /api/v10/channels/")
    started = time.perf_counter()
    await channel.send("eventually")
    assert time.perf_counter() - started >= 0.3
    assert [m.content for m in discord_twin.bot_messages] == ["eventually"]
    statuses = [c.status for c in discord_twin.rest_calls if c.method == "POST"]
    assert statuses == [429, 200]


async def test_500_is_retried_by_discord_py(discord_twin: DiscordTwin, twin_world: World, start_client: StartClient) -> None:
    client = await start_client(make_client())
    channel = client.get_channel(twin_world.channel.id)
    assert isinstance(channel, discord.TextChannel)

    discord_twin.fail_next_rest(500)
    await channel.send("after a server error")  # discord.py sleeps 1 s before its retry.
    assert [c.status for c in discord_twin.rest_calls if c.method == "POST"] == [500, 200]


async def test_cdn_faults(discord_twin: DiscordTwin, twin_world: World, start_client: StartClient) -> None:
    client = make_client()
    queue = record_messages(client)
    await start_client(client)
    await discord_twin.post_message(twin_world.channel, twin_world.user, attachments=[Attachment(b"abc", "a.bin")])
    [message] = await received(queue, 1)
    attachment = message.attachments[0]

    discord_twin.cdn_delay(0.2)
    started = time.perf_counter()
    assert await attachment.read() == b"abc"
    assert time.perf_counter() - started >= 0.2

    discord_twin.cdn_delay(0)
    discord_twin.cdn_not_found()
    with pytest.raises(discord.NotFound):
        await attachment.read()
