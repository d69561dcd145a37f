"""Rules where the twin was looser (or stricter) than Discord, each now as Discord documents it; every test cites its
section of discord/discord-api-docs (developers/...). Driven by discord.py where it can send the request, and by
plain HTTP where discord.py itself would refuse to."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import discord
import pytest

from discord_twin import Attachment, DiscordTwin, World
from discord_twin.permissions import ADD_REACTIONS, MANAGE_MESSAGES
from discord_twin.rest.http import DiscordError
from discord_twin.rest.ratelimit import RouteLimit
from discord_twin.rest.validation import validate_components, validate_message
from discord_twin.tests.clients import WAIT, StartClient, digit_png, eventually, make_client, pointed_at

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
async def http(discord_twin: DiscordTwin) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=discord_twin.cdn_base) as session:
        yield session


async def call(twin: DiscordTwin, http: aiohttp.ClientSession, method: str, path: str, body: Any = None,
               *, token: str | None = None) -> tuple[int, Any]:
    """A REST call with the bot's token (or `token`); the status and the JSON answer (None if there is none)."""
    headers = {"Authorization": f"Bot {token or twin.token}"}
    async with http.request(method, f"/api/v10{path}", json=body, headers=headers) as response:
        data = await response.json() if response.content_type == "application/json" else None
        return response.status, data


async def command(twin: DiscordTwin, world: World) -> Any:
    return await twin.open_slash_command(world.channel, world.user, "digit", require_registered=False)


# -- interactions (interactions/receiving-and-responding) --------------------------------------------------------


async def test_a_followup_always_returns_its_message(discord_twin: DiscordTwin, twin_world: World,
                                                     http: aiohttp.ClientSession) -> None:
    """Create Followup Message: "Functions the same as Execute Webhook, but `wait` is always true"."""
    interaction = await command(discord_twin, twin_world)
    await call(discord_twin, http, "POST", f"/interactions/{interaction.id}/{interaction.token}/callback", {"type": 5})
    await call(discord_twin, http, "PATCH", f"/webhooks/{discord_twin.application_id}/{interaction.token}/messages/@original",
               {"content": "done"})
    status, message = await call(discord_twin, http, "POST",
                                 f"/webhooks/{discord_twin.application_id}/{interaction.token}", {"content": "more"})
    assert status == 200 and message["content"] == "more" and int(message["id"]) == interaction.followups[-1].id


async def test_a_deferral_takes_only_the_ephemeral_flag(discord_twin: DiscordTwin, twin_world: World,
                                                        http: aiohttp.ClientSession) -> None:
    """Interaction Callback Data Structure: with DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE "the only valid message flag you
    may use is EPHEMERAL"."""
    refused = await command(discord_twin, twin_world)
    status, error = await call(discord_twin, http, "POST", f"/interactions/{refused.id}/{refused.token}/callback",
                               {"type": 5, "data": {"flags": 4}})  # SUPPRESS_EMBEDS
    assert (status, error["code"]) == (400, 50035) and refused.callbacks == []
    ephemeral = await command(discord_twin, twin_world)
    status, _ = await call(discord_twin, http, "POST", f"/interactions/{ephemeral.id}/{ephemeral.token}/callback",
                           {"type": 5, "data": {"flags": 64}})
    assert status == 204 and ephemeral.original is not None and ephemeral.original.ephemeral


async def test_pong_and_autocomplete_results_do_not_answer_a_command_and_a_modal_is_checked(
    discord_twin: DiscordTwin, twin_world: World, http: aiohttp.ClientSession
) -> None:
    """Interaction Callback Type: PONG (1) "ACK a Ping", APPLICATION_COMMAND_AUTOCOMPLETE_RESULT (8) answers an
    autocomplete interaction; MODAL (9) answers a command ("Not available for MODAL_SUBMIT and PING interactions")
    with a Modal: custom_id 1-100 characters, title max 45, between 1 and 5 components."""
    for kind in (1, 8):
        interaction = await command(discord_twin, twin_world)
        status, error = await call(discord_twin, http, "POST",
                                   f"/interactions/{interaction.id}/{interaction.token}/callback", {"type": kind})
        assert (status, error["code"]) == (400, 50035), kind
    text_input = {"type": 1, "components": [{"type": 4, "custom_id": "n", "style": 1, "label": "Digit"}]}
    for modal, expected in (({"custom_id": "m", "title": "t" * 46, "components": [text_input]}, 400),
                            ({"custom_id": "m", "title": "Which digit?", "components": []}, 400),
                            ({"custom_id": "m", "title": "Which digit?", "components": [text_input]}, 204)):
        interaction = await command(discord_twin, twin_world)
        status, _ = await call(discord_twin, http, "POST", f"/interactions/{interaction.id}/{interaction.token}/callback",
                               {"type": 9, "data": modal})
        assert status == expected, modal


async def test_an_ephemeral_message_is_not_in_its_channel(discord_twin: DiscordTwin, twin_world: World,
                                                          http: aiohttp.ClientSession) -> None:
    """receiving-and-responding › Followup Messages / Get Original Interaction Response: an ephemeral message exists for
    its one viewer and is reached through the interaction's webhook; the channel routes answer 10008 "Unknown
    Message" (topics/opcodes-and-status-codes › JSON Error Codes)."""
    interaction = await command(discord_twin, twin_world)
    await call(discord_twin, http, "POST", f"/interactions/{interaction.id}/{interaction.token}/callback",
               {"type": 4, "data": {"content": "only you", "flags": 64}})
    path = f"/channels/{twin_world.channel.id}/messages/{interaction.original.id}"
    for method, body in (("GET", None), ("PATCH", {"content": "edited"}), ("DELETE", None)):
        status, error = await call(discord_twin, http, method, path, body)
        assert (status, error["code"]) == (404, 10008), method
    status, original = await call(discord_twin, http, "GET",
                                  f"/webhooks/{discord_twin.application_id}/{interaction.token}/messages/@original")
    assert status == 200 and original["content"] == "only you"


# -- messages (resources/message) --------------------------------------------------------------------------------


async def test_a_channel_message_takes_only_the_flags_create_message_lists(
    discord_twin: DiscordTwin, twin_world: World, start_client: StartClient
) -> None:
    """Create Message › flags: "only SUPPRESS_EMBEDS, SUPPRESS_NOTIFICATIONS, IS_VOICE_MESSAGE, and IS_COMPONENTS_V2
    can be set": EPHEMERAL (64) is refused on a channel message."""
    client = await start_client(make_client())
    channel = client.get_channel(twin_world.channel.id)
    assert isinstance(channel, discord.TextChannel)
    sent = await channel.send("quietly", silent=True, suppress_embeds=True)
    assert sent.flags.suppress_notifications and sent.flags.suppress_embeds
    with pytest.raises(discord.HTTPException) as error:
        with discord.http.handle_message_parameters(content="secret", flags=discord.MessageFlags(ephemeral=True)) as params:
            await client.http.send_message(channel.id, params=params)
    assert (error.value.status, error.value.code) == (400, 50035)


async def test_a_message_request_is_at_most_25_mib(discord_twin: DiscordTwin, twin_world: World,
                                                   start_client: StartClient) -> None:
    """Create Message › Limitations: "The maximum request size when sending a message is 25 MiB", though each file
    is under its own 10 MiB: 413 / 40005 "Request entity too large"."""
    client = await start_client(make_client())
    channel = client.get_channel(twin_world.channel.id)
    assert isinstance(channel, discord.TextChannel)
    nine_mib = b"x" * (9 * 1024 * 1024)
    await channel.send(files=[discord.File(io.BytesIO(nine_mib), f"{i}.bin") for i in range(2)])
    with pytest.raises(discord.HTTPException) as error:
        await channel.send(files=[discord.File(io.BytesIO(nine_mib), f"{i}.bin") for i in range(3)])
    assert (error.value.status, error.value.code) == (413, 40005)


async def test_deleting_another_users_message_needs_manage_messages(
    discord_twin: DiscordTwin, twin_world: World, start_client: StartClient
) -> None:
    """Delete Message: "trying to delete a message that was not sent by the current user, this endpoint requires the
    MANAGE_MESSAGES permission"; in a DM there is no such permission: 50003 "Cannot execute action on a DM channel".
    Delete User Reaction: "Deletes another user's reaction. This endpoint requires the MANAGE_MESSAGES permission"."""
    client = await start_client(make_client())
    channel = client.get_channel(twin_world.channel.id)
    assert isinstance(channel, discord.TextChannel)
    posted = await discord_twin.post_message(twin_world.channel, twin_world.user, "mine")
    discord_twin.world.react(posted, "👍", twin_world.user.id, added=True)
    message = await channel.fetch_message(posted.id)
    with pytest.raises(discord.Forbidden) as error:
        await message.remove_reaction("👍", discord.Object(twin_world.user.id))
    assert error.value.code == 50013
    with pytest.raises(discord.Forbidden) as error:
        await message.delete()
    assert error.value.code == 50013 and not posted.deleted
    await (await channel.send("the bot's own")).delete()
    discord_twin.set_permission_overwrite(twin_world.channel, discord_twin.bot_user, allow=MANAGE_MESSAGES)
    await message.remove_reaction("👍", discord.Object(twin_world.user.id))
    await message.delete()
    assert posted.deleted and posted.reactions["👍"] == set()

    dm = discord_twin.open_dm(twin_world.user)
    in_dm = await discord_twin.post_message(dm, twin_world.user, "a DM")
    with pytest.raises(discord.Forbidden) as error:
        await client.http.delete_message(dm.id, in_dm.id)
    assert error.value.code == 50003


async def test_reacting_with_an_emoji_already_there_needs_no_add_reactions(
    discord_twin: DiscordTwin, twin_world: World, start_client: StartClient
) -> None:
    """Create Reaction: "if nobody else has reacted to the message using this emoji, this endpoint requires the
    ADD_REACTIONS permission" (and always READ_MESSAGE_HISTORY)."""
    client = await start_client(make_client())
    discord_twin.take_from_bot(twin_world.channel, ADD_REACTIONS)
    posted = await discord_twin.post_message(twin_world.channel, twin_world.user, "react to me")
    discord_twin.world.react(posted, "👀", twin_world.user.id, added=True)
    channel = client.get_channel(twin_world.channel.id)
    assert isinstance(channel, discord.TextChannel)
    message = await channel.fetch_message(posted.id)
    await message.add_reaction("👀")
    with pytest.raises(discord.Forbidden):
        await message.add_reaction("🎉")
    assert posted.reactions == {"👀": {twin_world.user.id, discord_twin.bot_user.id}}


async def test_without_the_message_content_intent_rest_blanks_content_too(
    discord_twin: DiscordTwin, twin_world: World, start_client: StartClient
) -> None:
    """events/gateway › Message Content Intent: it "permits your app to receive message content data across the
    APIs"; HTTP Restrictions are "unaffected by which intents your app passes ... when Identifying". Without it
    enabled, Get Channel Message(s) blank content, embeds and attachments, except in the bot's own messages, DMs and
    messages that mention it."""
    discord_twin.set_privileged_intents(message_content=False)
    client = await start_client(make_client(message_content=False))
    channel = client.get_channel(twin_world.channel.id)
    assert isinstance(channel, discord.TextChannel)
    hidden = await discord_twin.post_message(twin_world.channel, twin_world.user, "secret",
                                             attachments=[Attachment(digit_png(), "1.png")])
    mention = await discord_twin.post_message(twin_world.channel, twin_world.user, f"<@{discord_twin.bot_user.id}> hi")
    own = await channel.send("the bot's own")
    fetched = await channel.fetch_message(hidden.id)
    assert (fetched.content, fetched.attachments) == ("", [])
    assert (await channel.fetch_message(mention.id)).content.endswith("hi")
    history = {m.id: m.content for m in [m async for m in channel.history(limit=10)]}
    assert history[hidden.id] == "" and history[own.id] == "the bot's own"
    dm = discord_twin.open_dm(twin_world.user)
    in_dm = await discord_twin.post_message(dm, twin_world.user, "in a DM")
    assert (await client.http.get_message(dm.id, in_dm.id))["content"] == "in a DM"


async def test_an_edit_keeps_exactly_the_attachments_it_lists(
    discord_twin: DiscordTwin, twin_world: World, start_client: StartClient
) -> None:
    """Edit Message: "Any provided files will be appended to the message"; "Starting with API v10, the attachments
    array must contain all attachments that should be present after edit, including retained and new"."""
    client = await start_client(make_client())
    channel = client.get_channel(twin_world.channel.id)
    assert isinstance(channel, discord.TextChannel)
    sent = await channel.send(files=[discord.File(io.BytesIO(b"a"), "a.txt"), discord.File(io.BytesIO(b"b"), "b.txt")])
    stored = discord_twin.world.messages[sent.id]
    edited = await sent.edit(attachments=[sent.attachments[0], discord.File(io.BytesIO(b"c"), "c.txt")])
    assert [a.filename for a in edited.attachments] == ["a.txt", "c.txt"]
    # Files without an `attachments` array are appended.
    with discord.http.handle_message_parameters(files=[discord.File(io.BytesIO(b"d"), "d.txt")]) as params:
        assert params.multipart is not None and params.multipart[0]["name"] == "payload_json"
        params.multipart[0]["value"] = "{}"  # the payload without "attachments"
        await client.http.edit_message(channel.id, sent.id, params=params)
    assert [a.filename for a in stored.attachments] == ["a.txt", "c.txt", "d.txt"]


def test_embed_limits_count_trimmed_text() -> None:
    """resources/message › Embed Limits: "Leading and trailing whitespace characters are not included (they are
    trimmed automatically)"."""
    validate_message("", [{"title": "  " + "t" * 256 + "\n", "description": " " * 10 + "d" * 4096 + " " * 10}], False)
    with pytest.raises(DiscordError):
        validate_message("", [{"title": "t" * 257}], False)
    with pytest.raises(DiscordError):
        validate_message("", [{"fields": [{"name": "   ", "value": "v"}]}], False)


# -- components (components/reference) ---------------------------------------------------------------------------


def test_a_link_buttons_url_is_at_most_512_characters() -> None:
    """Button Structure › url: "URL for link-style buttons; max 512 characters"."""
    def link(url: str) -> list[dict[str, Any]]:
        return [{"type": 1, "components": [{"type": 2, "style": 5, "label": "docs", "url": url}]}]

    validate_components(link("https://example.com/" + "x" * 492))
    with pytest.raises(DiscordError) as error:
        validate_components(link("https://example.com/" + "x" * 493))
    assert error.value.errors == {"components": {"0": {"components": {"0": {"url": {"_errors": [
        {"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 512 or fewer in length."}]}}}}}}


async def test_user_role_mentionable_and_channel_selects(
    discord_twin: DiscordTwin, twin_world: World, start_client: StartClient
) -> None:
    """Component Types 5-8, User / Role / Mentionable / Channel Select: "Options are automatically populated"; a
    message may carry them, and a pick sends their ids with the resolved users, roles or channels."""
    client = make_client()
    picked: list[discord.Interaction] = []

    @client.event
    async def on_interaction(interaction: discord.Interaction) -> None:
        picked.append(interaction)

    await start_client(client)
    view = discord.ui.View()
    view.add_item(discord.ui.UserSelect(custom_id="who"))
    view.add_item(discord.ui.RoleSelect(custom_id="role"))
    view.add_item(discord.ui.MentionableSelect(custom_id="any", max_values=2))
    view.add_item(discord.ui.ChannelSelect(custom_id="where"))
    channel = client.get_channel(twin_world.channel.id)
    assert isinstance(channel, discord.TextChannel)
    sent = await channel.send("pick", view=view)
    message = discord_twin.world.messages[sent.id]
    await discord_twin.use_component(message, twin_world.admin, "who", [str(twin_world.user.id)])
    await discord_twin.use_component(message, twin_world.admin, "any",
                                     [str(twin_world.user.id), str(twin_world.admin_role.id)])
    await discord_twin.use_component(message, twin_world.admin, "where", [str(twin_world.channel.id)])
    await eventually(lambda: len(picked) == 3, "three picks")
    who, anything, where = (p.data for p in picked)
    assert who is not None and who["values"] == [str(twin_world.user.id)]  # type: ignore[typeddict-item]
    assert set(who["resolved"]["users"]) == {str(twin_world.user.id)}  # type: ignore[typeddict-item]
    assert anything is not None and set(anything["resolved"]) >= {"users", "roles"}  # type: ignore[typeddict-item]
    assert where is not None and set(where["resolved"]["channels"]) == {str(twin_world.channel.id)}  # type: ignore[typeddict-item]


# -- the gateway (events/gateway) --------------------------------------------------------------------------------


async def test_undefined_intent_bits_close_with_4013(discord_twin: DiscordTwin, twin_world: World) -> None:
    """Close Event Codes: 4013 "Invalid intent(s): You sent an invalid intent"; Gateway Intents › List of Intents
    defines bits 0-16, 20, 21, 24 and 25 (discord.py's Intents.all() is exactly those)."""
    async with aiohttp.ClientSession() as session:
        for intents, expected in ((1 << 17, 4013), (-1, 4013), (discord.Intents.all().value, "READY")):
            async with session.ws_connect(f"{discord_twin.gateway_url}?v=10&encoding=json") as ws:
                await ws.receive(timeout=WAIT)
                await ws.send_json({"op": 2, "d": {"token": discord_twin.token, "intents": intents, "properties": {}}})
                answer = await ws.receive(timeout=WAIT)
                got = answer.data if answer.type is aiohttp.WSMsgType.CLOSE else answer.json()["t"]
                assert got == expected, intents


async def test_more_than_120_events_a_minute_close_with_4008_and_the_session_resumes(
    discord_twin: DiscordTwin, twin_world: World
) -> None:
    """Rate Limiting: "Apps can send 120 gateway events per connection every 60 seconds ... Apps that surpass the
    limit are immediately disconnected"; Close Event Codes: 4008 "Rate limited", reconnect: true."""
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(f"{discord_twin.gateway_url}?v=10&encoding=json") as ws:
            await ws.receive(timeout=WAIT)
            await ws.send_json({"op": 2, "d": {"token": discord_twin.token, "intents": 1, "properties": {}}})
            ready = (await ws.receive(timeout=WAIT)).json()["d"]
            for _ in range(120):
                await ws.send_json({"op": 1, "d": None})
            answer = await ws.receive(timeout=WAIT)
            while answer.type is aiohttp.WSMsgType.TEXT:  # GUILD_CREATE and ACKs first
                answer = await ws.receive(timeout=WAIT)
            assert answer.type is aiohttp.WSMsgType.CLOSE and answer.data == 4008
        async with session.ws_connect(ready["resume_gateway_url"]) as ws:
            await ws.receive(timeout=WAIT)
            await ws.send_json({"op": 6, "d": {"token": discord_twin.token, "session_id": ready["session_id"], "seq": 1}})
            events = [(await ws.receive(timeout=WAIT)).json()["t"] for _ in range(2)]
            assert events == ["GUILD_CREATE", "RESUMED"]
    assert discord_twin.gateway.rate_limited == 1


# -- REST at large (topics/rate-limits, reference) ---------------------------------------------------------------


async def test_10000_invalid_requests_in_10_minutes_get_the_bot_banned(
    discord_twin: DiscordTwin, twin_world: World, http: aiohttp.ClientSession
) -> None:
    """Invalid Request Limit aka Cloudflare bans: "10,000 per 10 minutes. An invalid request is one that results in
    401, 403, or 429 statuses" ("429 errors returned with X-RateLimit-Scope: shared are not counted"); the address is
    then "temporarily restricted": Cloudflare answers, not Discord, and discord.py raises instead of retrying. The
    limit is lowered to 5 here."""
    discord_twin.rest.rate_limits.invalid_limit = RouteLimit(5, 600.0)
    discord_twin.fail_next_rest(429, scope="shared", count=3)
    for _ in range(3):
        assert (await call(discord_twin, http, "GET", "/users/@me"))[0] == 429  # shared: not counted
    for _ in range(5):
        assert (await call(discord_twin, http, "GET", "/users/@me", token="wrong"))[0] == 401
    async with http.get("/api/v10/users/@me", headers={"Authorization": f"Bot {discord_twin.token}"}) as response:
        assert response.status == 429 and "Via" not in response.headers
        assert await response.text() == "error code: 1015"
    client = make_client()
    with pytest.raises(discord.HTTPException) as error:
        with pointed_at(discord_twin.api_base, discord_twin.gateway_url):
            await client.login(discord_twin.token)
    await client.close()
    assert error.value.status == 429


async def test_an_injected_429_is_a_real_one(discord_twin: DiscordTwin, twin_world: World,
                                             http: aiohttp.ClientSession) -> None:
    """topics/rate-limits › Header Format and Exceeding A Rate Limit: a route's 429 carries its bucket with nothing
    remaining and X-RateLimit-Scope: user; a global one X-RateLimit-Global: true and "global": true. Both count."""
    path = f"/api/v10/channels/{twin_world.channel.id}/messages"
    headers = {"Authorization": f"Bot {discord_twin.token}"}
    discord_twin.fail_next_rest(429, route="POST /api/v10/channels/", retry_after=0.5)
    discord_twin.fail_next_rest(429, route="POST /api/v10/channels/", scope="global", retry_after=0.5)
    async with http.post(path, json={"content": "x"}, headers=headers) as route:
        assert route.status == 429 and route.headers["X-RateLimit-Remaining"] == "0"
        assert route.headers["X-RateLimit-Scope"] == "user" and route.headers["X-RateLimit-Bucket"]
        assert float(route.headers["X-RateLimit-Reset-After"]) == 0.5 and not (await route.json())["global"]
    async with http.post(path, json={"content": "x"}, headers=headers) as global_:
        assert global_.status == 429 and global_.headers["X-RateLimit-Global"] == "true"
        assert (await global_.json())["global"] is True
    assert [scope for _, scope in discord_twin.rest.rate_limits.limited] == ["user", "global"]


async def test_attachment_urls_are_signed_and_expire(discord_twin: DiscordTwin, twin_world: World,
                                                     http: aiohttp.ClientSession) -> None:
    """reference › Signed Attachment CDN URLs: attachment URLs carry `ex` (expiry), `is` (issued) and `hm` (a
    signature "that remains valid until the URL's expiration"); without them, tampered with, or expired, the CDN no
    longer serves the file."""
    posted = await discord_twin.post_message(twin_world.channel, twin_world.user,
                                             attachments=[Attachment(digit_png(), "1.png")])
    url = discord_twin.world.message_payload(posted)["attachments"][0]["url"]
    query = dict(part.split("=") for part in url.split("?")[1].strip("&").split("&"))
    assert set(query) == {"ex", "is", "hm"} and int(query["ex"], 16) - int(query["is"], 16) == 24 * 3600
    path = url.removeprefix(discord_twin.cdn_base)
    async with http.get(path) as response:
        assert response.status == 200 and await response.read() == digit_png()
    for broken in (path.split("?")[0], path.replace(query["hm"], "0" * 64)):
        async with http.get(broken) as response:
            assert response.status == 404
    discord_twin.world.cdn.lifetime = 0  # URLs issued from now on are already expired
    expired = posted.attachments[0].url.removeprefix(discord_twin.cdn_base)
    async with http.get(expired) as response:
        assert response.status == 404
