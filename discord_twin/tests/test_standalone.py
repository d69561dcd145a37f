"""`python -m discord_twin`: the twin on its own, as another process (a bot's cluster, a benchmark) uses it: a sharded
discord.py bot connects to it, the control API posts as a user and lists what the bot sent, SIGTERM stops it."""

from __future__ import annotations

import asyncio
import base64
import signal
import sys
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import discord
import pytest

from discord_twin.tests.clients import WAIT, digit_png, eventually, no_identify_delay, pointed_at

pytestmark = pytest.mark.timeout(60)

TOKEN = "standalone-test-token"


@pytest.fixture
async def standalone() -> AsyncIterator[tuple[asyncio.subprocess.Process, dict[str, str]]]:
    """The twin in its own process with 4 guilds, 2 per recommended shard; its first line parsed."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "discord_twin", "--guilds", "4", "--guilds-per-shard", "2", "--token", TOKEN,
        "--max-concurrency", "2", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    assert process.stdout is not None
    first = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
    urls = dict(part.split("=", 1) for part in first.split())
    yield process, urls
    if process.returncode is None:
        process.kill()
        await process.wait()


async def control(session: aiohttp.ClientSession, method: str, url: str, body: Any = None, token: str = TOKEN) -> Any:
    async with session.request(method, url, json=body, headers={"Authorization": f"Bot {token}"}) as response:
        return response.status, await response.json()


async def test_a_sharded_bot_against_the_standalone_twin(
    standalone: tuple[asyncio.subprocess.Process, dict[str, str]],
) -> None:
    process, urls = standalone
    assert set(urls) == {"api_base", "gateway_url"}
    api_base = urls["api_base"]
    base = api_base.removesuffix("/api/v10")
    async with aiohttp.ClientSession() as session:
        status, gateway_bot = await control(session, "GET", f"{api_base}/gateway/bot")
        assert status == 200 and gateway_bot["shards"] == 2 and gateway_bot["url"] == urls["gateway_url"]
        status, guilds = await control(session, "GET", f"{base}/control/guilds")
        assert status == 200 and len(guilds) == 4 and all(g["channels"][0]["name"] == "general" for g in guilds)
        assert (await control(session, "GET", f"{base}/control/guilds", token="wrong"))[0] == 401

        intents = discord.Intents.default()
        intents.message_content = True
        client = discord.AutoShardedClient(intents=intents, guild_ready_timeout=0.05)
        client.before_identify_hook = no_identify_delay  # type: ignore[method-assign]
        seen: list[discord.Message] = []

        @client.event
        async def on_message(message: discord.Message) -> None:
            if message.author != client.user:
                seen.append(message)
                await message.reply(f"{len(message.attachments)} file(s)")

        with pointed_at(api_base, urls["gateway_url"]):
            await client.login(TOKEN)
            running = asyncio.create_task(client.connect())
            await asyncio.wait_for(client.wait_until_ready(), WAIT)
            assert client.shard_count == 2 and len(client.guilds) == 4
            posted = []
            for guild in guilds:
                body = {"channel_id": guild["channels"][0]["id"], "author_id": guild["owner_id"], "content": "hi",
                        "attachments": [{"filename": "1.png", "data_base64": base64.b64encode(digit_png()).decode()}]}
                status, message = await control(session, "POST", f"{base}/control/messages", body)
                assert status == 200, message
                posted.append(message["id"])
            await eventually(lambda: len(seen) == 4, "four messages")
            replies: list[Any] = []

            async def all_replied() -> None:
                while len(replies) < 4:
                    replies[:] = (await control(session, "GET", f"{base}/control/bot-messages"))[1]
                    await asyncio.sleep(0.02)

            await asyncio.wait_for(all_replied(), WAIT)
            assert sorted(r["reply_to"] for r in replies) == sorted(posted)
            stats = (await control(session, "GET", f"{base}/control/stats"))[1]
            assert sorted(s["shard"] for s in stats["sessions"]) == [[0, 2], [1, 2]]
            assert stats["identifies"] == 2 and stats["bot_messages"] == 4
            await client.close()
            await asyncio.wait_for(running, WAIT)

    process.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(process.wait(), WAIT) == 0


async def test_bad_arguments_are_refused_with_a_clear_line() -> None:
    """A recommended shard may not hold more guilds than a shard can (events/gateway › Sharding: 2,500)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "discord_twin", "--guilds-per-shard", "3000",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2
    assert b"--guilds-per-shard must be between 1 and --max-guilds-per-shard (2500)" in err
