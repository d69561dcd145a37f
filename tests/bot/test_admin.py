"""End-to-end tests of the admin commands: real train.py subprocesses, a real store, the twin."""

from __future__ import annotations

import asyncio
import shutil
import signal
from pathlib import Path

import psutil
import pytest

from bot.cogs.admin import RetrainFlags
from digits.options import option_infos
from discord_twin import Attachment, DiscordTwin, World
from model_store import ModelStore
from tests.fixtures.bot import TINY_RETRAIN, WAIT, StartBot, png, text_of

pytestmark = pytest.mark.timeout(180)

TRAINING_WAIT = 120.0  # a train.py run: about 5 s of TensorFlow import, then seconds of training


def trainers() -> list[psutil.Process]:
    """The train.py processes started by this test process."""
    return [p for p in psutil.Process().children(recursive=True) if "train.py" in " ".join(p.cmdline())]


def staged_leftovers(store: Path) -> list[Path]:
    return [p for p in store.iterdir() if p.name.startswith(".staging")]



async def footer_of_a_digit_reply(discord_twin: DiscordTwin, twin_world: World, test_digits: tuple) -> str:
    """Post a known digit as a user and return the footer of the bot's reply (it names the model version)."""
    image = await discord_twin.post_message(twin_world.channel, twin_world.user,
                                            attachments=[Attachment(png(test_digits[0][0]), "7.png")])
    reply = await discord_twin.wait_for_reply(image, timeout=WAIT)
    return reply.embeds[0]["footer"]["text"]

async def test_admin_retrain_shows_progress_and_hot_swaps(start_bot: StartBot, discord_twin: DiscordTwin,
                                                          twin_world: World, store: Path, test_digits) -> None:
    bot = await start_bot(accuracy_floor_points=100.0)  # tiny training: promote whatever it reaches
    posted = await discord_twin.post_message(twin_world.channel, twin_world.admin, f"!retrain {TINY_RETRAIN}")
    status = await discord_twin.wait_for_reply(posted, timeout=WAIT)
    assert status.embeds[0]["title"] == "Retraining, requested by alice"
    assert "1 epochs · batch 128" in status.embeds[0]["footer"]["text"]

    progress = await discord_twin.wait_for_edit(lambda e: "Epoch **1/1**" in e.embeds[0].get("description", ""),
                                                message=status, timeout=TRAINING_WAIT)
    assert "left" in progress.embeds[0]["description"] and "loss" in progress.embeds[0]["description"]
    done = await discord_twin.wait_for_edit(lambda e: e.embeds[0]["title"].startswith("Retrained"), message=status,
                                            timeout=TRAINING_WAIT)
    assert done.embeds[0]["title"] == "Retrained: version 2 is now serving"
    assert "Promoted because its accuracy clears the floor" in done.embeds[0]["description"]
    edits = [e for e in discord_twin.edits if e.message is status]
    assert all(b.at - a.at >= 0.9 for a, b in zip(edits, edits[1:-1])), "progress edits are throttled"

    assert ModelStore(store).current() == 2 and bot.served_version == 2
    assert (await footer_of_a_digit_reply(discord_twin, twin_world, test_digits)).startswith("model version 2")


async def test_retrain_below_the_floor_is_saved_but_not_served(start_bot: StartBot, discord_twin: DiscordTwin,
                                                               twin_world: World, store: Path) -> None:
    bot = await start_bot()  # default floor: 0.5 points below the served ~95 %; 1 epoch on 2,000 images is far below
    posted = await discord_twin.post_message(twin_world.channel, twin_world.admin, f"!retrain {TINY_RETRAIN}")
    status = await discord_twin.wait_for_reply(posted, timeout=WAIT)
    done = await discord_twin.wait_for_edit(lambda e: e.embeds[0]["title"].startswith("Retrained"), message=status,
                                            timeout=TRAINING_WAIT)
    assert done.embeds[0]["title"] == "Retrained: version 2 saved, not served"
    assert "below the floor" in done.embeds[0]["description"]
    assert ModelStore(store).versions() == [1, 2] and ModelStore(store).current() == 1 and bot.served_version == 1


async def test_non_admin_is_refused_and_nothing_starts(start_bot: StartBot, discord_twin: DiscordTwin,
                                                       twin_world: World, store: Path) -> None:
    await start_bot()
    for command in ("!retrain", "!retrain cancel", "!rollback"):
        posted = await discord_twin.post_message(twin_world.channel, twin_world.user, command)
        reply = await discord_twin.wait_for_reply(posted, timeout=WAIT)
        assert reply.content == "Only the bot's admins can do that."
    assert not trainers()
    interaction = await discord_twin.open_slash_command(twin_world.channel, twin_world.user, "rollback")
    response = await interaction.wait_for_response(timeout=WAIT)
    assert response.data["content"] == "Only the bot's admins can do that."
    assert not trainers() and ModelStore(store).versions() == [1]


async def test_configured_admin_ids_and_bad_options(start_bot: StartBot, discord_twin: DiscordTwin,
                                                    twin_world: World, store: Path) -> None:
    await start_bot(admin_user_ids=frozenset({twin_world.user.id}))
    posted = await discord_twin.post_message(twin_world.channel, twin_world.user, "!retrain epochs=0")
    reply = await discord_twin.wait_for_reply(posted, timeout=WAIT)
    assert reply.content == "epochs must be between 1 and 100, got 0"
    posted = await discord_twin.post_message(twin_world.channel, twin_world.user, "!retrain batch_size=many")
    reply = await discord_twin.wait_for_reply(posted, timeout=WAIT)
    assert reply.content.startswith("I couldn't understand that")
    posted = await discord_twin.post_message(twin_world.channel, twin_world.user, "!retrain right now please")
    reply = await discord_twin.wait_for_reply(posted, timeout=WAIT)
    assert reply.content.startswith("I couldn't understand the extra words")
    assert not trainers() and ModelStore(store).versions() == [1]


async def test_second_retrain_is_refused_then_cancel_leaves_the_store_untouched(
        start_bot: StartBot, discord_twin: DiscordTwin, twin_world: World, store: Path) -> None:
    bot = await start_bot(retrain_train_limit=None)  # the full 60,000 images: long enough to cancel mid-training
    posted = await discord_twin.post_message(twin_world.channel, twin_world.admin, "!retrain epochs=20")
    status = await discord_twin.wait_for_reply(posted, timeout=WAIT)
    await discord_twin.wait_for_edit(lambda e: "Epoch" in e.embeds[0].get("description", ""), message=status,
                                     timeout=TRAINING_WAIT)

    again = await discord_twin.post_message(twin_world.channel, twin_world.admin, "!retrain")
    refusal = await discord_twin.wait_for_reply(again, timeout=WAIT)
    assert refusal.content.startswith("A retrain requested by alice is already running (epoch ")
    assert len(trainers()) == 1

    cancel = await discord_twin.post_message(twin_world.channel, twin_world.admin, "!retrain cancel")
    answer = await discord_twin.wait_for_reply(cancel, timeout=WAIT)
    assert answer.content == "Cancelled the retrain requested by alice; the served model is unchanged."
    final = await discord_twin.wait_for_edit(lambda e: e.embeds[0]["title"] == "Retrain cancelled", message=status, timeout=WAIT)
    assert "version 1 keeps serving" in final.embeds[0]["description"]
    assert not trainers()
    assert ModelStore(store).versions() == [1] and ModelStore(store).current() == 1 and bot.served_version == 1
    assert not staged_leftovers(store)

    nothing = await discord_twin.post_message(twin_world.channel, twin_world.admin, "!retrain cancel")
    assert (await discord_twin.wait_for_reply(nothing, timeout=WAIT)).content == "No retrain is running."
    # Right after a cancel a new retrain may start.
    again = await discord_twin.post_message(twin_world.channel, twin_world.admin, f"!retrain {TINY_RETRAIN}")
    status = await discord_twin.wait_for_reply(again, timeout=WAIT)
    assert status.embeds[0]["title"] == "Retraining, requested by alice"


async def test_crashed_trainer_reports_failure_and_the_old_model_keeps_serving(
        start_bot: StartBot, discord_twin: DiscordTwin, twin_world: World, store: Path) -> None:
    bot = await start_bot(retrain_train_limit=None)
    posted = await discord_twin.post_message(twin_world.channel, twin_world.admin, "!retrain epochs=20")
    status = await discord_twin.wait_for_reply(posted, timeout=WAIT)
    await discord_twin.wait_for_edit(lambda e: "Epoch" in e.embeds[0].get("description", ""), message=status,
                                     timeout=TRAINING_WAIT)
    [trainer] = trainers()
    trainer.send_signal(signal.SIGKILL)
    final = await discord_twin.wait_for_edit(lambda e: e.embeds[0]["title"] == "Retrain failed", message=status, timeout=WAIT)
    assert "exited with code -9" in final.embeds[0]["description"]
    assert "Version 1 keeps serving" in final.embeds[0]["description"]
    assert bot.served_version == 1 and ModelStore(store).versions() == [1]


async def test_shutdown_stops_a_running_retrain(start_bot: StartBot, discord_twin: DiscordTwin, twin_world: World,
                                                store: Path) -> None:
    bot = await start_bot(retrain_train_limit=None)
    posted = await discord_twin.post_message(twin_world.channel, twin_world.admin, "!retrain epochs=20")
    status = await discord_twin.wait_for_reply(posted, timeout=WAIT)
    await discord_twin.wait_for_edit(lambda e: "Epoch" in e.embeds[0].get("description", ""), message=status,
                                     timeout=TRAINING_WAIT)
    [trainer] = trainers()
    await asyncio.wait_for(bot.close(), WAIT)
    assert not trainer.is_running()
    assert [e for e in discord_twin.edits if e.message is status][-1].embeds[0]["title"] == "Retrain cancelled"
    assert ModelStore(store).versions() == [1] and not staged_leftovers(store)


async def test_rollback_hot_swaps_to_the_previous_version(start_bot: StartBot, discord_twin: DiscordTwin,
                                                          twin_world: World, store: Path) -> None:
    models = ModelStore(store)
    models.save(store / "1" / "model.weights.h5", models.card(1))  # version 2, served; 1 is in the history
    bot = await start_bot()
    assert bot.served_version == 2
    posted = await discord_twin.post_message(twin_world.channel, twin_world.admin, "!rollback")
    reply = await discord_twin.wait_for_reply(posted, timeout=WAIT)
    assert reply.content.startswith("Rolled back from version 2 to version 1")
    assert bot.served_version == 1 and models.current() == 1

    posted = await discord_twin.post_message(twin_world.channel, twin_world.admin, "!rollback")
    reply = await discord_twin.wait_for_reply(posted, timeout=WAIT)
    assert reply.content == "The model store refused: there is no previous version to roll back to"
    assert bot.served_version == 1
    assert "Traceback" not in text_of(reply)


async def test_first_retrain_into_an_empty_store_starts_serving(start_bot: StartBot, discord_twin: DiscordTwin,
                                                               twin_world: World, store: Path, test_digits) -> None:
    shutil.rmtree(store)
    bot = await start_bot()
    assert bot.served_version is None
    posted = await discord_twin.post_message(twin_world.channel, twin_world.admin, f"!retrain {TINY_RETRAIN}")
    status = await discord_twin.wait_for_reply(posted, timeout=WAIT)
    done = await discord_twin.wait_for_edit(lambda e: e.embeds[0]["title"].startswith("Retrained"), message=status,
                                            timeout=TRAINING_WAIT)
    assert done.embeds[0]["title"] == "Retrained: version 1 is now serving"
    assert "no model was being served" in done.embeds[0]["description"]
    assert (await footer_of_a_digit_reply(discord_twin, twin_world, test_digits)).startswith("model version 1")


async def test_slash_retrain_edits_its_response_and_slash_cancel(start_bot: StartBot, discord_twin: DiscordTwin,
                                                                 twin_world: World, store: Path) -> None:
    await start_bot(retrain_train_limit=None)
    [command] = [c for c in discord_twin.commands if c["name"] == "retrain"]
    assert {o["name"] for o in command["options"]} == {"start", "cancel"}
    start_options = {o["name"] for o in command["options"][0]["options"]}
    assert {"epochs", "batch_size", "learning_rate", "layers", "activation", "dropout"} <= start_options

    start = await discord_twin.open_slash_command(twin_world.channel, twin_world.admin, "retrain", {"epochs": 20},
                                                  subcommand="start")
    status = await start.wait_for_original(timeout=WAIT)
    assert status.embeds[0]["title"] == "Retraining, requested by alice"
    # A long retrain outlives the interaction's token (15 min on Discord): progress must still show.
    lifetime, discord_twin.interactions.token_lifetime = discord_twin.interactions.token_lifetime, 0.0
    await discord_twin.wait_for_edit(lambda e: "Epoch **1/20**" in e.embeds[0].get("description", ""), message=status,
                                     timeout=TRAINING_WAIT)
    discord_twin.interactions.token_lifetime = lifetime  # the cancel below is a fresh interaction

    cancel = await discord_twin.open_slash_command(twin_world.channel, twin_world.admin, "retrain", subcommand="cancel")
    answer = await cancel.wait_for_followup(timeout=WAIT)  # deferred first: stopping may take seconds
    assert answer.content == "Cancelled the retrain requested by alice; the served model is unchanged."
    assert [e for e in discord_twin.edits if e.message is status][-1].embeds[0]["title"] == "Retrain cancelled"
    assert ModelStore(store).versions() == [1] and not trainers()


def test_retrain_flags_are_the_training_options() -> None:
    """!retrain's words and /retrain's options are generated from the options: nothing is declared twice."""
    declared = {flag.name: flag for flag in RetrainFlags.get_flags().values()}
    assert list(declared) == list(option_infos())
    assert declared["batch_size"].aliases == ["batch"] and all(len(flag.description) <= 100 for flag in declared.values())
    assert all(flag.default is None for flag in declared.values())  # unset words keep train.py's defaults
