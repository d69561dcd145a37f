"""Community corrections: what a reply answered, in plain Python (the "Wrong?" custom_id, the digits' places, the
bounded memory of recent answers); then end to end, the real bot against the twin, a real SQLite database, clicks on
real components."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot.corrections import (
    MAX_CUSTOM_ID,
    AnsweredDigits,
    RecentReplies,
    Refused,
    ReplyRecord,
    answered_digits,
    parse_wrong,
    places,
    wrong_custom_id,
)
from bot.embeds import digit_choice
from digits.community import in_test_half
from digits.inference import DigitReading, InferenceService, Prediction
from digits.reading import to_mnist
from discord_twin import (
    READ_MESSAGE_HISTORY,
    Attachment,
    ComponentError,
    DiscordTwin,
    Interaction,
    Message,
    User,
    World,
)
from model_store import ModelStore
from samples import pictures as styles
from tests.fixtures.bot import WAIT, StartBot, confident_digits, png
from tests.fixtures.memory import peak_memory, reset_peak_memory

pytestmark = pytest.mark.timeout(120)


# -- what a reply answered, in plain Python ------------------------------------------------------------------------


def prediction(number: str, version: int = 3) -> Prediction:
    readings = tuple(DigitReading(int(d), 0.9, (0.1,) * 10, np.full((28, 28), int(d) * 20, np.uint8)) for d in number)
    return Prediction(readings, version)


def test_the_button_carries_the_version_and_what_each_picture_read() -> None:
    custom_id = wrong_custom_id(3, ["7", "", "2026"])
    assert custom_id == "digitbot:wrong:v3:7,,2026"
    assert parse_wrong(custom_id) == (3, ("7", "", "2026"))
    assert parse_wrong("digitbot:label:1:0") is None and parse_wrong("digitbot:wrong:v3:7a") is None


def test_pictures_that_do_not_fit_in_100_characters_are_left_out() -> None:
    numbers = ["123456789012"] * 10  # Discord allows 10 pictures, the reader 12 digits each
    custom_id = wrong_custom_id(12, numbers)
    assert len(custom_id) <= MAX_CUSTOM_ID
    parsed = parse_wrong(custom_id)
    assert parsed is not None and 1 <= len(parsed[1]) < 10 and all(n == numbers[0] for n in parsed[1])
    record = answered_digits([prediction(n, 12) for n in numbers])
    assert record is not None and record.numbers == parsed[1]
    assert len(record.inputs) == 12 * len(parsed[1])  # only the digits the button can name are kept


def test_digits_are_numbered_across_the_pictures_and_named_for_people() -> None:
    numbers = ("7", "", "26")
    found = places(numbers)
    assert [(p.position, p.picture, p.digit, p.predicted) for p in found] == [(0, 0, 0, 7), (1, 2, 0, 2), (2, 2, 1, 6)]
    assert digit_choice(numbers, 2, 1, 6) == "picture 3: digit 2 of 26, read as 6"
    assert digit_choice(("2026",), 0, 0, 2) == "digit 1 of 2026, read as 2"
    assert digit_choice(("5",), 0, 0, 5) == "the digit, read as 5"


def test_an_answer_gives_the_database_its_digit_as_float_inputs() -> None:
    read = answered_digits([prediction("7"), None, prediction("26")])
    assert read is not None and read.numbers == ("7", "", "26") and read.version == 3
    record = ReplyRecord(1, 2, 3, 4, 5, read)
    digit = record.digit(2)
    assert digit is not None and (digit.message_id, digit.position, digit.author_id, digit.predicted) == (3, 2, 4, 6)
    assert digit.image.dtype == np.float32 and digit.image.max() == pytest.approx(120 / 255)
    assert record.digit(3) is None  # not part of the reply
    assert answered_digits([None, None]) is None


def test_recent_replies_forget_the_oldest_first() -> None:
    memory = RecentReplies(limit=2)
    records = [ReplyRecord(None, 1, reply_id, 1, None, AnsweredDigits(1, ("1",), (np.zeros((28, 28), np.uint8),)))
               for reply_id in (10, 11, 12)]
    for record in records:
        memory.remember(record)
    assert len(memory) == 2 and memory.get(10) is None and memory.get(12) is records[2]


# -- end to end ------------------------------------------------------------------------------------------------------


def rows(database: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every example and vote in the database, read with plain sqlite3."""
    with sqlite3.connect(database) as db:
        return {
            "examples": db.execute("SELECT id, guild_id, channel_id, message_id, position, author_id, image, "
                                   "model_version, predicted FROM examples ORDER BY id").fetchall(),
            "votes": db.execute("SELECT example_id, voter_id, label, admin FROM votes ORDER BY id").fetchall(),
        }


def wrong_button(reply: Message) -> str:
    [row] = reply.components
    [button] = row["components"]
    assert button["label"] == "Wrong?" and button["type"] == 2
    return str(button["custom_id"])


async def answered(twin: DiscordTwin, world: World, picture: bytes, author: User | None = None) -> tuple[Message, Message]:
    posted = await twin.post_message(world.channel, author or world.user, attachments=[Attachment(picture, "d.png")])
    return posted, await twin.wait_for_reply(posted, timeout=WAIT)


async def private_answer(interaction: Interaction) -> Message:
    """The ephemeral message the bot answered a click with."""
    return await interaction.wait_for_original(timeout=WAIT)


async def correct(twin: DiscordTwin, reply: Message, user: User, label: int) -> Message:
    """Click "Wrong?" on a single-digit answer and choose `label`; the private message once it says thanks (or not)."""
    click = await twin.use_component(reply, user, wrong_button(reply))
    choice = await private_answer(click)
    assert choice.ephemeral and choice.interaction is not None and choice.interaction.user is user
    [row] = choice.components
    [select] = row["components"]
    assert [o["value"] for o in select["options"]] == [str(d) for d in range(10)]
    pick = await twin.use_component(choice, user, select["custom_id"], [str(label)])
    await pick.wait_for_response(timeout=WAIT)
    await twin.wait_until(lambda: choice.components == [] or pick.followups, WAIT, "the vote's answer")
    return pick.followups[0] if pick.followups else choice


@pytest.fixture
def digit_png(test_digits) -> bytes:
    return png(test_digits[0][0])  # a 7


async def test_a_correction_by_click_is_stored_and_thanked_privately(
    start_bot: StartBot, discord_twin: DiscordTwin, twin_world: World, digit_png: bytes, tmp_path: Path
) -> None:
    bot = await start_bot()
    posted, reply = await answered(discord_twin, twin_world, digit_png)
    version, numbers = parse_wrong(wrong_button(reply)) or (0, ())
    assert version == bot.served_version and len(numbers) == 1 and len(numbers[0]) == 1
    public_before = [m for m in discord_twin.bot_messages if not m.ephemeral]

    thanks = await correct(discord_twin, reply, twin_world.user, 3)
    assert thanks.ephemeral and thanks.content.startswith("Thanks, noted as 3.") and "1 of the 2" in thanks.content
    assert [m for m in discord_twin.bot_messages if not m.ephemeral] == public_before  # nothing in the channel

    database = rows(tmp_path / "digitbot.sqlite3")
    [example] = database["examples"]
    _, guild_id, channel_id, message_id, position, author_id, image, model_version, predicted = example
    assert (guild_id, channel_id, message_id, position) == (twin_world.guild.id, twin_world.channel.id, reply.id, 0)
    assert (author_id, model_version, predicted) == (twin_world.user.id, version, int(numbers[0]))
    seen = to_mnist(digit_png)
    assert np.array_equal(np.frombuffer(image, np.uint8).reshape(28, 28), seen)  # the 28×28 input, not the picture
    assert database["votes"] == [(example[0], twin_world.user.id, 3, 0)]

    # A later vote by the same member replaces the earlier one.
    await correct(discord_twin, reply, twin_world.user, 9)
    assert rows(tmp_path / "digitbot.sqlite3")["votes"] == [(example[0], twin_world.user.id, 9, 0)]


async def test_quorum_of_two_members_and_an_admins_confirmation(
    start_bot: StartBot, discord_twin: DiscordTwin, twin_world: World, digit_png: bytes, tmp_path: Path
) -> None:
    await start_bot()
    carol = discord_twin.create_user("carol")
    discord_twin.add_member(twin_world.guild, carol)
    _, reply = await answered(discord_twin, twin_world, digit_png)
    assert "1 of the 2" in (await correct(discord_twin, reply, twin_world.user, 1)).content
    assert "Enough members agree" in (await correct(discord_twin, reply, carol, 1)).content

    _, other = await answered(discord_twin, twin_world, digit_png, author=carol)
    assert "Confirmed" in (await correct(discord_twin, other, twin_world.admin, 4)).content
    votes = rows(tmp_path / "digitbot.sqlite3")["votes"]
    assert [(voter, label, admin) for _, voter, label, admin in votes] == [
        (twin_world.user.id, 1, 0), (carol.id, 1, 0), (twin_world.admin.id, 4, 1)]


async def test_a_number_lets_the_member_pick_the_digit(
    start_bot: StartBot, discord_twin: DiscordTwin, twin_world: World, test_digits, store: Path, tmp_path: Path
) -> None:
    await start_bot()
    picture = styles.number_drawing([test_digits[0][i] for i in (0, 1, 2)], np.random.default_rng(5))
    _, reply = await answered(discord_twin, twin_world, picture)
    _, numbers = parse_wrong(wrong_button(reply)) or (0, ())
    assert len(numbers[0]) == 3
    click = await discord_twin.use_component(reply, twin_world.user, wrong_button(reply))
    choice = await private_answer(click)
    [select] = choice.components[0]["components"]
    assert [o["value"] for o in select["options"]] == ["0", "1", "2"]
    assert select["options"][1]["label"] == f"digit 2 of {numbers[0]}, read as {numbers[0][1]}"
    which = await discord_twin.use_component(choice, twin_world.user, select["custom_id"], ["1"])
    assert (await which.wait_for_response(timeout=WAIT)).type == 7  # the same private message, updated in place
    [label_select] = choice.components[0]["components"]
    assert label_select["custom_id"] == f"digitbot:label:{reply.id}:1"
    pick = await discord_twin.use_component(choice, twin_world.user, label_select["custom_id"], ["5"])
    await discord_twin.wait_until(lambda: choice.content.startswith("Thanks"), WAIT, "thanks")
    assert pick.callbacks[0].type == 6
    [example] = rows(tmp_path / "digitbot.sqlite3")["examples"]
    assert example[4] == 1 and example[8] == int(numbers[0][1])
    service = InferenceService(ModelStore(store))
    service.load()
    seen = service.predict(picture).digits[1].input_image  # the digit as the served model read it
    service.close()
    assert np.array_equal(np.frombuffer(example[6], np.uint8).reshape(28, 28), seen)


async def test_refusals_change_nothing(
    start_bot: StartBot, discord_twin: DiscordTwin, twin_world: World, digit_png: bytes, tmp_path: Path
) -> None:
    bot = await start_bot()
    other_bot = discord_twin.create_user("otherbot", bot=True)
    discord_twin.add_member(twin_world.guild, other_bot)
    posted, reply = await answered(discord_twin, twin_world, digit_png)

    # A bot's click.
    click = await discord_twin.use_component(reply, other_bot, wrong_button(reply))
    refusal = await private_answer(click)
    assert refusal.ephemeral and refusal.content == "Bots can't correct answers." and not refusal.components

    # A message that is not an answer (a member's post), asked for by id as a forged custom_id would.
    channel = bot.get_channel(twin_world.channel.id)
    with pytest.raises(Refused, match="not one of my answers"):
        await bot.corrections.digit_at(channel, posted.id, 0)  # type: ignore[arg-type]

    # The original deleted: the vote is refused.
    await discord_twin.delete_message_as_user(posted)
    message = await correct(discord_twin, reply, twin_world.user, 2)
    assert message.content == "The picture of that answer has been deleted, so I won't learn from it."
    assert rows(tmp_path / "digitbot.sqlite3") == {"examples": [], "votes": []}

    # Clicks Discord would not offer never reach the bot.
    with pytest.raises(ComponentError):
        await discord_twin.use_component(reply, twin_world.user, "digitbot:label:1:0", ["1"])


async def test_rate_limit_is_a_polite_refusal(
    start_bot: StartBot, discord_twin: DiscordTwin, twin_world: World, digit_png: bytes, tmp_path: Path
) -> None:
    bot = await start_bot()
    bot.corrections.database.votes_per_hour = 1
    _, first = await answered(discord_twin, twin_world, digit_png)
    _, second = await answered(discord_twin, twin_world, digit_png)
    await correct(discord_twin, first, twin_world.user, 1)
    message = await correct(discord_twin, second, twin_world.user, 1)
    assert message.content.startswith("You have sent a lot of corrections; try again in")
    assert len(rows(tmp_path / "digitbot.sqlite3")["votes"]) == 1


async def test_the_button_keeps_working_after_a_restart(
    start_bot: StartBot, discord_twin: DiscordTwin, twin_world: World, digit_png: bytes, tmp_path: Path
) -> None:
    discord_twin.gateway.session_starts.identify_interval = 0.0  # restarts are not what this is about (Discord: 5 s)
    bot = await start_bot()
    _, reply = await answered(discord_twin, twin_world, digit_png)
    target = await discord_twin.post_message(twin_world.channel, twin_world.admin,
                                             attachments=[Attachment(digit_png, "e.png")])
    menu = await discord_twin.open_message_command(twin_world.channel, twin_world.user, "Recognize digit", target)
    menu_answer = await menu.wait_for_followup(timeout=WAIT)
    slash = await discord_twin.open_slash_command(twin_world.channel, twin_world.user, "digit",
                                                  {"image": Attachment(digit_png, "d.png")})
    slash_answer = await slash.wait_for_followup(timeout=WAIT)
    await bot.close()
    # The database was closed on shutdown: SQLite folds the write-ahead log back in and removes it on the last close.
    assert (tmp_path / "digitbot.sqlite3").is_file() and not (tmp_path / "digitbot.sqlite3-wal").exists()
    restarted = await start_bot()
    assert len(restarted.corrections.recent) == 0
    thanks = await correct(discord_twin, reply, twin_world.user, 8)
    assert thanks.content.startswith("Thanks, noted as 8.")
    assert (await correct(discord_twin, menu_answer, twin_world.user, 8)).content.startswith("Thanks, noted as 8.")
    refused = await correct(discord_twin, slash_answer, twin_world.user, 8)  # its picture came with the command
    assert refused.content.startswith("I have restarted since that answer and can't find its picture any more")
    examples = rows(tmp_path / "digitbot.sqlite3")["examples"]
    seen = to_mnist(digit_png)  # rebuilt from the original posts by the same preprocessing
    assert [(e[3], e[5]) for e in examples] == [(reply.id, twin_world.user.id), (menu_answer.id, twin_world.admin.id)]
    assert all(np.array_equal(np.frombuffer(e[6], np.uint8).reshape(28, 28), seen) for e in examples)


async def test_after_a_restart_the_picture_is_read_again_under_the_download_limits(
    start_bot: StartBot, discord_twin: DiscordTwin, twin_world: World, digit_png: bytes, tmp_path: Path
) -> None:
    """Issue 25 item 5: rebuilding a vote after a restart downloads the original under the limits of any download:
    a CDN sending 300 MB for a file of a few hundred bytes, or taking longer than the timeout, costs a polite
    refusal (and neither the memory nor the time), and nothing is recorded."""
    discord_twin.gateway.session_starts.identify_interval = 0.0  # restarts are not what this is about (Discord: 5 s)
    bot = await start_bot()
    _, reply = await answered(discord_twin, twin_world, digit_png)
    await bot.close()
    await start_bot(max_image_bytes=1_000_000, download_timeout=0.5)
    cannot = "I couldn't read that picture again; please post it once more."
    before = reset_peak_memory()
    discord_twin.cdn_oversize(300_000_000)
    assert (await correct(discord_twin, reply, twin_world.user, 3)).content == cannot
    assert peak_memory() - before < 50_000_000
    discord_twin.cdn_oversize(0)
    discord_twin.cdn_delay(1.5)  # longer than the bot's download timeout, shorter than the test's waits
    assert (await correct(discord_twin, reply, twin_world.user, 3)).content == cannot
    assert rows(tmp_path / "digitbot.sqlite3") == {"examples": [], "votes": []}
    discord_twin.cdn_delay(0.0)
    assert (await correct(discord_twin, reply, twin_world.user, 3)).content.startswith("Thanks, noted as 3.")


async def test_slash_command_and_menu_answers_carry_the_button(
    start_bot: StartBot, discord_twin: DiscordTwin, twin_world: World, digit_png: bytes, tmp_path: Path
) -> None:
    await start_bot()
    interaction = await discord_twin.open_slash_command(twin_world.channel, twin_world.user, "digit",
                                                        {"image": Attachment(digit_png, "d.png")})
    answer = await interaction.wait_for_followup(timeout=WAIT)
    await correct(discord_twin, answer, twin_world.admin, 6)
    target = await discord_twin.post_message(twin_world.channel, twin_world.admin,
                                             attachments=[Attachment(digit_png, "e.png")])
    menu = await discord_twin.open_message_command(twin_world.channel, twin_world.user, "Recognize digit", target)
    menu_answer = await menu.wait_for_followup(timeout=WAIT)
    await correct(discord_twin, menu_answer, twin_world.user, 6)
    examples = rows(tmp_path / "digitbot.sqlite3")["examples"]
    # Whose handwriting: the /digit user's, and the menu target's author.
    assert [(e[3], e[5]) for e in examples] == [(answer.id, twin_world.user.id), (menu_answer.id, twin_world.admin.id)]


async def test_admin_commands_and_forgetme(
    start_bot: StartBot, discord_twin: DiscordTwin, twin_world: World, digit_png: bytes, tmp_path: Path
) -> None:
    await start_bot()
    carol = discord_twin.create_user("carol")
    discord_twin.add_member(twin_world.guild, carol)
    _, bobs = await answered(discord_twin, twin_world, digit_png)
    _, carols = await answered(discord_twin, twin_world, digit_png, author=carol)
    await correct(discord_twin, bobs, twin_world.user, 1)
    await correct(discord_twin, bobs, carol, 1)
    await correct(discord_twin, carols, twin_world.user, 2)
    await correct(discord_twin, carols, carol, 2)

    async def command(user: User, text: str) -> Message:
        posted = await discord_twin.post_message(twin_world.channel, user, text)
        return await discord_twin.wait_for_reply(posted, timeout=WAIT)

    assert (await command(twin_world.user, "!corrections")).content == "Only the bot's admins can do that."
    summary = await command(twin_world.admin, "!corrections")
    [embed] = summary.embeds
    assert "**2** accepted" in embed["description"] and "4 votes from 2 members" in embed["description"]
    assert embed["image"]["url"] == "attachment://corrections.png" and summary.attachments[0].size > 0

    # !forgetme: bob's votes and the example of bob's handwriting (with carol's vote on it) are deleted.
    forgotten = await command(twin_world.user, "!forgetme")
    assert forgotten.content == "Done: deleted 4 rows you contributed."
    database = rows(tmp_path / "digitbot.sqlite3")
    assert [e[5] for e in database["examples"]] == [carol.id]
    assert [v[1] for v in database["votes"]] == [carol.id]
    assert (await command(twin_world.user, "!forgetme")).content == "I keep nothing you contributed."

    example_id = database["examples"][0][0]
    assert (await command(twin_world.admin, f"!corrections remove {example_id}")).content == f"Removed example #{example_id}."
    assert rows(tmp_path / "digitbot.sqlite3") == {"examples": [], "votes": []}
    await correct(discord_twin, carols, carol, 3)
    purged = await command(twin_world.admin, f"!corrections purge <@{carol.id}>")
    assert purged.content.startswith("Deleted 2 rows contributed by")
    assert rows(tmp_path / "digitbot.sqlite3") == {"examples": [], "votes": []}


async def test_without_read_message_history_the_vote_is_refused(
    start_bot: StartBot, discord_twin: DiscordTwin, twin_world: World, digit_png: bytes, tmp_path: Path
) -> None:
    await start_bot()
    _, reply = await answered(discord_twin, twin_world, digit_png)
    discord_twin.take_from_bot(twin_world.channel, READ_MESSAGE_HISTORY)  # the original cannot be checked
    message = await correct(discord_twin, reply, twin_world.user, 2)
    assert message.content == "I may not read this channel's history, so I can't check that answer's picture."
    assert rows(tmp_path / "digitbot.sqlite3") == {"examples": [], "votes": []}


async def test_corrections_by_click_are_learned_by_the_next_retrain_and_shown_by_accuracy(
    start_bot: StartBot, discord_twin: DiscordTwin, twin_world: World, test_digits, store: Path, tmp_path: Path
) -> None:
    """The whole loop: members' pictures, an admin's corrections by click, `!retrain`, then `!accuracy` names the
    community test set (the held-out contributor's examples) and how many examples were trained on."""
    await start_bot(accuracy_floor_points=100.0, retrain_train_limit=10_000)
    writers: dict[bool, User] = {}  # by whether their handwriting falls in the community test set
    while len(writers) < 2:
        user = discord_twin.create_user(f"writer{len(discord_twin.world.users)}")
        discord_twin.add_member(twin_world.guild, user)
        writers.setdefault(in_test_half(user.id), user)
    images, labels = test_digits
    easiest = confident_digits(store, test_digits, 5)
    for index, (writer, picture) in enumerate(zip([writers[False]] * 3 + [writers[True]] * 2, easiest)):
        _, reply = await answered(discord_twin, twin_world, png(images[picture]), author=writer)
        thanks = await correct(discord_twin, reply, twin_world.admin, int(labels[picture]))  # an admin confirms
        assert "Confirmed" in thanks.content, thanks.content

    # Small but not tiny: the new version must read the two held-out digits as well as the served one to be served.
    posted = await discord_twin.post_message(twin_world.channel, twin_world.admin, "!retrain epochs=3 batch_size=64")
    status = await discord_twin.wait_for_reply(posted, timeout=WAIT)
    done = await discord_twin.wait_for_edit(lambda e: e.embeds[0]["title"].startswith("Retrained"), message=status,
                                            timeout=240)
    assert done.embeds[0]["title"] == "Retrained: version 2 is now serving", done.embeds[0]
    assert "community test set of 2" in done.embeds[0]["description"]

    posted = await discord_twin.post_message(twin_world.channel, twin_world.user, "!accuracy")
    report = await discord_twin.wait_for_reply(posted, timeout=60)
    fields = {f["name"]: f["value"] for f in report.embeds[0]["fields"]}
    assert re.fullmatch(r"Community test set: [\d.]+% \(n=2\), trained with 3 community examples",
                        fields["Community corrections"]), fields
