"""Registering application commands: what a bot can fetch to compare before it syncs, and Discord's limits on commands
(discord/discord-api-docs, developers/interactions/application-commands.mdx › Registering a Command, Get Global
Application Commands, Bulk Overwrite Global Application Commands; topics/opcodes-and-status-codes › JSON Error Codes)."""

from __future__ import annotations

from typing import Any

import discord
import pytest
from discord import app_commands

from discord_twin import DiscordTwin, World
from discord_twin.tests.clients import StartClient, make_client

pytestmark = pytest.mark.timeout(30)


def slash(name: str) -> Any:
    return {"type": 1, "name": name, "description": f"the {name} command"}


async def test_a_bot_fetches_what_it_registered_and_an_identical_sync_creates_nothing(
    discord_twin: DiscordTwin, twin_world: World, start_client: StartClient
) -> None:
    """Get Global / Guild Application Commands return the registered commands (ids, versions, options), so a bot can
    compare them with its own; overwriting with the same commands creates none (Bulk Overwrite: "Commands that do not
    already exist will count toward daily application command create limits") and keeps their versions."""
    client = make_client()
    tree = app_commands.CommandTree(client)

    @tree.command(description="Read a digit")
    async def digit(interaction: discord.Interaction, image: discord.Attachment) -> None:
        pass

    @tree.context_menu(name="Recognize digit")
    async def recognize(interaction: discord.Interaction, message: discord.Message) -> None:
        pass

    await start_client(client)
    synced = await tree.sync()
    fetched = await tree.fetch_commands()
    assert [(c.id, c.name, c.type) for c in fetched] == [(c.id, c.name, c.type) for c in synced]
    assert [option.name for option in fetched[0].options] == ["image"]
    versions = [c["version"] for c in discord_twin.commands]
    await tree.sync()
    assert [c["version"] for c in discord_twin.commands] == versions
    assert len(discord_twin.rest.commands.creates[None]) == 2

    guild = discord.Object(twin_world.guild.id)
    tree.copy_global_to(guild=guild)
    await tree.sync(guild=guild)
    assert sorted(c.name for c in await tree.fetch_commands(guild=guild)) == ["Recognize digit", "digit"]
    one = await tree.fetch_command(synced[0].id)
    assert one.name == synced[0].name


async def test_200_command_creates_a_day_per_guild(
    discord_twin: DiscordTwin, twin_world: World, start_client: StartClient
) -> None:
    """Registering a Command: "There is a global rate limit of 200 application command creates per day, per guild";
    past it, JSON error 30034 "Maximum number of daily application command creates has been reached (200)" and the
    commands stay as they were. Another guild has its own 200; the global scope is counted the same way."""
    client = await start_client(make_client())
    app, guild = discord_twin.application_id, twin_world.guild.id
    await client.http.bulk_upsert_guild_commands(app, guild, [slash(f"a{i}") for i in range(100)])
    second = [slash(f"b{i}") for i in range(100)]
    await client.http.bulk_upsert_guild_commands(app, guild, second)
    await client.http.bulk_upsert_guild_commands(app, guild, second)  # nothing new: nothing counted
    with pytest.raises(discord.HTTPException) as error:
        await client.http.bulk_upsert_guild_commands(app, guild, [*second[:99], slash("c0")])
    assert (error.value.status, error.value.code) == (400, 30034)
    assert sorted(c["name"] for c in discord_twin.guild_commands[guild]) == sorted(c["name"] for c in second)
    await client.http.bulk_upsert_guild_commands(app, guild, second[:50])  # fewer: still nothing new
    with pytest.raises(discord.HTTPException) as error:
        await client.http.upsert_guild_command(app, guild, slash("c1"))
    assert error.value.code == 30034
    await client.http.upsert_guild_command(app, guild, {**slash("b0"), "description": "replaced"})  # not a create

    other = discord_twin.create_guild("other")
    await client.http.bulk_upsert_guild_commands(app, other.id, [slash("a0")])
    discord_twin.rest.commands.creates_per_day = 3  # the same rule for global commands, shown with a lower limit
    await client.http.bulk_upsert_global_commands(app, [slash(f"g{i}") for i in range(3)])
    with pytest.raises(discord.HTTPException) as error:
        await client.http.upsert_global_command(app, slash("g3"))
    assert error.value.code == 30034


async def test_100_chat_input_15_user_and_15_message_commands(
    discord_twin: DiscordTwin, twin_world: World, start_client: StartClient
) -> None:
    """Registering a Command: "100 global CHAT_INPUT commands, 15 global USER commands, 15 global MESSAGE commands",
    the same per guild; past them, JSON error 30032 "Maximum number of application commands reached"."""
    client = await start_client(make_client())
    app = discord_twin.application_id
    users = [{"type": 2, "name": f"User {i}"} for i in range(15)]
    messages = [{"type": 3, "name": f"Message {i}"} for i in range(15)]
    await client.http.bulk_upsert_global_commands(app, [*(slash(f"s{i}") for i in range(100)), *users, *messages])
    extras: list[Any] = [slash("s100"), {"type": 2, "name": "User 15"}, {"type": 3, "name": "Message 15"}]
    for extra in extras:
        with pytest.raises(discord.HTTPException) as error:
            await client.http.upsert_global_command(app, extra)
        assert (error.value.status, error.value.code) == (400, 30032)
    with pytest.raises(discord.HTTPException) as error:
        await client.http.bulk_upsert_guild_commands(app, twin_world.guild.id, [slash(f"s{i}") for i in range(101)])
    assert error.value.code == 30032
    assert len(discord_twin.commands) == 130


async def test_a_command_is_fetched_and_deleted_by_id(
    discord_twin: DiscordTwin, twin_world: World, start_client: StartClient
) -> None:
    """Get / Delete Global Application Command; an unknown id is JSON error 10063 "Unknown application command"."""
    client = await start_client(make_client())
    app = discord_twin.application_id
    [created] = await client.http.bulk_upsert_global_commands(app, [slash("digit")])
    assert (await client.http.get_global_command(app, created["id"]))["name"] == "digit"
    await client.http.delete_global_command(app, created["id"])
    assert discord_twin.commands == []
    with pytest.raises(discord.NotFound) as error:
        await client.http.get_global_command(app, created["id"])
    assert error.value.code == 10063
