"""Sharding as Discord documents it (discord/discord-api-docs, developers/events/gateway.mdx › Sharding, Get Gateway,
Get Gateway Bot, Session Start Limit Object, Rate Limiting; topics/opcodes-and-status-codes › Gateway Close Event
Codes), driven by real discord.py clients: AutoShardedClient, and Client(shard_id=..., shard_count=...)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import discord
import pytest

from discord_twin import Channel, DiscordTwin, Guild, World
from discord_twin.sessions import shard_of
from discord_twin.tests.clients import WAIT, StartClient, eventually, make_client, no_identify_delay, pointed_at

pytestmark = pytest.mark.timeout(30)

INTENTS = discord.Intents.default() | discord.Intents(message_content=True)


def add_guilds(twin: DiscordTwin, count: int) -> list[tuple[Guild, Channel]]:
    """`count` more guilds, each with a #general channel."""
    made = []
    for index in range(count):
        guild = twin.create_guild(f"guild-{index}")
        made.append((guild, twin.create_channel(guild, "general")))
    return made


def shard_client(shard_id: int, shard_count: int) -> discord.AutoShardedClient:
    return discord.AutoShardedClient(
        intents=INTENTS, shard_ids=[shard_id], shard_count=shard_count, guild_ready_timeout=0.05
    )


def heard(client: discord.Client) -> dict[str, list[Any]]:
    """What a client hears from others: messages and interactions, each with its guild id (None in a DM)."""
    log: dict[str, list[Any]] = {"messages": [], "interactions": []}

    @client.event
    async def on_message(message: discord.Message) -> None:
        if message.author != client.user:
            log["messages"].append((message.guild.id if message.guild else None, message.content))

    @client.event
    async def on_interaction(interaction: discord.Interaction) -> None:
        log["interactions"].append(interaction.guild_id)

    return log


async def raw_identify(twin: DiscordTwin, **data: Any) -> tuple[aiohttp.ClientSession, aiohttp.ClientWebSocketResponse]:
    """A websocket that has sent IDENTIFY with `data` (besides the token and intents); the caller closes both."""
    session = aiohttp.ClientSession()
    ws = await session.ws_connect(f"{twin.gateway_url}?v=10&encoding=json")
    assert (await ws.receive_json(timeout=WAIT))["op"] == 10
    await ws.send_json({"op": 2, "d": {"token": twin.token, "intents": 1, "properties": {}, **data}})
    return session, ws


@pytest.fixture
async def raw() -> AsyncIterator[list[tuple[aiohttp.ClientSession, aiohttp.ClientWebSocketResponse]]]:
    opened: list[tuple[aiohttp.ClientSession, aiohttp.ClientWebSocketResponse]] = []
    yield opened
    for session, ws in opened:
        await ws.close()
        await session.close()


async def ready_or_close(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any] | int:
    """READY's data, or the close code if the twin closed the connection instead."""
    message = await ws.receive(timeout=WAIT)
    if message.type is aiohttp.WSMsgType.CLOSE:
        return int(message.data)
    payload = message.json()
    assert payload["t"] == "READY", payload
    return payload["d"]  # type: ignore[no-any-return]


async def test_each_shard_hears_only_its_guilds(
    discord_twin: DiscordTwin, twin_world: World, start_client: StartClient
) -> None:
    """Sharding: "(guild_id >> 22) % num_shards" decides which connection gets a guild's events: READY's guilds,
    GUILD_CREATE, messages, interactions (commands and clicks on components). Two bots sharing one application, each
    with one of two shards, hear each event once between them. With max_concurrency 2 (Session Start Limit Object),
    shards 0 and 1 are in different buckets and start at once."""
    discord_twin.gateway.session_starts.max_concurrency = 2
    guilds = [(twin_world.guild, twin_world.channel), *add_guilds(discord_twin, 5)]
    on_shard = {shard: {g.id for g, _ in guilds if shard_of(g.id, 2) == shard} for shard in (0, 1)}
    assert on_shard[0] and on_shard[1]  # consecutive guilds spread over both shards
    clients = [await start_client(shard_client(shard, 2)) for shard in (0, 1)]
    logs = [heard(client) for client in clients]
    for shard, client in enumerate(clients):
        assert {guild.id for guild in client.guilds} == on_shard[shard]
    assert discord_twin.gateway.session_starts.early == 0

    for guild, channel in guilds:
        owner = discord_twin.world.users[guild.owner_id]
        await discord_twin.post_message(channel, owner, f"in {guild.id}")
        await discord_twin.open_slash_command(channel, owner, "digit", require_registered=False)
    # A click on a button of a bot message in each guild.
    for guild, channel in guilds:
        client = clients[shard_of(guild.id, 2)]
        view = discord.ui.View()
        view.add_item(discord.ui.Button(label="wrong?", custom_id=f"wrong-{guild.id}"))
        sent = await client.get_channel(channel.id).send("it's a 1", view=view)  # type: ignore[union-attr]
        owner = discord_twin.world.users[guild.owner_id]
        await discord_twin.use_component(discord_twin.world.messages[sent.id], owner, f"wrong-{guild.id}")

    def complete() -> bool:
        return sum(len(log["messages"]) for log in logs) == 6 and sum(len(log["interactions"]) for log in logs) == 12

    await eventually(complete, "six messages and twelve interactions")
    for shard, log in enumerate(logs):
        assert {guild_id for guild_id, _ in log["messages"]} == on_shard[shard]
        assert sorted(log["interactions"]) == sorted(2 * list(on_shard[shard]))


async def test_an_auto_sharded_client_follows_gateway_bot(
    discord_twin: DiscordTwin, twin_world: World, start_client: StartClient
) -> None:
    """Get Gateway Bot: "shards", the "Recommended number of shards to use when connecting": an AutoShardedClient
    without a shard_count asks for it, connects that many shards and hears every guild's message once."""
    discord_twin.gateway.recommended_guilds_per_shard = 3
    discord_twin.gateway.session_starts.max_concurrency = 2
    guilds = [(twin_world.guild, twin_world.channel), *add_guilds(discord_twin, 5)]
    client = discord.AutoShardedClient(intents=INTENTS, guild_ready_timeout=0.05)
    # discord.py waits 5 s before each shard after the first; with max_concurrency 2 both may start at once.
    client.before_identify_hook = no_identify_delay  # type: ignore[method-assign]
    log = heard(client)
    await start_client(client)
    assert client.shard_count == 2 and sorted(client.shards) == [0, 1]
    assert len(client.guilds) == 6
    assert all(guild.shard_id == shard_of(guild.id, 2) for guild in client.guilds)
    for guild, channel in guilds:
        await discord_twin.post_message(channel, discord_twin.world.users[guild.owner_id], f"in {guild.id}")
    await eventually(lambda: len(log["messages"]) == 6, "six messages")
    assert sorted(guild_id for guild_id, _ in log["messages"]) == sorted(g.id for g, _ in guilds)


async def test_direct_messages_go_to_shard_0(
    discord_twin: DiscordTwin, twin_world: World, start_client: StartClient
) -> None:
    """Sharding: "Gateway events that do not contain a guild_id will only be sent to the first shard (shard_id: 0).
    This includes Direct Message (DM)"; Message Content Intent: content is not blanked "in DMs with the app"; the bot
    answers in the DM (resources/user › Create DM)."""
    discord_twin.gateway.session_starts.max_concurrency = 2
    clients = []
    for shard in (0, 1):
        client = discord.AutoShardedClient(intents=discord.Intents.default(), shard_ids=[shard], shard_count=2,
                                           guild_ready_timeout=0.05)
        clients.append(await start_client(client))
    logs = [heard(client) for client in clients]
    dm = discord_twin.open_dm(twin_world.user)
    await discord_twin.post_message(dm, twin_world.user, "a secret for the bot")
    await eventually(lambda: logs[0]["messages"], "the DM on shard 0")
    assert logs[0]["messages"] == [(None, "a secret for the bot")]

    user = await clients[1].fetch_user(twin_world.user.id)
    channel = await user.create_dm()
    assert channel.id == dm.id
    await channel.send("hello back")
    assert discord_twin.bot_messages[-1].channel is dm
    await asyncio.sleep(0.1)  # room for a wrong delivery to arrive
    assert logs[1]["messages"] == []


async def test_an_invalid_shard_closes_with_4010(discord_twin: DiscordTwin, twin_world: World, raw: list[Any]) -> None:
    """Gateway Close Event Codes: 4010 "Invalid shard: You sent us an invalid shard when identifying"; Sharding: "the
    zero-based integer value of the current shard" and "the total number of shards"."""
    client = discord.Client(intents=discord.Intents.default(), shard_id=2, shard_count=2)
    with pointed_at(discord_twin.api_base, discord_twin.gateway_url):
        with pytest.raises(discord.ConnectionClosed) as closed:
            await asyncio.wait_for(client.start(discord_twin.token), WAIT)
        await client.close()
    assert closed.value.code == 4010
    for shard in ([0, 0], [-1, 2], [0], "0,1", [0.0, 1]):
        raw.append(await raw_identify(discord_twin, shard=shard))
        assert await ready_or_close(raw[-1][1]) == 4010, shard


async def test_more_guilds_than_a_shard_may_hold_closes_with_4011(
    discord_twin: DiscordTwin, twin_world: World, start_client: StartClient
) -> None:
    """Sharding: "Each shard can only support a maximum of 2500 guilds"; Close Event Codes: 4011 "Sharding required:
    The session would have handled too many guilds". The limit is lowered to 3 to test it with six guilds: one
    connection is refused, two shards of three guilds each connect."""
    discord_twin.gateway.max_guilds_per_shard = 3
    discord_twin.gateway.session_starts.max_concurrency = 2
    add_guilds(discord_twin, 5)
    client = make_client()
    with pointed_at(discord_twin.api_base, discord_twin.gateway_url):
        with pytest.raises(discord.ConnectionClosed) as closed:
            await asyncio.wait_for(client.start(discord_twin.token), WAIT)
        await client.close()
    assert closed.value.code == 4011
    shards = [await start_client(shard_client(shard, 2)) for shard in (0, 1)]
    assert [len(client.guilds) for client in shards] == [3, 3]


async def test_2501_guilds_need_two_shards(discord_twin: DiscordTwin, raw: list[Any]) -> None:
    """Sharding: "apps that are in 2500+ guilds must enable sharding", at Discord's own limit: with 2,501 guilds an
    unsharded session is closed with 4011, and each of two shards gets READY listing exactly its guilds."""
    for index in range(2501):
        discord_twin.create_guild(f"guild-{index}")
    discord_twin.gateway.session_starts.max_concurrency = 2
    raw.append(await raw_identify(discord_twin))
    assert await ready_or_close(raw[-1][1]) == 4011
    for shard in (0, 1):
        raw.append(await raw_identify(discord_twin, shard=[shard, 2]))
        ready = await ready_or_close(raw[-1][1])
        assert isinstance(ready, dict) and ready["shard"] == [shard, 2]
        expected = {str(g) for g in discord_twin.world.guilds if shard_of(g, 2) == shard}
        assert {g["id"] for g in ready["guilds"]} == expected and len(expected) <= 2500


async def test_gateway_needs_no_token_and_gateway_bot_counts_session_starts(
    discord_twin: DiscordTwin, twin_world: World, start_client: StartClient
) -> None:
    """Get Gateway: "does not require authentication", example response {"url": ...}. Get Gateway Bot: requires the
    bot token; `url`, `shards`, `session_start_limit` (total, remaining, reset_after in ms, max_concurrency).
    Identifying: the daily limit on IDENTIFY "does not include RESUME calls"."""
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{discord_twin.api_base}/gateway") as response:
            assert response.status == 200 and await response.json() == {"url": discord_twin.gateway_url}
        async with session.get(f"{discord_twin.api_base}/gateway/bot") as response:
            assert response.status == 401

    async def gateway_bot() -> dict[str, Any]:
        headers = {"Authorization": f"Bot {discord_twin.token}"}
        async with aiohttp.ClientSession(headers=headers) as session:
            async with session.get(f"{discord_twin.api_base}/gateway/bot") as response:
                return await response.json()  # type: ignore[no-any-return]

    fresh = await gateway_bot()
    assert fresh == {"url": discord_twin.gateway_url, "shards": 1, "session_start_limit": {
        "total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1}}
    await start_client(make_client())
    await discord_twin.drop_gateway()
    await discord_twin.wait_until(lambda: discord_twin.gateway.resumes == 1 or None, WAIT, "a resume")
    limit = (await gateway_bot())["session_start_limit"]
    assert limit["remaining"] == 999
    assert 0 < limit["reset_after"] <= 24 * 3600 * 1000


async def test_one_identify_per_bucket_per_interval_and_an_early_one_gets_invalid_session(
    discord_twin: DiscordTwin, twin_world: World, start_client: StartClient
) -> None:
    """Rate Limiting: "a limit for concurrent Identify requests allowed per 5 seconds. If you hit this limit, the
    Gateway will respond with an Invalid Session (opcode 9)"; Max Concurrency: rate_limit_key = shard_id %
    max_concurrency. With max_concurrency 1 both shards share a bucket: shard 1, identifying 0.25 s after shard 0,
    gets op 9 until the (shortened: 1 s) interval has passed, then connects."""
    discord_twin.gateway.session_starts.identify_interval = 1.0
    starts: list[float] = []

    async def quarter_second(shard_id: int | None, *, initial: bool = False) -> None:
        await asyncio.sleep(0 if initial else 0.25)

    client = discord.AutoShardedClient(intents=INTENTS, shard_count=2, guild_ready_timeout=0.05)
    client.before_identify_hook = quarter_second  # type: ignore[method-assign]

    @client.event
    async def on_shard_connect(shard_id: int) -> None:
        starts.append(time.monotonic())

    await start_client(client)
    await discord_twin.wait_until(lambda: len(discord_twin.gateway.connected_sessions) == 2 or None, WAIT, "2 shards")
    assert discord_twin.gateway.identifies == 2
    assert discord_twin.gateway.session_starts.early >= 1
    assert len(starts) == 2 and starts[1] - starts[0] >= 0.9


async def test_past_the_days_session_starts_the_token_is_reset(discord_twin: DiscordTwin, raw: list[Any]) -> None:
    """Identifying: "Clients are limited to 1000 IDENTIFY calls ... in a 24-hour period ... Upon hitting this limit,
    all active sessions for the app will be terminated, the bot token will be reset" (limit lowered to 2 here)."""
    discord_twin.gateway.session_starts.total = 2
    discord_twin.gateway.session_starts.identify_interval = 0.0
    old_token = discord_twin.token
    for _ in range(2):
        raw.append(await raw_identify(discord_twin))
        assert isinstance(await ready_or_close(raw[-1][1]), dict)
    raw.append(await raw_identify(discord_twin))
    assert await ready_or_close(raw[-1][1]) == 4004
    for _, ws in raw[:2]:
        message = await ws.receive(timeout=WAIT)
        while message.type is aiohttp.WSMsgType.TEXT:  # GUILD_CREATEs still in flight
            message = await ws.receive(timeout=WAIT)
        assert message.type is aiohttp.WSMsgType.CLOSE and message.data == 4004
    assert discord_twin.token != old_token
    async with aiohttp.ClientSession() as session:
        for token, status in ((old_token, 401), (discord_twin.token, 200)):
            async with session.get(f"{discord_twin.api_base}/users/@me", headers={"Authorization": f"Bot {token}"}) as r:
                assert r.status == status
