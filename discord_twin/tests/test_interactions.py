"""Slash and context-menu commands: registration, responses, follow-ups, Discord's deadlines."""

from __future__ import annotations

import asyncio
import io

import discord
import pytest
from discord import app_commands

from discord_twin import Attachment, DiscordTwin, World
from discord_twin.tests.clients import WAIT, StartClient, digit_png, make_client

pytestmark = pytest.mark.timeout(30)

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
    discord_twin.interactions.ack_deadline = 0.1  # Discord's is 3 s; shortened to keep the test fast.
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
        discord_twin.interactions.token_lifetime = 0.0  # Discord's is 15 min; expired at once to keep the test fast.
        try:
            await response.edit(content="via the token")
        except discord.HTTPException as error:
            results.put_nowait(error)
        assert isinstance(interaction.channel, discord.TextChannel)
        results.put_nowait(await interaction.channel.get_partial_message(response.id).edit(content="via the channel"))

    await start_client(client)
    await tree.sync()
    interaction = await discord_twin.open_slash_command(twin_world.channel, twin_world.user, "long")
    error = await asyncio.wait_for(results.get(), WAIT)
    assert isinstance(error, discord.HTTPException) and (error.status, error.code) == (401, 50027)
    edited = await asyncio.wait_for(results.get(), WAIT)
    assert isinstance(edited, discord.Message) and edited.content == "via the channel"
    assert interaction.original is not None and interaction.original.content == "via the channel"


async def test_first_followup_after_a_deferral_edits_the_loading_message_and_keeps_its_visibility(
    discord_twin: DiscordTwin, twin_world: World, start_client: StartClient
) -> None:
    """Receiving and Responding › Create Followup Message: "When using this endpoint directly after responding to an
    interaction with DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE, this endpoint will function as Edit Original Interaction
    Response ... no new message will be created ... The ephemeral flag will be ignored, and the value you provided in
    the initial defer response will be preserved"."""
    client = make_client()
    tree = app_commands.CommandTree(client)

    @tree.command(name="public", description="Defers publicly, then sends two 'private' follow-ups")
    async def public(interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        await interaction.followup.send("meant to be private", ephemeral=True)
        await interaction.followup.send("really private", ephemeral=True)

    @tree.command(name="private", description="Defers ephemerally, then sends a follow-up without the flag")
    async def private(interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await interaction.followup.send("still private")

    await start_client(client)
    await tree.sync()
    interaction = await discord_twin.open_slash_command(twin_world.channel, twin_world.user, "public")
    second = await interaction.wait_for_followup(lambda m: m.content == "really private", timeout=WAIT)
    first = interaction.followups[0]
    # The first follow-up became the public original response: everyone in the channel sees it.
    assert first is interaction.original and first.content == "meant to be private"
    assert not first.ephemeral and not first.loading
    assert [m for m in discord_twin.bot_messages if m.interaction is interaction] == [first, second]
    assert second.ephemeral and second is not first  # later follow-ups are new messages with their own flags

    interaction = await discord_twin.open_slash_command(twin_world.channel, twin_world.user, "private")
    followup = await interaction.wait_for_followup(timeout=WAIT)
    assert followup is interaction.original and followup.ephemeral and followup.content == "still private"
