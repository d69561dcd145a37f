"""Rate limits at Discord's documented scale (topics/rate-limits), injected faults with Discord's JSON error codes,
and callback types valid only for components (interactions/receiving-and-responding › Interaction Callback Type)."""

from __future__ import annotations

import time

import aiohttp
import discord
import pytest

from discord_twin import DiscordTwin, World
from discord_twin.tests.clients import StartClient, make_client

pytestmark = pytest.mark.timeout(30)


async def test_message_route_bucket_is_5_per_5_seconds_per_channel_with_the_documented_headers(
    discord_twin: DiscordTwin, twin_world: World
) -> None:
    """Per-route limits account for the top-level resource (channel_id): a full bucket in one channel leaves another
    channel's free. Header Format: X-RateLimit-Limit/-Remaining/-Reset/-Reset-After/-Bucket; a 429 carries
    X-RateLimit-Scope and retry_after (Exceeding A Rate Limit)."""
    other = discord_twin.create_channel(twin_world.guild, "other")
    headers = {"Authorization": f"Bot {discord_twin.token}"}
    url = f"{discord_twin.api_base}/channels/{{}}/messages"
    async with aiohttp.ClientSession(headers=headers) as session:
        statuses = []
        for index in range(6):
            async with session.post(url.format(twin_world.channel.id), json={"content": str(index)}) as response:
                statuses.append(response.status)
                if index == 0:
                    first = dict(response.headers)
                last = response
                body = await response.json()
        assert statuses == [200] * 5 + [429]
        assert first["X-RateLimit-Limit"] == "5" and first["X-RateLimit-Remaining"] == "4"
        assert 4.5 < float(first["X-RateLimit-Reset-After"]) <= 5.0 and first["X-RateLimit-Bucket"]
        assert last.headers["X-RateLimit-Scope"] == "user" and body["global"] is False
        assert 0 < body["retry_after"] <= 5.0
        async with session.post(url.format(other.id), json={"content": "elsewhere"}) as response:
            assert response.status == 200


async def test_global_limit_is_50_per_second_and_interactions_are_exempt(
    discord_twin: DiscordTwin, twin_world: World
) -> None:
    """Global Rate Limit: "All bots can make up to 50 requests per second"; the 429 says global (X-RateLimit-Global,
    scope "global"); "Interaction endpoints are not bound to the bot's Global Rate Limit"."""
    headers = {"Authorization": f"Bot {discord_twin.token}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        statuses = []
        for _ in range(51):
            async with session.get(f"{discord_twin.api_base}/guilds/{twin_world.guild.id}") as response:
                statuses.append(response.status)
                last = response
                body = await response.json()
        assert statuses.count(200) == 50 and statuses[-1] == 429
        assert last.headers["X-RateLimit-Global"] == "true" and last.headers["X-RateLimit-Scope"] == "global"
        assert body["global"] is True
        # An interaction's webhook is not held up by the exhausted global limit (404: no such token, not 429).
        async with session.get(f"{discord_twin.api_base}/webhooks/{discord_twin.application_id}/x/messages/@original") as r:
            assert r.status == 404


async def test_discord_py_waits_on_the_bucket_instead_of_failing(
    discord_twin: DiscordTwin, twin_world: World, start_client: StartClient
) -> None:
    """A client that reads the headers (discord.py) sends 7 messages into one channel in over 5 s, without errors."""
    client = await start_client(make_client())
    channel = client.get_channel(twin_world.channel.id)
    assert isinstance(channel, discord.TextChannel)
    started = time.perf_counter()
    for index in range(7):
        await channel.send(str(index))
    assert time.perf_counter() - started >= 4.0
    assert [m.content for m in discord_twin.bot_messages] == [str(i) for i in range(7)]


async def test_injected_faults_carry_discords_error_codes(
    discord_twin: DiscordTwin, twin_world: World, start_client: StartClient
) -> None:
    """topics/opcodes-and-status-codes › JSON Error Codes: a 403 is 50013 "Missing Permissions", a 404 on a message
    10008 "Unknown Message" (unless a test names another code)."""
    client = await start_client(make_client())
    channel = client.get_channel(twin_world.channel.id)
    assert isinstance(channel, discord.TextChannel)
    discord_twin.fail_next_rest(403, route="POST /api/v10/channels/")
    with pytest.raises(discord.Forbidden) as forbidden:
        await channel.send("x")
    assert forbidden.value.code == 50013
    discord_twin.fail_next_rest(404, route="PATCH /api/v10/channels/")
    sent = await channel.send("y")
    with pytest.raises(discord.NotFound) as missing:
        await sent.edit(content="z")
    assert missing.value.code == 10008
    discord_twin.fail_next_rest(403, route="POST /api/v10/channels/", code=160002, message="Cannot reply")
    with pytest.raises(discord.Forbidden) as chosen:
        await channel.send("w")
    assert chosen.value.code == 160002


async def test_update_callbacks_are_refused_for_application_commands(discord_twin: DiscordTwin, twin_world: World) -> None:
    """Interaction Callback Type: DEFERRED_UPDATE_MESSAGE (6) and UPDATE_MESSAGE (7) are "Only valid for
    component-based interactions"; a slash command answered with them gets 400 / 50035, and stays unanswered."""
    async with aiohttp.ClientSession() as session:
        for kind in (6, 7):
            interaction = await discord_twin.interactions.open(
                twin_world.channel, twin_world.user, None, {"type": 1, "name": "quiet", "options": []}, None)
            url = f"{discord_twin.api_base}/interactions/{interaction.id}/{interaction.token}/callback"
            async with session.post(url, json={"type": kind}) as response:
                assert response.status == 400
                assert (await response.json())["code"] == 50035
            assert interaction.callbacks == []
            async with session.post(url, json={"type": 5}) as response:
                assert response.status == 204  # the right acknowledgement still works
