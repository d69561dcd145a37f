"""How the twin's gateway serves discord.py: READY and guilds, resumes, intents, world changes, member chunks."""

from __future__ import annotations

import asyncio

import discord
import pytest

from discord_twin import Attachment, DiscordTwin, World
from discord_twin.tests.clients import (
    WAIT,
    StartClient,
    make_client,
    no_identify_delay,
    pointed_at,
    received,
    record_messages,
)

pytestmark = pytest.mark.timeout(30)

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
    discord_twin.gateway.session_starts.identify_interval = 0.0  # the twin's side of Discord's 5 s, likewise
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


async def test_a_reply_that_pings_the_bot_is_a_mention(
    discord_twin: DiscordTwin, twin_world: World, start_client: StartClient
) -> None:
    """events/gateway › Message Content Intent: without the intent content is empty except "Content in which the app
    is mentioned"; a reply that pings puts the replied-to author in `mentions` (resources/message › Message Object)."""
    client = make_client(message_content=False)
    queue = record_messages(client)
    await start_client(client)
    channel = client.get_channel(twin_world.channel.id)
    assert isinstance(channel, discord.TextChannel)
    sent = await channel.send("a bot message")
    own = discord_twin.bot_messages[-1]
    assert own.id == sent.id
    await discord_twin.post_message(twin_world.channel, twin_world.user, "quiet reply", reply_to=own, ping=False)
    await discord_twin.post_message(twin_world.channel, twin_world.user, "pinging reply", reply_to=own)
    quiet, pinging = await received(queue, 2)
    assert quiet.content == "" and quiet.mentions == []
    assert pinging.content == "pinging reply" and [u.id for u in pinging.mentions] == [discord_twin.bot_user.id]


async def test_disallowed_intent_closes_with_4014(discord_twin: DiscordTwin, twin_world: World) -> None:
    """topics/opcodes-and-status-codes › Gateway Close Event Codes: 4014 "Disallowed intent(s)" when a privileged
    intent is asked for that is not enabled in the developer portal; discord.py raises PrivilegedIntentsRequired."""
    discord_twin.set_privileged_intents(message_content=False)
    client = make_client(message_content=True)
    with pointed_at(discord_twin.api_base, discord_twin.gateway_url):
        with pytest.raises(discord.PrivilegedIntentsRequired):
            await asyncio.wait_for(client.start(discord_twin.token), WAIT)
        await client.close()


async def test_rejected_token_at_the_gateway_closes_with_4004(discord_twin: DiscordTwin, twin_world: World) -> None:
    """Gateway Close Event Codes: 4004 "Authentication failed" (not reconnectable): discord.py stops with
    ConnectionClosed code 4004."""
    discord_twin.reject_gateway_token()
    client = make_client()
    with pointed_at(discord_twin.api_base, discord_twin.gateway_url):
        with pytest.raises(discord.ConnectionClosed) as closed:
            await asyncio.wait_for(client.start(discord_twin.token), WAIT)
        await client.close()
    assert closed.value.code == 4004


async def test_op_7_reconnect_and_resumable_invalid_session_are_resumed(
    discord_twin: DiscordTwin, twin_world: World, start_client: StartClient
) -> None:
    """events/gateway › Resuming: an app should resume after "a Reconnect (opcode 7) event" and after "an Invalid
    Session (opcode 9) event with the d field set to true"; no event is lost and no new session is identified."""
    client = make_client()
    queue = record_messages(client)
    await start_client(client)
    assert discord_twin.reconnect_gateway() == 1
    await discord_twin.post_message(twin_world.channel, twin_world.user, "around op 7")
    await discord_twin.wait_until(lambda: discord_twin.gateway.resumes == 1 or None, WAIT, "a resume after op 7")
    await discord_twin.invalidate_session(resumable=True)
    await discord_twin.post_message(twin_world.channel, twin_world.user, "around op 9")
    await discord_twin.wait_until(lambda: discord_twin.gateway.resumes == 2 or None, WAIT, "a resume after op 9")
    assert [m.content for m in await received(queue, 2)] == ["around op 7", "around op 9"]
    assert discord_twin.gateway.identifies == 1


async def test_a_connection_whose_heartbeats_stop_is_closed_and_its_session_resumed(
    discord_twin: DiscordTwin, twin_world: World, start_client: StartClient
) -> None:
    """events/gateway › Sending Heartbeats › Heartbeat Interval: "If your app fails to send a heartbeat event in time,
    your connection will be closed and you will be forced to Resume": the session stays, and what happened while the
    connection was gone arrives after the RESUME, with no new IDENTIFY."""
    discord_twin.gateway.heartbeat_interval_ms = 200  # Discord's is about 41 s; shortened to keep the test fast
    client = make_client()
    queue = record_messages(client)
    await start_client(client)
    discord_twin.lose_heartbeats()
    await discord_twin.wait_until(lambda: discord_twin.gateway.timeouts == 1 or None, WAIT, "a heartbeat timeout")
    await discord_twin.post_message(twin_world.channel, twin_world.user, "while the connection was gone")
    await discord_twin.wait_until(lambda: discord_twin.gateway.resumes == 1 or None, WAIT, "a resume")
    assert [m.content for m in await received(queue, 1)] == ["while the connection was gone"]
    assert discord_twin.gateway.identifies == 1 and discord_twin.gateway.refused_resumes == 0
