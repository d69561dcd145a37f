"""End-to-end tests of recognition and info: the real bot, in this event loop, against the Discord twin."""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import shutil
import sys
import threading
from pathlib import Path
from types import FrameType

import numpy as np
import pytest
from PIL import Image

from bot.client import FOLLOWER_TASK
from digits.inference import prepare
from digits.reading import ImageLimits, to_mnist
from digits.reading.splitting import Candidates
from discord_twin import Attachment, DiscordTwin, World
from model_store import ModelStore
from network.architecture import normalize
from network.calibration import unsure_mask
from samples import pictures as styles
from tests.fixtures.mnist import REPO
from tests.fixtures.bot import WAIT, StartBot, answered_digits, confident_digits, digit_attachment, png, text_of

pytestmark = pytest.mark.timeout(120)



async def test_known_digits_get_the_right_answer(start_bot: StartBot, discord_twin: DiscordTwin, twin_world: World,
                                                 test_digits, store: Path) -> None:
    bot = await start_bot()
    labels = test_digits[1]
    known = confident_digits(store, test_digits, 10)
    assert len({int(labels[i]) for i in known}) >= 6  # a fair mix of digits
    for index in known:
        posted = await discord_twin.post_message(twin_world.channel, twin_world.user, attachments=[digit_attachment(test_digits, index)])
        reply = await discord_twin.wait_for_reply(posted, timeout=WAIT)
        assert answered_digits(reply) == [labels[index]], text_of(reply)

    embed = reply.embeds[0]
    chart = re.search(r"```\n(.*)\n```", embed["description"], re.S)
    assert chart is not None and len(chart.group(1).splitlines()) == 10  # one bar per digit
    assert "Confidence" in embed["description"]
    assert embed["footer"]["text"].startswith(f"model version {bot.served_version}")
    # The embed's image is the attached, enlarged 28×28 input.
    assert embed["image"]["url"] == "attachment://input-1.png"
    [preview] = reply.attachments
    assert preview.filename == "input-1.png"
    picture = Image.open(io.BytesIO(preview.data))
    assert picture.size == (112, 112)
    assert discord_twin.typing, "a typing indicator was shown"


async def test_several_attachments_non_image_and_corrupted(start_bot: StartBot, discord_twin: DiscordTwin,
                                                           twin_world: World, test_digits) -> None:
    await start_bot()
    labels = test_digits[1]
    valid = png(test_digits[0][0])
    attachments = [
        digit_attachment(test_digits, 1),
        Attachment(b"just some notes", "notes.txt", "text/plain"),
        Attachment(valid[: len(valid) // 2], "broken.png", "image/png"),
        digit_attachment(test_digits, 2),
        digit_attachment(test_digits, 3),
    ]
    posted = await discord_twin.post_message(twin_world.channel, twin_world.user, attachments=attachments)
    reply = await discord_twin.wait_for_reply(posted, timeout=WAIT)
    titles = [embed["title"] for embed in reply.embeds]
    assert len(titles) == 4, titles  # the text file is ignored
    assert answered_digits(reply) == [labels[1], labels[2], labels[3]]
    assert titles[1] == "Couldn't read broken.png"
    assert reply.embeds[1]["description"]  # a short explanation
    assert [a.filename for a in reply.attachments] == ["input-1.png", "input-3.png", "input-4.png"]  # numbered among the images


async def test_messages_without_images_are_ignored(start_bot: StartBot, discord_twin: DiscordTwin, twin_world: World,
                                                   test_digits) -> None:
    await start_bot()
    ignored = await discord_twin.post_message(twin_world.channel, twin_world.user, "hello",
                                              attachments=[Attachment(b"%PDF-1.4", "doc.pdf", "application/pdf")])
    answered = await discord_twin.post_message(twin_world.channel, twin_world.user, attachments=[digit_attachment(test_digits, 0)])
    await discord_twin.wait_for_reply(answered, timeout=WAIT)
    await asyncio.sleep(0.2)
    assert not [m for m in discord_twin.bot_messages if m.reference_id == ignored.id]


async def test_slash_command_and_context_menu(start_bot: StartBot, discord_twin: DiscordTwin, twin_world: World,
                                              test_digits) -> None:
    await start_bot()
    labels = test_digits[1]
    interaction = await discord_twin.open_slash_command(twin_world.channel, twin_world.user, "digit",
                                                        {"image": digit_attachment(test_digits, 4)})
    followup = await interaction.wait_for_followup(timeout=WAIT)
    assert answered_digits(followup) == [labels[4]]
    assert followup.attachments[0].filename == "input-1.png"

    # Without message content (many servers do not grant it) the context menu still reads the images.
    target = await discord_twin.post_message(twin_world.channel, twin_world.admin, "look",
                                             attachments=[digit_attachment(test_digits, 5), digit_attachment(test_digits, 6)])
    await discord_twin.wait_for_reply(target, timeout=WAIT)
    menu = await discord_twin.open_message_command(twin_world.channel, twin_world.user, "Recognize digit", target)
    followup = await menu.wait_for_followup(timeout=WAIT)
    assert answered_digits(followup) == [labels[5], labels[6]]


async def test_accuracy_reports_the_community_test_set(start_bot: StartBot, discord_twin: DiscordTwin,
                                                       twin_world: World, store: Path) -> None:
    version = ModelStore(store).current()
    card_file = store / str(version) / "model.json"
    card = json.loads(card_file.read_text())
    card.update(community_examples=300, community_test_images=120, community_test_accuracy=0.912)
    card_file.write_text(json.dumps(card))
    await start_bot()
    posted = await discord_twin.post_message(twin_world.channel, twin_world.user, "!accuracy")
    text = text_of(await discord_twin.wait_for_reply(posted, timeout=60))
    assert "Community test set: 91.2% (n=120), trained with 300 community examples" in text


async def test_accuracy_matches_the_model_store(start_bot: StartBot, discord_twin: DiscordTwin, twin_world: World,
                                                store: Path) -> None:
    bot = await start_bot()
    card = ModelStore(store).card(bot.served_version)
    posted = await discord_twin.post_message(twin_world.channel, twin_world.user, "!accuracy")
    reply = await discord_twin.wait_for_reply(posted, timeout=60)
    text = text_of(reply)
    assert f"version {bot.served_version}: {card.test_accuracy:.2%} accuracy" in text
    assert f"loss {card.test_loss:.4f}" in text
    assert "3 epochs, batch size 32" in text
    for digit in range(10):
        assert f"{digit}: {card.per_digit_accuracy[digit]:.1%}" in text
    assert reply.embeds[0]["image"]["url"] == "attachment://confusion.png"
    assert Image.open(io.BytesIO(reply.attachments[0].data)).format == "PNG"
    # The reliability diagram beside it: confidence vs. accuracy, with the calibration error.
    assert reply.embeds[1]["image"]["url"] == "attachment://reliability.png"
    assert [a.filename for a in reply.attachments] == ["confusion.png", "reliability.png"]
    assert Image.open(io.BytesIO(reply.attachments[1].data)).format == "PNG"
    assert re.search(r"Expected calibration error \*\*\d+\.\d\d%\*\*", text), text
    assert "No community test set yet" in text  # trained without community corrections

    interaction = await discord_twin.open_slash_command(twin_world.channel, twin_world.user, "accuracy")
    answer = await interaction.wait_for_followup(timeout=WAIT)  # after "thinking…" while it computes
    assert f"{card.test_accuracy:.2%} accuracy" in text_of(answer)


async def test_the_bot_says_when_it_is_unsure(start_bot: StartBot, discord_twin: DiscordTwin, twin_world: World,
                                               test_digits, store: Path) -> None:
    """A test digit the served model hesitates on is answered "probably a …, maybe a …"; a clear one flatly."""
    await start_bot()
    images, _ = test_digits
    loaded = ModelStore(store).load_served()
    seen = np.stack([to_mnist(png(image)) for image in images[:1000]])  # what the bot will see of each posted digit
    probabilities = loaded.network().predict(normalize(seen), loaded.card.temperature)
    hesitant = [int(i) for i in np.flatnonzero(unsure_mask(probabilities))]
    assert hesitant, "the served model is sure of every one of 1,000 test digits"
    index = hesitant[0]
    ranked = np.argsort(-probabilities[index], kind="stable")
    posted = await discord_twin.post_message(twin_world.channel, twin_world.user, attachments=[digit_attachment(test_digits, index)])
    reply = await discord_twin.wait_for_reply(posted, timeout=WAIT)
    assert reply.embeds[0]["title"] == f"digit{index}.png: probably a {ranked[0]}, maybe a {ranked[1]}", text_of(reply)
    assert "not sure" in reply.embeds[0]["description"]


async def test_model_lists_versions_with_the_served_one_marked(start_bot: StartBot, discord_twin: DiscordTwin,
                                                               twin_world: World, store: Path) -> None:
    models = ModelStore(store)
    models.save(store / "1" / "model.weights.h5", models.card(1), promote=False)
    await start_bot()
    posted = await discord_twin.post_message(twin_world.channel, twin_world.user, "!model")
    reply = await discord_twin.wait_for_reply(posted, timeout=WAIT)
    assert re.search(r"▶ v1 ", reply.content), reply.content
    assert re.search(r"  v2 ", reply.content), reply.content


async def test_cooldown_tells_the_user_once(start_bot: StartBot, discord_twin: DiscordTwin, twin_world: World,
                                            test_digits) -> None:
    await start_bot(cooldown_rate=2, cooldown_seconds=60)
    posted = []
    for index in range(4):
        message = await discord_twin.post_message(twin_world.channel, twin_world.user, attachments=[digit_attachment(test_digits, index)])
        posted.append(message)
    for message in posted[:2]:
        assert answered_digits(await discord_twin.wait_for_reply(message, timeout=WAIT))
    slow_down = await discord_twin.wait_for_reply(posted[2], timeout=WAIT)
    assert slow_down.content.startswith("Slow down")
    # Someone else is not affected, and by the time they are answered the flooder got no second notice.
    other = await discord_twin.post_message(twin_world.channel, twin_world.admin, attachments=[digit_attachment(test_digits, 0)])
    assert answered_digits(await discord_twin.wait_for_reply(other, timeout=WAIT))
    await asyncio.sleep(0.2)
    assert not [m for m in discord_twin.bot_messages if m.reference_id == posted[3].id]

    interaction = await discord_twin.open_slash_command(twin_world.channel, twin_world.user, "digit",
                                                        {"image": digit_attachment(test_digits, 4)})
    response = await interaction.wait_for_response(timeout=WAIT)
    assert response.data["content"].startswith("Slow down")
    assert response.data["flags"] & 64  # ephemeral: only the flooder sees it


async def test_no_model_gets_polite_answers(start_bot: StartBot, discord_twin: DiscordTwin, twin_world: World,
                                            store: Path, test_digits) -> None:
    shutil.rmtree(store)
    await start_bot()
    posted = await discord_twin.post_message(twin_world.channel, twin_world.user, attachments=[digit_attachment(test_digits, 0)])
    reply = await discord_twin.wait_for_reply(posted, timeout=WAIT)
    assert "no trained model" in reply.content
    posted = await discord_twin.post_message(twin_world.channel, twin_world.user, "!accuracy")
    reply = await discord_twin.wait_for_reply(posted, timeout=WAIT)
    assert "no trained model" in reply.content


async def test_only_watched_channels(start_bot: StartBot, discord_twin: DiscordTwin, twin_world: World, test_digits) -> None:
    other = discord_twin.create_channel(twin_world.guild, "chat")
    await start_bot(channel_ids=frozenset({twin_world.channel.id}))
    ignored = await discord_twin.post_message(other, twin_world.user, attachments=[digit_attachment(test_digits, 0)])
    answered = await discord_twin.post_message(twin_world.channel, twin_world.user, attachments=[digit_attachment(test_digits, 0)])
    await discord_twin.wait_for_reply(answered, timeout=WAIT)
    await asyncio.sleep(0.2)
    assert not [m for m in discord_twin.bot_messages if m.reference_id == ignored.id]


async def test_survives_a_dropped_gateway_and_answers_what_was_posted_meanwhile(
        start_bot: StartBot, discord_twin: DiscordTwin, twin_world: World, test_digits) -> None:
    await start_bot()
    labels = test_digits[1]
    await discord_twin.drop_gateway()
    posted = [await discord_twin.post_message(twin_world.channel, twin_world.user, attachments=[digit_attachment(test_digits, i)])
              for i in range(3)]
    for index, message in enumerate(posted):
        assert answered_digits(await discord_twin.wait_for_reply(message, timeout=30)) == [labels[index]]


async def test_attachment_that_cannot_be_downloaded(start_bot: StartBot, discord_twin: DiscordTwin, twin_world: World,
                                                    test_digits) -> None:
    await start_bot()
    discord_twin.cdn_not_found()
    posted = await discord_twin.post_message(twin_world.channel, twin_world.user, attachments=[digit_attachment(test_digits, 0)])
    reply = await discord_twin.wait_for_reply(posted, timeout=WAIT)
    assert reply.embeds[0]["title"] == "Couldn't read digit0.png"
    assert reply.embeds[0]["description"] == "I couldn't download it from Discord; please try again."


async def test_an_image_reaches_its_reply_through_few_rooms(start_bot: StartBot, discord_twin: DiscordTwin,
                                                            twin_world: World, test_digits) -> None:
    """The project files an image message enters on its way to the reply, traced: a number's photo, the longest way.
    In the bot's process (every thread) at most 12 (issue 22); the reading worker that prepares the picture, in another
    process, runs `digits.inference.prepare`, traced here on the same picture: the reading stages and nothing else."""
    await start_bot()
    rng = np.random.default_rng(0)
    picture = styles.number_paper_photo([test_digits[0][i] for i in range(4)], rng)
    entered: set[str] = set()
    packages = tuple(f"{REPO}{os.sep}{package}{os.sep}" for package in ("bot", "digits", "model_store", "network"))

    def following() -> bool:
        """Whether this is the task that follows the model store (it polls on its own, whatever the bot answers)."""
        try:
            task = asyncio.current_task()
        except RuntimeError:  # a thread without an event loop
            return False
        return task is not None and task.get_name() == FOLLOWER_TASK

    def trace(frame: FrameType, event: str, arg: object) -> None:
        name = frame.f_code.co_filename
        if event == "call" and name.startswith(packages) and not following():
            entered.add(os.path.relpath(name, REPO))

    sys.setprofile(trace)
    threading.setprofile(trace)  # the inference workers start with the first image
    try:
        posted = await discord_twin.post_message(twin_world.channel, twin_world.user,
                                                 attachments=[Attachment(picture, "number.jpg", "image/jpeg")])
        reply = await discord_twin.wait_for_reply(posted, timeout=WAIT)
    finally:
        sys.setprofile(None)
        threading.setprofile(None)  # type: ignore[arg-type]
    assert "it's" in text_of(reply)
    assert {"bot/cogs/recognition.py", "digits/inference.py", "digits/reading/splitting.py", "bot/replies.py"} <= entered
    assert len(entered) <= 12, "\n".join(sorted(entered))

    in_bot = set(entered)
    entered.clear()
    sys.setprofile(trace)
    try:
        prepared = prepare(picture, ImageLimits())  # what a reading worker runs
    finally:
        sys.setprofile(None)
    in_worker = set(entered)
    assert isinstance(prepared, Candidates) and len(prepared.runs) >= 4
    stages = {f"digits/reading/{stage}.py" for stage in ("decode", "measures", "coverage", "clutter", "surfaces", "ink",
                                                              "segmentation", "splitting")}
    assert stages <= in_worker <= stages | {"digits/inference.py", "digits/reading/__init__.py"}, sorted(in_worker)
    assert len(in_bot | in_worker) <= 19, sorted(in_bot | in_worker)
