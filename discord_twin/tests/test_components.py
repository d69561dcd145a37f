"""Message components: buttons and string selects on messages, their limits, the MESSAGE_COMPONENT interactions a
click sends, and the callbacks that answer them. Each test cites its section of Discord's API documentation
(discord/discord-api-docs, developers/interactions/...)."""

from __future__ import annotations

import asyncio
from typing import Any

import discord
import pytest
from discord import app_commands
from discord.http import Route

from discord_twin import ComponentError, DiscordTwin, Message, World
from discord_twin.rest.http import DiscordError
from discord_twin.rest.validation import validate_components
from discord_twin.tests.clients import WAIT, StartClient, make_client

pytestmark = pytest.mark.timeout(30)


def button(custom_id: str, **extra: Any) -> dict[str, Any]:
    return {"type": 2, "style": 1, "label": custom_id[:80], "custom_id": custom_id, **extra}


def select(custom_id: str, count: int = 3, **extra: Any) -> dict[str, Any]:
    options = [{"label": str(n), "value": str(n)} for n in range(count)]
    return {"type": 3, "custom_id": custom_id, "options": options, **extra}


def row(*components: dict[str, Any]) -> dict[str, Any]:
    return {"type": 1, "components": list(components)}


def refused(components: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    """The field path and error of a refused component layout (400 / 50035)."""
    with pytest.raises(DiscordError) as error:
        validate_components(components)
    assert (error.value.status, error.value.code) == (400, 50035)
    errors: Any = error.value.errors
    path = []
    while "_errors" not in errors:
        key = next(iter(errors))
        path.append(key)
        errors = errors[key]
    return ".".join(path), errors["_errors"][0]


def test_layout_limits() -> None:
    """message-components › Action Rows: up to 5 action rows per message, each with up to 5 buttons or a single
    select menu; top-level components must be action rows."""
    validate_components([row(*(button(f"b{r}{i}") for i in range(5))) for r in range(5)])
    assert refused([row(button(f"b{r}")) for r in range(6)])[0] == "components"
    assert refused([row(*(button(f"b{i}") for i in range(6)))])[0] == "components.0.components"
    assert refused([row(select("s"), button("b"))])[1]["code"] == "COMPONENT_LAYOUT_WIDTH_EXCEEDED"
    assert refused([button("b")])[0] == "components.0.type"
    assert refused([row()])[0] == "components.0.components"


def test_custom_ids_are_required_bounded_and_unique() -> None:
    """message-components › Custom ID: "max 100 characters", unique among the components of a message."""
    validate_components([row(button("x" * 100))])
    assert refused([row(button("x" * 101))])[0] == "components.0.components.0.custom_id"
    assert refused([row({"type": 2, "style": 1, "label": "no id"})])[0] == "components.0.components.0.custom_id"
    path, error = refused([row(button("same")), row(select("same"))])
    assert path == "components.1.components.0.custom_id" and error["code"] == "COMPONENT_CUSTOM_ID_DUPLICATED"


def test_buttons() -> None:
    """message-components › Button: styles 1-5; a link button (5) has a url and no custom_id, the others a custom_id
    and no url; a label (max 80 characters) or an emoji."""
    validate_components([row(*(button(f"b{style}", style=style) for style in range(1, 5)),
                             {"type": 2, "style": 5, "label": "docs", "url": "https://example.com"},
                             )])
    assert refused([row(button("b", style=6))])[0] == "components.0.components.0.style"
    assert refused([row(button("b", style=5, url="https://example.com"))])[0] == "components.0.components.0.custom_id"
    assert refused([row({"type": 2, "style": 5, "label": "docs"})])[0] == "components.0.components.0.url"
    assert refused([row(button("b", url="https://example.com"))])[0] == "components.0.components.0.url"
    assert refused([row(button("b", label=""))])[0] == "components.0.components.0.label"
    assert refused([row(button("b", label="x" * 81))])[0] == "components.0.components.0.label"
    validate_components([row(button("b", label="", emoji={"name": "✅"}))])


def test_string_selects() -> None:
    """message-components › String Select: 1-25 options with unique values (label and value max 100 characters);
    min_values 0-25, max_values 1-25, and not more than the options."""
    validate_components([row(select("s", 25, min_values=0, max_values=25))])
    assert refused([row(select("s", 26))])[0] == "components.0.components.0.options"
    assert refused([row(select("s", 0))])[0] == "components.0.components.0.options"
    assert refused([row(select("s", 3, max_values=4))])[0] == "components.0.components.0.max_values"
    assert refused([row(select("s", 3, min_values=3, max_values=2))])[0] == "components.0.components.0.max_values"
    duplicated = select("s")
    duplicated["options"][1]["value"] = "0"
    assert refused([row(duplicated)])[0] == "components.0.components.0.options.1.value"
    long_label = select("s")
    long_label["options"][0]["label"] = "x" * 101
    assert refused([row(long_label)])[0] == "components.0.components.0.options.0.label"


async def test_invalid_components_are_refused_on_create_and_edit(
    discord_twin: DiscordTwin, twin_world: World, start_client: StartClient
) -> None:
    """resources/message › Create Message and Edit Message validate `components` like every other field: 50035."""
    client = await start_client(make_client())
    channel_id = twin_world.channel.id
    too_many = {"content": "x", "components": [row(button(f"b{r}")) for r in range(6)]}
    with pytest.raises(discord.HTTPException) as error:
        await client.http.request(Route("POST", "/channels/{channel_id}/messages", channel_id=channel_id), json=too_many)
    assert (error.value.status, error.value.code) == (400, 50035)
    assert discord_twin.bot_messages == []
    sent = await client.http.request(Route("POST", "/channels/{channel_id}/messages", channel_id=channel_id),
                                     json={"content": "x", "components": [row(button("ok"))]})
    duplicate = {"components": [row(button("a"), button("a"))]}
    with pytest.raises(discord.HTTPException) as error:
        await client.http.request(Route("PATCH", "/channels/{channel_id}/messages/{message_id}",
                                        channel_id=channel_id, message_id=sent["id"]), json=duplicate)
    assert error.value.code == 50035
    assert discord_twin.bot_messages[0].components == [row(button("ok"))]  # the refused edit changed nothing


class Counter(discord.ui.View):
    """A button counting clicks (UPDATE_MESSAGE), a select answering privately with its own select, and a
    button that defers the update and edits the message afterwards."""

    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(label="count: 0", custom_id="count", style=discord.ButtonStyle.primary)
    async def count(self, interaction: discord.Interaction, item: discord.ui.Button[Counter]) -> None:
        item.label = f"count: {int(str(item.label).split()[-1]) + 1}"
        await interaction.response.edit_message(content=f"clicked by {interaction.user.name}", view=self)

    @discord.ui.select(custom_id="pick", options=[discord.SelectOption(label=d, value=d) for d in "0123456789"])
    async def pick(self, interaction: discord.Interaction, item: discord.ui.Select[Counter]) -> None:
        await interaction.response.send_message(f"you picked {item.values[0]}", view=Confirm(), ephemeral=True)

    @discord.ui.button(label="slow", custom_id="slow")
    async def slow(self, interaction: discord.Interaction, item: discord.ui.Button[Counter]) -> None:
        await interaction.response.defer()  # DEFERRED_UPDATE_MESSAGE
        await asyncio.sleep(0.05)
        await interaction.edit_original_response(content="done slowly", view=None)
        await interaction.followup.send("and a follow-up", ephemeral=True)

    @discord.ui.button(label="think", custom_id="think")
    async def think(self, interaction: discord.Interaction, item: discord.ui.Button[Counter]) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)  # DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE
        await interaction.followup.send("thought about it")

    @discord.ui.button(label="off", custom_id="off", disabled=True)
    async def off(self, interaction: discord.Interaction, item: discord.ui.Button[Counter]) -> None:
        raise AssertionError("a disabled button cannot be clicked")


class Confirm(discord.ui.View):
    @discord.ui.button(label="Confirm", custom_id="confirm", style=discord.ButtonStyle.success)
    async def confirm(self, interaction: discord.Interaction, item: discord.ui.Button[Confirm]) -> None:
        await interaction.response.edit_message(content="Thanks, noted", view=None)


async def sent_with_view(discord_twin: DiscordTwin, twin_world: World, start_client: StartClient) -> Message:
    client = make_client()
    await start_client(client)
    channel = client.get_channel(twin_world.channel.id)
    assert isinstance(channel, discord.TextChannel)
    await channel.send("pick a digit", view=Counter())
    return await discord_twin.wait_for_bot_message(timeout=WAIT)


async def test_a_click_is_an_interaction_and_update_message_edits_in_place(
    discord_twin: DiscordTwin, twin_world: World, start_client: StartClient
) -> None:
    """interactions/receiving-and-responding › Interaction Object: type 3 MESSAGE_COMPONENT, `data.custom_id`,
    `data.component_type`, the `message` the component is on; Interaction Callback Type 7 UPDATE_MESSAGE "for
    components, edit the message the component was attached to"."""
    message = await sent_with_view(discord_twin, twin_world, start_client)
    assert [c["custom_id"] for c in message.components[0]["components"]] == ["count", "slow", "think", "off"]
    interaction = await discord_twin.use_component(message, twin_world.user, "count")
    payload = interaction.payload
    assert payload["type"] == 3 and payload["data"] == {"custom_id": "count", "component_type": 2}
    assert payload["message"]["id"] == str(message.id) and payload["member"]["user"]["id"] == str(twin_world.user.id)
    response = await interaction.wait_for_response(timeout=WAIT)
    assert response.type == 7 and interaction.original is message
    assert message.content == "clicked by bob" and message.components[0]["components"][0]["label"] == "count: 1"
    assert message.edited_at is not None


async def test_an_ephemeral_answer_carries_components_that_its_viewer_alone_can_use(
    discord_twin: DiscordTwin, twin_world: World, start_client: StartClient
) -> None:
    """Interaction Callback Type 4 with flags 64 (EPHEMERAL), with components; message-components › String Select:
    the interaction's `data.values`. Only the person an ephemeral message was sent to sees it, so only they use it."""
    message = await sent_with_view(discord_twin, twin_world, start_client)
    interaction = await discord_twin.use_component(message, twin_world.user, "pick", ["7"])
    assert interaction.payload["data"] == {"custom_id": "pick", "component_type": 3, "values": ["7"]}
    answer = await interaction.wait_for_original(timeout=WAIT)
    assert answer.ephemeral and answer.content == "you picked 7" and answer.type == 0
    assert answer.interaction is interaction
    assert interaction.metadata_payload()["interacted_message_id"] == str(message.id)
    assert discord_twin.world.message_payload(answer)["interaction_metadata"]["type"] == 3
    with pytest.raises(ComponentError, match="ephemeral"):
        await discord_twin.use_component(answer, twin_world.admin, "confirm")
    confirm = await discord_twin.use_component(answer, twin_world.user, "confirm")
    assert (await confirm.wait_for_response(timeout=WAIT)).type == 7
    assert answer.content == "Thanks, noted" and answer.components == []


async def test_deferred_update_then_edit_original_edits_the_components_message(
    discord_twin: DiscordTwin, twin_world: World, start_client: StartClient
) -> None:
    """Interaction Callback Type 6 DEFERRED_UPDATE_MESSAGE: "for components, ACK an interaction and edit the
    original message later"; Edit Original Interaction Response then edits the component's message; follow-ups work."""
    message = await sent_with_view(discord_twin, twin_world, start_client)
    interaction = await discord_twin.use_component(message, twin_world.admin, "slow")
    followup = await interaction.wait_for_followup(timeout=WAIT)
    assert interaction.callbacks[0].type == 6 and followup.ephemeral and followup.content == "and a follow-up"
    assert message.content == "done slowly" and message.components == []
    assert [m for m in discord_twin.bot_messages if m.interaction is interaction] == [followup]


async def test_a_deferred_answer_to_a_click_is_a_private_thinking_message_filled_in_later(
    discord_twin: DiscordTwin, twin_world: World, start_client: StartClient
) -> None:
    """Interaction Callback Type 5 DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE works for components too; the first
    follow-up fills in the "thinking…" message and keeps its (ephemeral) visibility."""
    message = await sent_with_view(discord_twin, twin_world, start_client)
    interaction = await discord_twin.use_component(message, twin_world.user, "think")
    answer = await interaction.wait_for_original(lambda m: m.content == "thought about it", timeout=WAIT)
    assert interaction.callbacks[0].type == 5 and answer.ephemeral and not answer.loading
    assert message.content == "pick a digit" and message.edited_at is None  # the clicked message is untouched


async def test_clicks_discord_would_not_offer_are_refused(
    discord_twin: DiscordTwin, twin_world: World, start_client: StartClient
) -> None:
    """message-components › Button: "disabled: whether the button is disabled"; a custom_id that is not on the
    message, values a select does not offer or too many of them, and a deleted message cannot be used either."""
    message = await sent_with_view(discord_twin, twin_world, start_client)
    with pytest.raises(ComponentError, match="disabled"):
        await discord_twin.use_component(message, twin_world.user, "off")
    with pytest.raises(ComponentError, match="no component"):
        await discord_twin.use_component(message, twin_world.user, "nope")
    with pytest.raises(ComponentError, match="offers"):
        await discord_twin.use_component(message, twin_world.user, "pick", ["x"])
    with pytest.raises(ComponentError, match="takes 1 to 1"):
        await discord_twin.use_component(message, twin_world.user, "pick", ["1", "2"])
    with pytest.raises(ComponentError, match="no values"):
        await discord_twin.use_component(message, twin_world.user, "count", ["1"])
    await discord_twin.delete_message_as_user(message)
    with pytest.raises(ComponentError, match="deleted"):
        await discord_twin.use_component(message, twin_world.user, "count")
    assert discord_twin.interactions.by_id == {}


async def test_update_callbacks_stay_refused_for_application_commands(
    discord_twin: DiscordTwin, twin_world: World, start_client: StartClient
) -> None:
    """Interaction Callback Type: 6 and 7 are "Only valid for component-based interactions"."""
    client = make_client()
    tree = app_commands.CommandTree(client)
    errors: asyncio.Queue[BaseException] = asyncio.Queue()

    @tree.command(name="update", description="Answers a command with UPDATE_MESSAGE")
    async def update(interaction: discord.Interaction) -> None:
        # discord.py itself never sends it for a command: the raw callback, as a careless library might.
        route = Route("POST", "/interactions/{interaction_id}/{token}/callback",
                      interaction_id=interaction.id, token=interaction.token)
        await client.http.request(route, json={"type": 7, "data": {"content": "no"}})

    @tree.error
    async def on_error(interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        errors.put_nowait(error.__cause__ or error)

    await start_client(client)
    await tree.sync()
    interaction = await discord_twin.open_slash_command(twin_world.channel, twin_world.user, "update")
    error = await asyncio.wait_for(errors.get(), WAIT)
    assert isinstance(error, discord.HTTPException) and error.code == 50035
    assert interaction.callbacks == []
