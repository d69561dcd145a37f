"""Speaking Discord's protocol as Discord does, not only as discord.py reads it: transport compression, JSON in binary
frames, a token shaped like Discord's, no rate limit headers on the interaction callback, and a second, independent
library (hikari) doing the basics against the twin unchanged. Each test cites its section of discord-api-docs."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import zlib
from typing import Any

import aiohttp
import discord
import pytest

from discord_twin import DiscordTwin, World
from discord_twin.tests.clients import WAIT, StartClient, make_client, received, record_messages

pytestmark = pytest.mark.timeout(30)

ZLIB_SUFFIX = b"\x00\x00\xff\xff"


async def test_zlib_stream_frames_share_one_context_and_end_with_the_sync_flush_suffix(
    discord_twin: DiscordTwin, twin_world: World
) -> None:
    """events/gateway › Transport Compression › zlib-stream: with compress=zlib-stream every frame is binary, read
    "through a single Gateway connection using a shared zlib context", each message ending with "the 4-byte
    Z_SYNC_FLUSH suffix (00 00 ff ff)"; without it, frames are JSON text."""
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(f"{discord_twin.gateway_url}?v=10&encoding=json&compress=zlib-stream") as ws:
            inflator = zlib.decompressobj()

            async def receive() -> dict[str, Any]:
                frame = await ws.receive(timeout=WAIT)
                assert frame.type is aiohttp.WSMsgType.BINARY and frame.data.endswith(ZLIB_SUFFIX)
                return json.loads(inflator.decompress(frame.data))  # type: ignore[no-any-return]

            assert (await receive())["op"] == 10
            await ws.send_json({"op": 2, "d": {"token": discord_twin.token, "intents": 1, "properties": {}}})
            ready = await receive()
            assert ready["t"] == "READY"
            assert (await receive())["t"] == "GUILD_CREATE"  # decompressible only with the context READY went through
        async with session.ws_connect(f"{discord_twin.gateway_url}?v=10&encoding=json") as ws:
            hello = await ws.receive(timeout=WAIT)
            assert hello.type is aiohttp.WSMsgType.TEXT and json.loads(hello.data)["op"] == 10


async def test_discord_py_reads_the_compressed_stream(
    discord_twin: DiscordTwin, twin_world: World, start_client: StartClient
) -> None:
    """discord.py asks for compress=zlib-stream (events/gateway › Connecting › Gateway URL Query String Params) and
    now receives it: its decompression path is the one every test of the twin and of the bot goes through."""
    client = make_client()
    queue = record_messages(client)
    await start_client(client)
    assert "compress=zlib-stream" in discord_twin.gateway.connection_urls[-1]
    await discord_twin.post_message(twin_world.channel, twin_world.user, "through zlib")
    assert [m.content for m in await received(queue, 1)] == ["through zlib"]


async def test_json_in_binary_frames_is_read_and_garbage_closes_with_4002(
    discord_twin: DiscordTwin, twin_world: World
) -> None:
    """events/gateway › Sending Events: payloads are JSON (hikari sends them in binary frames; the twin reads those);
    Close Event Codes: 4002 "Decode error: You sent an invalid payload"."""
    identify = {"op": 2, "d": {"token": discord_twin.token, "intents": 1, "properties": {}}}
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(f"{discord_twin.gateway_url}?v=10&encoding=json") as ws:
            await ws.receive(timeout=WAIT)
            await ws.send_bytes(json.dumps(identify).encode())
            assert json.loads((await ws.receive(timeout=WAIT)).data)["t"] == "READY"
        for garbage in (b"\xff\xfe not json", b"[1, 2]"):
            async with session.ws_connect(f"{discord_twin.gateway_url}?v=10&encoding=json") as ws:
                await ws.receive(timeout=WAIT)
                await ws.send_bytes(garbage)
                closing = await ws.receive(timeout=WAIT)
                assert closing.type is aiohttp.WSMsgType.CLOSE and closing.data == 4002


async def test_the_token_is_shaped_like_discords() -> None:
    """reference › Authentication: "Authorization: Bot MTk4NjIyNDgzNDcxOTI1MjQ4.Cl2FMQ.ZnCjm1XVW7vRze4b7Cq4se7kKWs":
    three dot-separated parts, the first the bot user's id in base64. A twin given such a token takes its bot id
    from it; any other token it is given is accepted as it is."""
    async with DiscordTwin() as twin:
        first, second, third = twin.token.split(".")
        assert int(base64.b64decode(first + "=" * (-len(first) % 4))) == twin.bot_user.id
        assert second and len(third) >= 27
    discordish = f"{base64.b64encode(b'198622483471925248').decode().rstrip('=')}.Cl2FMQ.ZnCjm1XVW7vRze4b7Cq4se7kKWs"
    async with DiscordTwin(token=discordish) as twin:
        assert twin.bot_user.id == twin.application_id == 198622483471925248 and twin.token == discordish
    async with DiscordTwin(token="any-token") as twin:
        async with aiohttp.ClientSession(headers={"Authorization": "Bot any-token"}) as session:
            async with session.get(f"{twin.api_base}/users/@me") as response:
                assert response.status == 200


async def test_the_interaction_callback_carries_no_rate_limit_headers(
    discord_twin: DiscordTwin, twin_world: World
) -> None:
    """topics/rate-limits › Header Format describes the X-RateLimit-* headers of rate-limited routes; Discord answers
    the interaction callback (receiving-and-responding › Create Interaction Response) without them, while a bot
    route has them."""
    interaction = await discord_twin.open_slash_command(twin_world.channel, twin_world.user, "digit",
                                                        require_registered=False)
    async with aiohttp.ClientSession() as session:
        url = f"{discord_twin.api_base}/interactions/{interaction.id}/{interaction.token}/callback"
        async with session.post(url, json={"type": 4, "data": {"content": "a 7"}}) as response:
            assert response.status == 204
            assert not [h for h in response.headers if h.lower().startswith("x-ratelimit")]
        headers = {"Authorization": f"Bot {discord_twin.token}"}
        async with session.get(f"{discord_twin.api_base}/channels/{twin_world.channel.id}", headers=headers) as response:
            assert "X-RateLimit-Bucket" in response.headers


async def test_hikari_does_the_basics_against_the_twin_unchanged(
    discord_twin: DiscordTwin, twin_world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """A second library, hikari (PyPI, pinned in the test extra), pointed at the twin only by its REST URL: it reads
    /gateway/bot, connects with zlib-stream and binary frames and a Discord-shaped token, hears a message, replies,
    answers a slash command, fetches the channel over REST, and logs no error doing it."""
    import hikari  # here, not at import: every xdist worker collects this module, and one test uses hikari

    caplog.set_level(logging.WARNING, logger="hikari")
    bot = hikari.GatewayBot(discord_twin.token, rest_url=discord_twin.api_base, banner=None,
                            intents=hikari.Intents.ALL_UNPRIVILEGED | hikari.Intents.MESSAGE_CONTENT)
    heard: asyncio.Queue[str] = asyncio.Queue()

    @bot.listen(hikari.GuildMessageCreateEvent)
    async def on_message(event: hikari.GuildMessageCreateEvent) -> None:
        if event.is_human:
            heard.put_nowait(event.message.content or "")
            await event.message.respond(f"heard {event.message.content}", reply=True)

    @bot.listen(hikari.InteractionCreateEvent)
    async def on_interaction(event: hikari.InteractionCreateEvent) -> None:
        if isinstance(event.interaction, hikari.CommandInteraction):
            await event.interaction.create_initial_response(hikari.ResponseType.MESSAGE_CREATE, "it's a 7")

    await bot.start(check_for_updates=False)
    try:
        assert "compress=zlib-stream" in discord_twin.gateway.connection_urls[-1]
        assert discord_twin.gateway.identifies == 1
        posted = await discord_twin.post_message(twin_world.channel, twin_world.user, "hello")
        assert await asyncio.wait_for(heard.get(), WAIT) == "hello"
        assert (await discord_twin.wait_for_reply(posted)).content == "heard hello"
        interaction = await discord_twin.open_slash_command(twin_world.channel, twin_world.user, "digit",
                                                            require_registered=False)
        assert (await interaction.wait_for_original()).content == "it's a 7"
        channel = await bot.rest.fetch_channel(twin_world.channel.id)
        assert channel.name == "digits"
    finally:
        await bot.close()
    assert discord_twin.unknown_routes == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
