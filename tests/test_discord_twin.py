"""Tests of the Discord twin itself, driven by a plain, unmodified discord.py client (not the bot)."""

from __future__ import annotations

import asyncio
import io
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import discord
import pytest
from discord import app_commands
from PIL import Image

from bot.endpoint import discord_py_pointed_at
from discord_twin import Attachment, DiscordTwin, World

pytestmark = pytest.mark.timeout(30)

WAIT = 5.0  # Seconds any single wait may take; everything here normally completes in milliseconds.

StartClient = Callable[[discord.Client], Awaitable[discord.Client]]


def digit_png(size: int = 28) -> bytes:
    image = Image.new("L", (size, size), 0)
    for y in range(4, size - 4):
        image.putpixel((size // 2, y), 255)  # A "1".
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def make_client(*, message_content: bool = True) -> discord.Client:
    intents = discord.Intents.default()
    intents.message_content = message_content
    # A short guild_ready_timeout: on_ready fires 50 ms after the last GUILD_CREATE instead of 2 s.
    return discord.Client(intents=intents, guild_ready_timeout=0.05)


@pytest.fixture
async def start_client(discord_twin: DiscordTwin, twin_world: World) -> AsyncIterator[StartClient]:
    """Log a client in to the twin, connect it and wait for on_ready; closed after the test."""
    running: list[tuple[discord.Client, asyncio.Task[None]]] = []

    async def start(client: discord.Client) -> discord.Client:
        await client.login(discord_twin.token)
        running.append((client, asyncio.create_task(client.connect())))
        await asyncio.wait_for(client.wait_until_ready(), WAIT)
        return client

    with discord_py_pointed_at(discord_twin.api_base, discord_twin.gateway_url):
        yield start
        for client, task in running:
            await client.close()
            await asyncio.wait_for(task, WAIT)


async def no_identify_delay(shard_id: int | None, *, initial: bool = False) -> None:
    return None


async def received(queue: asyncio.Queue[discord.Message], count: int) -> list[discord.Message]:
    return [await asyncio.wait_for(queue.get(), WAIT) for _ in range(count)]


def record_messages(client: discord.Client) -> asyncio.Queue[discord.Message]:
    """Queue every message the client sees from someone else."""
    queue: asyncio.Queue[discord.Message] = asyncio.Queue()

    @client.event
    async def on_message(message: discord.Message) -> None:
        if message.author != client.user:
            queue.put_nowait(message)

    return queue


async def test_login_ready_and_guild_visible(discord_twin: DiscordTwin, twin_world: World, start_client: StartClient) -> None:
    client = await start_client(make_client())

    assert client.user is not None and client.user.id == discord_twin.bot_user.id
    assert client.application_id == discord_twin.application_id
    guild = client.get_guild(twin_world.guild.id)
    assert guild is not None and guild.name == "digit-lab"
    channel = guild.get_channel(twin_world.channel.id)
    assert isinstance(channel, discord.TextChannel) and channel.name == "digits"
    assert guild.owner_id == twin_world.guild.owner_id
    assert {role.name for role in guild.roles} == {"@everyone", "admins"}
    assert guild.get_role(twin_world.admin_role.id).permissions.administrator  # type: ignore[union-attr]
    assert discord_twin.gateway.identifies == 1


async def test_message_round_trip_with_attachment(
    discord_twin: DiscordTwin, twin_world: World, start_client: StartClient
) -> None:
    client = make_client()
    seen: list[discord.Attachment] = []

    @client.event
    async def on_message(message: discord.Message) -> None:
        if message.author.bot or not message.attachments:
            return
        attachment = message.attachments[0]
        seen.append(attachment)
        data = await attachment.read()
        await message.reply(f"{message.content}: {len(data)} bytes of {attachment.content_type}")

    await start_client(client)
    png = digit_png()
    posted = await discord_twin.post_message(
        twin_world.channel, twin_world.user, "please read", attachments=[Attachment(png, "digit.png")]
    )
    reply = await discord_twin.wait_for_reply(posted, timeout=WAIT)

    assert reply.content == f"please read: {len(png)} bytes of image/png"
    assert reply.type == 19 and reply.author is discord_twin.bot_user
    [attachment] = seen
    assert (attachment.filename, attachment.size, attachment.width, attachment.height) == ("digit.png", len(png), 28, 28)
    assert attachment.url.startswith(discord_twin.cdn_base)
    assert len(discord_twin.cdn_requests) == 1


async def test_reply_with_file_and_embed(discord_twin: DiscordTwin, twin_world: World, start_client: StartClient) -> None:
    client = make_client()

    @client.event
    async def on_message(message: discord.Message) -> None:
        if message.author.bot:
            return
        embed = discord.Embed(title="Prediction", description="It is a 1")
        await message.reply(file=discord.File(io.BytesIO(b"\x89PNG fake"), "answer.png"), embed=embed)

    await start_client(client)
    posted = await discord_twin.post_message(twin_world.channel, twin_world.user, "hello")
    reply = await discord_twin.wait_for_reply(posted, timeout=WAIT)

    [file] = reply.files
    assert (file.filename, file.data, file.content_type) == ("answer.png", b"\x89PNG fake", "image/png")
    assert reply.embeds[0]["title"] == "Prediction" and reply.embeds[0]["description"] == "It is a 1"
    assert reply.reference_id == posted.id
    # The uploaded file is served back by the CDN.
    async with aiohttp.ClientSession() as session, session.get(file.url) as response:
        assert response.status == 200 and await response.read() == b"\x89PNG fake"
        assert response.headers["Content-Type"] == "image/png"
        assert response.headers["Content-Length"] == str(len(b"\x89PNG fake"))


async def test_edits_in_both_directions(discord_twin: DiscordTwin, twin_world: World, start_client: StartClient) -> None:
    client = make_client()
    edits: asyncio.Queue[tuple[str, str]] = asyncio.Queue()

    @client.event
    async def on_message(message: discord.Message) -> None:
        if not message.author.bot:
            sent = await message.channel.send("thinking...")
            await sent.edit(content="it is a 7")

    @client.event
    async def on_message_edit(before: discord.Message, after: discord.Message) -> None:
        if not after.author.bot:
            edits.put_nowait((before.content, after.content))

    await start_client(client)
    posted = await discord_twin.post_message(twin_world.channel, twin_world.user, "first")
    edit = await discord_twin.wait_for_edit(lambda e: e.content == "it is a 7", timeout=WAIT)
    assert edit.message.content == "it is a 7" and edit.message.edited_at is not None

    await discord_twin.edit_message_as_user(posted, "second")
    assert await asyncio.wait_for(edits.get(), WAIT) == ("first", "second")


async def test_slash_command_response_and_followup(
    discord_twin: DiscordTwin, twin_world: World, start_client: StartClient
) -> None:
    client = make_client()
    tree = app_commands.CommandTree(client)

    @tree.command(name="digit", description="Read a handwritten digit")
    async def digit(interaction: discord.Interaction, image: discord.Attachment, note: str = "") -> None:
        data = await image.read()
        await interaction.response.send_message(f"{image.filename} has {len(data)} bytes {note}".strip())
        await interaction.followup.send("follow-up", file=discord.File(io.BytesIO(b"xyz"), "f.txt"))

    @tree.command(name="slow", description="Defers, then answers ephemerally")
    async def slow(interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await interaction.edit_original_response(content="done")

    await start_client(client)
    synced = await tree.sync()
    assert {c.name for c in synced} == {"digit", "slow"}
    assert {c["name"] for c in discord_twin.commands} == {"digit", "slow"}

    png = digit_png()
    interaction = await discord_twin.open_slash_command(
        twin_world.channel, twin_world.admin, "digit", {"image": Attachment(png, "d.png"), "note": "ok"}
    )
    response = await interaction.wait_for_response(timeout=WAIT)
    assert response.type == 4 and response.data["content"] == f"d.png has {len(png)} bytes ok"
    assert interaction.original is not None and interaction.original.type == 20
    followup = await interaction.wait_for_followup(timeout=WAIT)
    assert followup.content == "follow-up" and followup.files[0].data == b"xyz"

    slow_interaction = await discord_twin.open_slash_command(twin_world.channel, twin_world.user, "slow")
    original = await slow_interaction.wait_for_original(lambda m: m.content == "done", timeout=WAIT)
    assert slow_interaction.callbacks[0].type == 5 and original.ephemeral

    with pytest.raises(LookupError):
        await discord_twin.open_slash_command(twin_world.channel, twin_world.user, "not-registered")


async def test_message_context_menu(discord_twin: DiscordTwin, twin_world: World, start_client: StartClient) -> None:
    client = make_client()
    tree = app_commands.CommandTree(client)

    @tree.context_menu(name="Read digit", guild=discord.Object(twin_world.guild.id))
    async def read_digit(interaction: discord.Interaction, message: discord.Message) -> None:
        await interaction.response.send_message(f"{message.attachments[0].filename} by {message.author.name}")

    await start_client(client)
    await tree.sync(guild=discord.Object(twin_world.guild.id))
    assert [c["name"] for c in discord_twin.guild_commands[twin_world.guild.id]] == ["Read digit"]

    target = await discord_twin.post_message(
        twin_world.channel, twin_world.user, attachments=[Attachment(digit_png(), "seven.png")]
    )
    interaction = await discord_twin.open_message_command(twin_world.channel, twin_world.admin, "Read digit", target)
    response = await interaction.wait_for_response(timeout=WAIT)
    assert response.data["content"] == "seven.png by bob"


async def test_dropped_connection_resumes_without_losing_events(
    discord_twin: DiscordTwin, twin_world: World, start_client: StartClient
) -> None:
    client = make_client()
    queue = record_messages(client)
    await start_client(client)

    await discord_twin.post_message(twin_world.channel, twin_world.user, "before")
    await discord_twin.drop_gateway()
    assert discord_twin.gateway.connected_sessions == []
    for index in range(3):
        await discord_twin.post_message(twin_world.channel, twin_world.user, f"while down {index}")
    await discord_twin.wait_until(lambda: discord_twin.gateway.resumes == 1, WAIT, "a resume")
    await discord_twin.post_message(twin_world.channel, twin_world.user, "after")

    contents = [m.content for m in await received(queue, 5)]
    assert contents == ["before", "while down 0", "while down 1", "while down 2", "after"]
    assert discord_twin.gateway.identifies == 1
    assert discord_twin.gateway.connection_urls[-1].startswith(f"{discord_twin.cdn_base}/gateway/resume")


async def test_refused_resume_leads_to_a_fresh_identify(
    discord_twin: DiscordTwin, twin_world: World, start_client: StartClient
) -> None:
    client = make_client()
    # discord.py sleeps 5 s before every non-initial IDENTIFY (Discord's identify limit);
    # before_identify_hook is the documented override point, used here to keep the test fast.
    client.before_identify_hook = no_identify_delay  # type: ignore[method-assign]
    queue = record_messages(client)
    await start_client(client)

    discord_twin.refuse_next_resume()
    await discord_twin.drop_gateway()
    await discord_twin.wait_until(lambda: discord_twin.gateway.identifies == 2, WAIT, "a second IDENTIFY")
    assert discord_twin.gateway.refused_resumes == 1 and discord_twin.gateway.resumes == 0
    await discord_twin.wait_until_connected(timeout=WAIT)
    await discord_twin.post_message(twin_world.channel, twin_world.user, "after re-identify")
    [message] = await received(queue, 1)
    assert message.content == "after re-identify"


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


async def test_rate_limit_headers_and_enforced_limit(discord_twin: DiscordTwin, twin_world: World) -> None:
    discord_twin.set_rate_limit(2, 0.5)
    url = f"{discord_twin.api_base}/channels/{twin_world.channel.id}/messages"
    headers = {"Authorization": f"Bot {discord_twin.token}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        statuses = []
        for _ in range(3):
            async with session.post(url, json={"content": "x"}) as response:
                statuses.append(response.status)
                last = response
        assert statuses == [200, 200, 429]
        assert last.headers["X-RateLimit-Limit"] == "2" and last.headers["X-RateLimit-Remaining"] == "0"
        assert float(last.headers["X-RateLimit-Reset-After"]) <= 0.5 and last.headers["X-RateLimit-Bucket"]
        assert last.headers["X-RateLimit-Scope"] == "user" and "Retry-After" in last.headers


async def test_wrong_token_is_rejected(discord_twin: DiscordTwin) -> None:
    with discord_py_pointed_at(discord_twin.api_base, discord_twin.gateway_url):
        client = make_client()
        with pytest.raises(discord.LoginFailure):
            await client.login("not-the-token")
        await client.close()

    async with aiohttp.ClientSession() as session:
        async with session.get(f"{discord_twin.api_base}/users/@me") as response:
            assert response.status == 401
            assert await response.json() == {"message": "401: Unauthorized", "code": 0}
        async with session.ws_connect(f"{discord_twin.gateway_url}?v=10&encoding=json") as ws:
            hello = await ws.receive_json(timeout=WAIT)
            assert hello["op"] == 10 and hello["d"]["heartbeat_interval"] > 0
            await ws.send_json({"op": 2, "d": {"token": "not-the-token", "intents": 513, "properties": {}}})
            closing = await ws.receive(timeout=WAIT)
            assert closing.type is aiohttp.WSMsgType.CLOSE and closing.data == 4004


async def test_unknown_route_is_a_logged_404(discord_twin: DiscordTwin, caplog: pytest.LogCaptureFixture) -> None:
    headers = {"Authorization": f"Bot {discord_twin.token}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        async with session.get(f"{discord_twin.api_base}/guilds/1/audit-logs") as response:
            assert response.status == 404
            assert response.headers["Content-Type"] == "application/json"
            assert json.loads(await response.text()) == {"message": "404: Not Found", "code": 0}
    assert discord_twin.unknown_routes == ["GET /api/v10/guilds/1/audit-logs"]
    assert "no route for GET /api/v10/guilds/1/audit-logs" in caplog.text


async def test_message_content_needs_the_intent(discord_twin: DiscordTwin, twin_world: World, start_client: StartClient) -> None:
    client = make_client(message_content=False)
    queue = record_messages(client)
    await start_client(client)

    await discord_twin.post_message(
        twin_world.channel, twin_world.user, "secret", attachments=[Attachment(b"x", "a.txt")]
    )
    await discord_twin.post_message(twin_world.channel, twin_world.user, f"<@{discord_twin.bot_user.id}> hi")
    hidden, mentioned = await received(queue, 2)
    assert (hidden.content, hidden.attachments) == ("", [])
    assert mentioned.content.endswith("hi") and mentioned.mentions[0].id == discord_twin.bot_user.id


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


async def test_bot_rest_errors_match_discord(discord_twin: DiscordTwin, twin_world: World, start_client: StartClient) -> None:
    client = await start_client(make_client())
    channel = client.get_channel(twin_world.channel.id)
    assert isinstance(channel, discord.TextChannel)

    with pytest.raises(discord.HTTPException) as empty:
        await channel.send("")
    assert empty.value.code == 50006
    with pytest.raises(discord.HTTPException) as too_long:
        await channel.send("x" * 2001)
    assert too_long.value.code == 50035
    with pytest.raises(discord.NotFound):
        await client.http.send_message(123, params=discord.http.handle_message_parameters(content="x"))
    user_message = await discord_twin.post_message(twin_world.channel, twin_world.user, "mine")
    with pytest.raises(discord.Forbidden):
        await channel.get_partial_message(user_message.id).edit(content="theirs")


async def test_world_changes_reach_a_connected_client(
    discord_twin: DiscordTwin, twin_world: World, start_client: StartClient
) -> None:
    client = make_client()
    joined: asyncio.Queue[discord.Guild] = asyncio.Queue()

    @client.event
    async def on_guild_join(guild: discord.Guild) -> None:
        joined.put_nowait(guild)

    await start_client(client)
    channel = discord_twin.create_channel(twin_world.guild, "late")
    role = discord_twin.create_role(twin_world.guild, "late-role", permissions=0)
    new_guild = discord_twin.create_guild("second")
    assert (await asyncio.wait_for(joined.get(), WAIT)).id == new_guild.id
    # Dispatches are processed in order, so the earlier ones have been too.
    assert client.get_channel(channel.id) is not None
    assert client.get_guild(twin_world.guild.id).get_role(role.id) is not None  # type: ignore[union-attr]


async def test_member_chunking_with_the_members_intent(
    discord_twin: DiscordTwin, twin_world: World, start_client: StartClient
) -> None:
    intents = discord.Intents.default()
    intents.members = True
    # With the members intent discord.py asks for every guild's members (op 8) before on_ready.
    client = await start_client(discord.Client(intents=intents, guild_ready_timeout=0.05))
    guild = client.get_guild(twin_world.guild.id)
    assert guild is not None and guild.chunked
    admin = guild.get_member(twin_world.admin.id)
    assert admin is not None and admin.guild_permissions.administrator
    bob = guild.get_member(twin_world.user.id)
    assert bob is not None and not bob.guild_permissions.administrator


async def test_reactions_typing_and_deletes(discord_twin: DiscordTwin, twin_world: World, start_client: StartClient) -> None:
    client = make_client()
    deleted: asyncio.Queue[discord.RawMessageDeleteEvent] = asyncio.Queue()

    @client.event
    async def on_message(message: discord.Message) -> None:
        if message.author.bot:
            return
        async with message.channel.typing():
            await message.add_reaction("👀")
        if message.content == "delete me":
            await message.delete()

    @client.event
    async def on_raw_message_delete(event: discord.RawMessageDeleteEvent) -> None:
        deleted.put_nowait(event)

    await start_client(client)
    posted = await discord_twin.post_message(twin_world.channel, twin_world.user, "delete me")
    gone = await discord_twin.wait_for_delete(lambda m: m is posted, timeout=WAIT)
    assert gone.deleted and posted.reactions == {"👀": {discord_twin.bot_user.id}}
    assert discord_twin.typing and discord_twin.typing[0][0] == twin_world.channel.id
    assert (await asyncio.wait_for(deleted.get(), WAIT)).message_id == posted.id

    await discord_twin.delete_message_as_user(await discord_twin.post_message(twin_world.channel, twin_world.user, "x"))
    assert (await asyncio.wait_for(deleted.get(), WAIT)).message_id != posted.id


async def test_interaction_must_be_acknowledged_in_time(
    discord_twin: DiscordTwin, twin_world: World, start_client: StartClient
) -> None:
    client = make_client()
    tree = app_commands.CommandTree(client)
    errors: asyncio.Queue[BaseException] = asyncio.Queue()

    @tree.command(name="late", description="Answers after the acknowledgement deadline")
    async def late(interaction: discord.Interaction) -> None:
        await asyncio.sleep(0.2)
        await interaction.response.send_message("too late")

    @tree.error
    async def on_error(interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        errors.put_nowait(error.__cause__ or error)

    await start_client(client)
    await tree.sync()
    discord_twin.interaction_ack_deadline = 0.1  # Discord's is 3 s; shortened to keep the test fast.
    interaction = await discord_twin.open_slash_command(twin_world.channel, twin_world.user, "late")
    error = await asyncio.wait_for(errors.get(), WAIT)
    assert isinstance(error, discord.NotFound) and error.code == 10062
    assert interaction.callbacks == []


async def test_interaction_token_expires_but_the_response_stays_editable_as_a_message(
    discord_twin: DiscordTwin, twin_world: World, start_client: StartClient
) -> None:
    client = make_client()
    tree = app_commands.CommandTree(client)
    results: asyncio.Queue[BaseException | discord.Message] = asyncio.Queue()

    @tree.command(name="long", description="Answers, then edits its answer once the token has expired")
    async def long(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("started")
        response = await interaction.original_response()
        discord_twin.interaction_token_lifetime = 0.0  # Discord's is 15 min; expired at once to keep the test fast.
        try:
            await response.edit(content="via the token")
        except discord.HTTPException as error:
            results.put_nowait(error)
        assert interaction.channel is not None
        results.put_nowait(await interaction.channel.get_partial_message(response.id).edit(content="via the channel"))

    await start_client(client)
    await tree.sync()
    interaction = await discord_twin.open_slash_command(twin_world.channel, twin_world.user, "long")
    error = await asyncio.wait_for(results.get(), WAIT)
    assert isinstance(error, discord.HTTPException) and (error.status, error.code) == (401, 50027)
    edited = await asyncio.wait_for(results.get(), WAIT)
    assert isinstance(edited, discord.Message) and edited.content == "via the channel"
    assert interaction.original is not None and interaction.original.content == "via the channel"
