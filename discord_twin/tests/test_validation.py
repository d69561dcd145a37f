"""Discord's limits on what a bot sends: application commands in full, embeds, files. Each test cites its section
of Discord's API documentation (discord/discord-api-docs, developers/...)."""

from __future__ import annotations

import io
from typing import Any

import discord
import pytest

from discord_twin import DiscordTwin, World
from discord_twin.rest.http import DiscordError
from discord_twin.rest.validation import validate_command_list, validate_message
from discord_twin.tests.clients import StartClient, make_client

pytestmark = pytest.mark.timeout(30)


def option(name: str, *, required: bool = False, description: str = "an option", kind: int = 3, **extra: Any) -> dict[str, Any]:
    return {"type": kind, "name": name, "description": description, "required": required, **extra}


def command(*options: dict[str, Any], name: str = "digit", description: str = "Read a digit") -> dict[str, Any]:
    return {"type": 1, "name": name, "description": description, "options": list(options)}


def refused(commands: list[dict[str, Any]]) -> dict[str, Any]:
    with pytest.raises(DiscordError) as error:
        validate_command_list(commands)
    assert (error.value.status, error.value.code) == (400, 50035)
    assert error.value.errors is not None
    return error.value.errors


def test_option_names_follow_the_naming_pattern() -> None:
    """interactions/application-commands › Application Command Naming: CHAT_INPUT command names *and command option
    names* match ^[-_'\\p{L}\\p{N}...]{1,32}$ and use the lower-case variant of every letter."""
    validate_command_list([command(option("image"), option("batch_size"))])
    errors = refused([command(option("image"), option("Batch"))])
    assert errors["0"]["options"]["1"]["name"]["_errors"][0]["code"] == "APPLICATION_COMMAND_INVALID_NAME"
    refused([command(option("two words"))])
    refused([command(option("x" * 33))])


def test_option_descriptions_are_1_to_100_characters() -> None:
    """Application Command Option Structure › description: "1-100 character description"."""
    validate_command_list([command(option("image", description="d" * 100))])
    errors = refused([command(option("image", description="d" * 101))])
    assert "description" in errors["0"]["options"]["0"]
    refused([command(option("image", description=""))])


def test_at_most_25_options_and_25_choices() -> None:
    """Application Command Structure › options: "max of 25"; Option Structure › choices: "max 25"."""
    validate_command_list([command(*(option(f"o{i}") for i in range(25)))])
    refused([command(*(option(f"o{i}") for i in range(26)))])
    choices = [{"name": f"c{i}", "value": f"v{i}"} for i in range(26)]
    refused([command(option("pick", choices=choices))])


def test_required_options_come_before_optional_ones() -> None:
    """Application Command Option Structure: "Required options must be listed before optional options"."""
    validate_command_list([command(option("a", required=True), option("b"))])
    errors = refused([command(option("a"), option("b", required=True))])
    assert errors["0"]["options"]["1"]["required"]["_errors"][0]["code"] == "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID"


def test_subcommands_are_validated_like_commands() -> None:
    """Subcommands and Subcommand Groups: a subcommand's options follow the same rules; groups hold only subcommands."""
    sub = option("start", kind=1, options=[option("epochs", required=True, kind=4)])
    validate_command_list([command(sub, name="retrain")])
    bad = option("start", kind=1, options=[option("epochs", kind=4), option("Layers", kind=3)])
    errors = refused([command(bad, name="retrain")])
    assert "name" in errors["0"]["options"]["0"]["options"]["1"]
    refused([command(option("start", kind=1), option("epochs"), name="retrain")])  # mixed with plain options


def test_a_command_is_at_most_8000_characters() -> None:
    """interactions/application-commands › Slash Commands: "a maximum of 8000 characters for combined name,
    description, and value properties for each command, its options ... and choices"."""
    def choices(count: int) -> list[dict[str, str]]:
        return [{"name": f"{i:02d}" + "n" * 98, "value": f"{i:02d}" + "v" * 98} for i in range(count)]
    validate_command_list([command(option("a", choices=choices(25)), option("b", choices=choices(10)))])  # ~7000
    errors = refused([command(option("a", choices=choices(25)), option("b", choices=choices(25)))])  # ~10000
    assert errors["0"]["_"]["_errors"][0]["code"] == "APPLICATION_COMMAND_TOO_LARGE"


def test_one_bad_command_refuses_the_whole_bulk_overwrite_and_context_menus_have_no_description() -> None:
    """Bulk Overwrite Global Application Commands replaces all commands or none; Application Command Structure ›
    description: "Empty string for USER and MESSAGE commands"; USER and MESSAGE names may be mixed case with spaces."""
    menu = {"type": 3, "name": "Recognize digit"}
    validate_command_list([command(), menu])
    errors = refused([command(), {**menu, "description": "reads it"}])
    assert "description" in errors["1"]
    refused([command(), command()])  # the same name twice


async def test_bulk_overwrite_over_http_is_refused_whole(
    discord_twin: DiscordTwin, twin_world: World, start_client: StartClient
) -> None:
    """Bulk Overwrite Global Application Commands through discord.py's HTTP client: one option description of
    101 characters refuses the request (400, 50035) and leaves the registered commands as they were."""
    client = await start_client(make_client())
    good = command(option("image", required=True))
    registered = await client.http.bulk_upsert_global_commands(discord_twin.application_id, [good])
    assert [c["name"] for c in registered] == ["digit"]
    with pytest.raises(discord.HTTPException) as error:
        await client.http.bulk_upsert_global_commands(
            discord_twin.application_id, [good, command(option("value", description="v" * 101), name="bad")])
    assert (error.value.status, error.value.code) == (400, 50035)
    assert [c["name"] for c in discord_twin.commands] == ["digit"]


def test_embed_field_footer_and_author_limits() -> None:
    """resources/message › Embed Limits: field name 256, field value 1024, footer text 2048, author name 256,
    title 256, description 4096, 25 fields, 6000 characters across all embeds of a message."""
    validate_message("", [{"title": "t" * 256, "fields": [{"name": "n" * 256, "value": "v" * 1024}],
                           "footer": {"text": "f" * 2048}, "author": {"name": "a" * 256}}], False)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"title": "t" * 257}, "title"),
        ({"fields": [{"name": "n" * 257, "value": "v"}]}, "fields"),
        ({"fields": [{"name": "n", "value": "v" * 1025}]}, "fields"),
        ({"footer": {"text": "f" * 2049}}, "footer"),
        ({"author": {"name": "a" * 257}}, "author"),
    ]
    for embed, where in cases:
        with pytest.raises(DiscordError) as error:
            validate_message("", [embed], False)
        assert error.value.code == 50035 and where in error.value.errors["embeds"]["0"]  # type: ignore[index]
    with pytest.raises(DiscordError) as error:
        validate_message("", [{"description": "d" * 4000}, {"description": "d" * 2001}], False)
    assert error.value.errors["embeds"]["_errors"][0]["code"] == "MAX_EMBED_SIZE_EXCEEDED"  # type: ignore[index]


async def test_ten_files_per_message_and_ten_mib_per_file(
    discord_twin: DiscordTwin, twin_world: World, start_client: StartClient
) -> None:
    """reference › Uploading Files: up to 10 files per message; a file over the upload limit (10 MiB without boosts)
    is refused with 413 and JSON code 40005 "Request entity too large" (topics/opcodes-and-status-codes › JSON)."""
    client = await start_client(make_client())
    channel = client.get_channel(twin_world.channel.id)
    assert isinstance(channel, discord.TextChannel)
    sent = await channel.send(files=[discord.File(io.BytesIO(b"x"), f"{i}.txt") for i in range(10)])
    assert len(sent.attachments) == 10
    with pytest.raises(discord.HTTPException) as error:
        # discord.py's channel.send refuses 11 files itself; its HTTP layer sends them as given.
        eleven = [discord.File(io.BytesIO(b"x"), f"{i}.txt") for i in range(11)]
        with discord.http.handle_message_parameters(content="x", files=eleven) as params:
            await client.http.send_message(channel.id, params=params)
    assert error.value.code == 50035
    with pytest.raises(discord.HTTPException) as error:
        await channel.send(file=discord.File(io.BytesIO(b"x" * (10 * 1024 * 1024 + 1)), "big.bin"))
    assert (error.value.status, error.value.code) == (413, 40005)
