"""Messages both ways: users' posts, the bot's replies, files through the CDN, edits, reactions, deletes."""

from __future__ import annotations

import asyncio
import io

import aiohttp
import discord
import pytest

from discord_twin import Attachment, DiscordTwin, World
from discord_twin.permissions import MANAGE_MESSAGES
from discord_twin.tests.clients import WAIT, StartClient, digit_png, make_client

pytestmark = pytest.mark.timeout(30)

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
    # Delete Message: another user's message needs MANAGE_MESSAGES (its refusal has its own test).
    discord_twin.set_permission_overwrite(twin_world.channel, discord_twin.bot_user, allow=MANAGE_MESSAGES)
    posted = await discord_twin.post_message(twin_world.channel, twin_world.user, "delete me")
    gone = await discord_twin.wait_for_delete(lambda m: m is posted, timeout=WAIT)
    assert gone.deleted and posted.reactions == {"👀": {discord_twin.bot_user.id}}
    assert discord_twin.typing and discord_twin.typing[0][0] == twin_world.channel.id
    assert (await asyncio.wait_for(deleted.get(), WAIT)).message_id == posted.id

    await discord_twin.delete_message_as_user(await discord_twin.post_message(twin_world.channel, twin_world.user, "x"))
    assert (await asyncio.wait_for(deleted.get(), WAIT)).message_id != posted.id


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
