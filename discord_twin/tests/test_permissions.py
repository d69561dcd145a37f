"""Permissions: computed from roles and channel overwrites, and enforced on the bot's REST calls as Discord does.

topics/permissions › Permission Overwrites and Implicit Permissions; resources/message › Create Message and Get
Channel Messages; JSON error codes from topics/opcodes-and-status-codes › JSON Error Codes."""

from __future__ import annotations

import asyncio
import io

import discord
import pytest

from discord_twin import (
    ATTACH_FILES,
    EMBED_LINKS,
    READ_MESSAGE_HISTORY,
    SEND_MESSAGES,
    VIEW_CHANNEL,
    DiscordTwin,
    World,
)
from discord_twin.permissions import ADMINISTRATOR, channel_permissions
from discord_twin.tests.clients import WAIT, StartClient, make_client, record_messages

pytestmark = pytest.mark.timeout(30)


def test_overwrites_apply_in_discords_order(discord_twin: DiscordTwin, twin_world: World) -> None:
    """Permission Overwrites: @everyone's overwrite, then every role's together (allow wins over deny among roles),
    then the member's own; Administrator ignores overwrites; Implicit Permissions: no VIEW_CHANNEL means nothing,
    no SEND_MESSAGES means no ATTACH_FILES or EMBED_LINKS."""
    guild, channel, bob = twin_world.guild, twin_world.channel, twin_world.user
    helpers = discord_twin.create_role(guild, "helpers")
    muted = discord_twin.create_role(guild, "muted")
    discord_twin.add_member(guild, bob, roles=[helpers, muted])
    assert channel_permissions(guild, channel, bob) & ATTACH_FILES
    discord_twin.set_permission_overwrite(channel, guild.everyone, deny=ATTACH_FILES)
    assert not channel_permissions(guild, channel, bob) & ATTACH_FILES
    discord_twin.set_permission_overwrite(channel, muted, deny=ATTACH_FILES | EMBED_LINKS)
    discord_twin.set_permission_overwrite(channel, helpers, allow=ATTACH_FILES)
    value = channel_permissions(guild, channel, bob)
    assert value & ATTACH_FILES and not value & EMBED_LINKS
    discord_twin.set_permission_overwrite(channel, bob, deny=ATTACH_FILES)
    assert not channel_permissions(guild, channel, bob) & ATTACH_FILES
    discord_twin.set_permission_overwrite(channel, bob, deny=SEND_MESSAGES)
    value = channel_permissions(guild, channel, bob)
    assert value & VIEW_CHANNEL and not value & (SEND_MESSAGES | ATTACH_FILES)
    discord_twin.set_permission_overwrite(channel, guild.everyone, deny=VIEW_CHANNEL)
    assert channel_permissions(guild, channel, bob) == 0
    assert channel_permissions(guild, channel, twin_world.admin) & ADMINISTRATOR


async def test_rest_calls_need_the_permissions_discord_requires(
    discord_twin: DiscordTwin, twin_world: World, start_client: StartClient
) -> None:
    """Create Message needs SEND_MESSAGES (403/50013), a reply READ_MESSAGE_HISTORY (403/160002), files ATTACH_FILES
    (403/50013); a channel the bot cannot view is 403/50001; embeds without EMBED_LINKS are dropped silently."""
    client = await start_client(make_client())
    channel = client.get_channel(twin_world.channel.id)
    assert isinstance(channel, discord.TextChannel)
    posted = await discord_twin.post_message(twin_world.channel, twin_world.user, "hi")
    target = channel.get_partial_message(posted.id)

    discord_twin.take_from_bot(twin_world.channel, READ_MESSAGE_HISTORY)
    with pytest.raises(discord.Forbidden) as error:
        await target.reply("answer")
    assert error.value.code == 160002
    assert (await channel.send("not a reply")).content == "not a reply"
    assert [m async for m in channel.history()] == []  # Get Channel Messages: no messages without history
    discord_twin.give_back_to_bot(twin_world.channel, READ_MESSAGE_HISTORY)

    discord_twin.take_from_bot(twin_world.channel, ATTACH_FILES)
    with pytest.raises(discord.Forbidden) as error:
        await channel.send("a file", file=discord.File(io.BytesIO(b"x"), "x.txt"))
    assert error.value.code == 50013

    discord_twin.take_from_bot(twin_world.channel, EMBED_LINKS)
    sent = await channel.send("text", embed=discord.Embed(title="lost"))
    assert sent.embeds == [] and discord_twin.bot_messages[-1].embeds == []

    discord_twin.take_from_bot(twin_world.channel, SEND_MESSAGES)
    for call in (channel.send("x"), channel.typing()):
        with pytest.raises(discord.Forbidden) as error:
            await call
        assert error.value.code == 50013

    discord_twin.take_from_bot(twin_world.channel, VIEW_CHANNEL)
    with pytest.raises(discord.Forbidden) as error:
        await channel.send("x")
    assert error.value.code == 50001


async def test_the_bot_sees_overwrites_and_no_events_of_channels_it_cannot_view(
    discord_twin: DiscordTwin, twin_world: World, start_client: StartClient
) -> None:
    """Overwrites reach the client (CHANNEL_UPDATE), so discord.py's permissions_for agrees with the twin; gateway
    message events of a channel the bot cannot view are not sent (topics/permissions: VIEW_CHANNEL "includes reading
    messages")."""
    client = make_client()
    seen = record_messages(client)
    await start_client(client)
    hidden = discord_twin.create_channel(twin_world.guild, "staff")
    discord_twin.take_from_bot(hidden, VIEW_CHANNEL)
    discord_twin.take_from_bot(twin_world.channel, ATTACH_FILES)
    await asyncio.sleep(0.1)
    channel = client.get_channel(twin_world.channel.id)
    assert isinstance(channel, discord.TextChannel)
    me = channel.guild.me
    assert not channel.permissions_for(me).attach_files and channel.permissions_for(me).send_messages
    staff = client.get_channel(hidden.id)
    assert isinstance(staff, discord.TextChannel) and not staff.permissions_for(me).view_channel
    await discord_twin.post_message(hidden, twin_world.user, "secret")
    await discord_twin.post_message(twin_world.channel, twin_world.user, "public")
    message = await asyncio.wait_for(seen.get(), WAIT)
    assert message.content == "public" and seen.empty()
