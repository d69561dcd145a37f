"""The bot against a twin as strict as Discord (issue 16): deferred responses, limits, permissions, intents, rate limits."""

from __future__ import annotations

import asyncio
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from discord_twin import (
    ATTACH_FILES,
    EMBED_LINKS,
    READ_MESSAGE_HISTORY,
    SEND_MESSAGES,
    VIEW_CHANNEL,
    Attachment,
    DiscordTwin,
    Interaction,
    World,
)
from samples import pictures as styles
from tests.fixtures.bot import TINY_RETRAIN, WAIT, StartBot, png, text_of
from tests.fixtures.processes import finish, start_bot_process

pytestmark = pytest.mark.timeout(120)


def digit(test_digits: tuple, index: int = 0, filename: str | None = None) -> Attachment:
    return Attachment(png(test_digits[0][index]), filename or f"digit{index}.png", "image/png")


async def private_refusal(interaction: Interaction) -> str:
    """The refusal must be the initial response itself (type 4, ephemeral): a deferral would have decided it public."""
    response = await interaction.wait_for_response(timeout=WAIT)
    assert response.type == 4, f"deferred (type {response.type}) before refusing: Discord would show the refusal to everyone"
    assert response.data["flags"] & 64, response.data
    assert interaction.original is not None and interaction.original.ephemeral
    return str(response.data["content"])


# -- errors after a deferred response (Receiving and Responding › Create Followup Message) ------------------------


async def test_refusals_of_deferring_commands_stay_private(start_bot: StartBot, discord_twin: DiscordTwin,
                                                           twin_world: World, store: Path, test_digits) -> None:
    """/digit and the menu without a model, /accuracy without a model, /model on an empty store: refused privately."""
    shutil.rmtree(store)
    await start_bot()
    world = twin_world
    interaction = await discord_twin.open_slash_command(world.channel, world.user, "digit", {"image": digit(test_digits)})
    assert "no trained model" in await private_refusal(interaction)
    target = await discord_twin.post_message(world.channel, world.admin, attachments=[digit(test_digits)])
    await discord_twin.wait_for_reply(target, timeout=WAIT)
    menu = await discord_twin.open_message_command(world.channel, world.user, "Recognize digit", target)
    assert "no trained model" in await private_refusal(menu)
    interaction = await discord_twin.open_slash_command(world.channel, world.user, "accuracy")
    assert "no trained model" in await private_refusal(interaction)
    interaction = await discord_twin.open_slash_command(world.channel, world.user, "model")
    assert "store is empty" in await private_refusal(interaction)


async def test_admin_refusals_after_which_nothing_happens_stay_private(start_bot: StartBot, discord_twin: DiscordTwin,
                                                                      twin_world: World) -> None:
    """/rollback with nothing to roll back to, /retrain cancel with nothing running, and a non-admin's /rollback."""
    await start_bot()
    world = twin_world
    interaction = await discord_twin.open_slash_command(world.channel, world.admin, "rollback")
    assert "no previous version" in await private_refusal(interaction)
    interaction = await discord_twin.open_slash_command(world.channel, world.admin, "retrain", subcommand="cancel")
    assert await private_refusal(interaction) == "No retrain is running."
    interaction = await discord_twin.open_slash_command(world.channel, world.user, "rollback")
    assert await private_refusal(interaction) == "Only the bot's admins can do that."
    public = [m for m in discord_twin.bot_messages if not m.ephemeral]
    assert public == [], [m.content for m in public]


async def test_answers_after_a_deferral_fill_in_the_thinking_message(start_bot: StartBot, discord_twin: DiscordTwin,
                                                                     twin_world: World, test_digits) -> None:
    """The answer to a deferred /digit replaces the "thinking…" message rather than adding one."""
    await start_bot()
    interaction = await discord_twin.open_slash_command(twin_world.channel, twin_world.user, "digit",
                                                        {"image": digit(test_digits, 1)})
    answer = await interaction.wait_for_followup(timeout=WAIT)
    assert interaction.callbacks[0].type == 5
    assert answer is interaction.original and not answer.loading and not answer.ephemeral
    assert "it's a" in text_of(answer)


# -- limits (Message › Embed Limits) ----------------------------------------------------------------------------------


async def test_a_250_character_file_name_is_shortened_in_the_title(start_bot: StartBot, discord_twin: DiscordTwin,
                                                                   twin_world: World, test_digits) -> None:
    """Embed titles are capped at 256 characters: the bot shortens the user's file name instead of failing."""
    await start_bot()
    name = "d" * 246 + ".png"
    assert len(name) == 250
    posted = await discord_twin.post_message(twin_world.channel, twin_world.user, attachments=[digit(test_digits, 0, name)])
    reply = await discord_twin.wait_for_reply(posted, timeout=WAIT)
    title = reply.embeds[0]["title"]
    assert len(title) <= 256 and "it's a" in title and title.startswith("ddd") and "…" in title, title
    assert "went wrong" not in text_of(reply)


async def test_a_message_with_ten_images_gets_one_reply_with_ten_answers(start_bot: StartBot, discord_twin: DiscordTwin,
                                                                         twin_world: World, test_digits) -> None:
    """Ten images: ten embeds and ten preview files, Discord's most per message."""
    await start_bot()
    posted = await discord_twin.post_message(twin_world.channel, twin_world.user,
                                             attachments=[digit(test_digits, i) for i in range(10)])
    reply = await discord_twin.wait_for_reply(posted, timeout=WAIT)
    assert len(reply.embeds) == 10 and len(reply.attachments) == 10
    assert all("it's a" in embed["title"] for embed in reply.embeds)


def embed_characters(embeds: list[dict]) -> int:
    """Message › Embed Limits: the characters of all a message's embeds that count towards its 6000."""
    return sum(len(embed.get("title", "")) + len(embed.get("description", "")) + len(embed.get("footer", {}).get("text", ""))
               + len(embed.get("author", {}).get("name", ""))
               + sum(len(f.get("name", "")) + len(f.get("value", "")) for f in embed.get("fields", [])) for embed in embeds)


async def test_ten_answers_with_long_names_and_numbers_fit_in_one_message(
        start_bot: StartBot, discord_twin: DiscordTwin, twin_world: World, test_digits) -> None:
    """Message › Embed Limits: all of a message's embeds together hold at most 6000 characters. Ten answers named
    after 240-character files, half of them 12-digit numbers, are shortened to fit (issue 25 item 14), each still
    naming its file and what it read; the twin refuses a message over the limit (50035)."""
    await start_bot()
    images, _ = test_digits
    rng = np.random.default_rng(3)
    pictures = [png(images[i]) for i in range(5)]
    pictures += [styles.number_drawing([images[(i + k) % 20] for k in range(12)], rng) for i in range(5)]
    names = [f"{index}-" + "d" * 234 + ".png" for index in range(10)]
    posted = await discord_twin.post_message(twin_world.channel, twin_world.user, attachments=[
        Attachment(picture, name, "image/png") for picture, name in zip(pictures, names)])
    reply = await discord_twin.wait_for_reply(posted, timeout=WAIT)
    assert "went wrong" not in text_of(reply), text_of(reply)
    assert len(reply.embeds) == 10 and len(reply.attachments) == 10
    assert embed_characters(reply.embeds) <= 6000
    for index, embed in enumerate(reply.embeds):
        assert embed["title"].startswith(f"{index}-ddd") and "…" in embed["title"], embed["title"]
        assert re.search(r": (it's (a )?\d+|probably a \d)", embed["title"]), embed["title"]
    assert sum(len(re.sub(r"\D", "", embed["title"].split(": it's ")[-1])) >= 10 for embed in reply.embeds[5:]) >= 3


async def test_replying_to_a_message_deleted_before_the_reply(start_bot: StartBot, discord_twin: DiscordTwin,
                                                              twin_world: World, test_digits) -> None:
    """Message › Create Message: a reply to a deleted message fails (fail_if_not_exists defaults to true); the bot
    logs it and keeps answering."""
    await start_bot()
    discord_twin.cdn_delay(0.5)
    posted = await discord_twin.post_message(twin_world.channel, twin_world.user, attachments=[digit(test_digits)])
    await asyncio.sleep(0.1)
    await discord_twin.delete_message_as_user(posted)
    await asyncio.sleep(1.0)
    discord_twin.cdn_delay(0)
    assert not [m for m in discord_twin.bot_messages if m.reference_id == posted.id]
    later = await discord_twin.post_message(twin_world.channel, twin_world.user, attachments=[digit(test_digits, 1)])
    assert "it's a" in text_of(await discord_twin.wait_for_reply(later, timeout=WAIT))


# -- permissions (topics/permissions; resources/message › Create Message) --------------------------------------------


async def test_without_read_message_history_it_answers_with_a_plain_message_naming_the_author(
        start_bot: StartBot, discord_twin: DiscordTwin, twin_world: World, test_digits) -> None:
    await start_bot()
    discord_twin.take_from_bot(twin_world.channel, READ_MESSAGE_HISTORY)
    posted = await discord_twin.post_message(twin_world.channel, twin_world.user, attachments=[digit(test_digits)])
    answer = await discord_twin.wait_for_bot_message(lambda m: m.content.startswith(f"<@{twin_world.user.id}>"),
                                                     timeout=WAIT)
    assert answer.reference_id is None and "it's a" in text_of(answer) and answer.attachments
    command = await discord_twin.post_message(twin_world.channel, twin_world.user, "!model")
    listing = await discord_twin.wait_for_bot_message(lambda m: "Model versions" in m.content, timeout=WAIT)
    assert listing.content.startswith(f"<@{twin_world.user.id}>")
    assert not [m for m in discord_twin.bot_messages if m.reference_id in (posted.id, command.id)]


async def test_without_attach_files_the_answer_comes_without_pictures(
        start_bot: StartBot, discord_twin: DiscordTwin, twin_world: World, test_digits) -> None:
    await start_bot()
    discord_twin.take_from_bot(twin_world.channel, ATTACH_FILES)
    posted = await discord_twin.post_message(twin_world.channel, twin_world.user, attachments=[digit(test_digits)])
    reply = await discord_twin.wait_for_reply(posted, timeout=WAIT)
    assert "it's a" in reply.embeds[0]["title"] and "image" not in reply.embeds[0]
    assert reply.attachments == []


async def test_without_embed_links_the_answer_is_plain_text(
        start_bot: StartBot, discord_twin: DiscordTwin, twin_world: World, test_digits) -> None:
    await start_bot()
    discord_twin.take_from_bot(twin_world.channel, EMBED_LINKS)
    posted = await discord_twin.post_message(twin_world.channel, twin_world.user,
                                             attachments=[digit(test_digits, 0), digit(test_digits, 1)])
    reply = await discord_twin.wait_for_reply(posted, timeout=WAIT)
    assert reply.embeds == []
    assert reply.content.count("it's a") == 2 and "Confidence" in reply.content


async def test_interaction_answers_follow_the_apps_permissions(
        start_bot: StartBot, discord_twin: DiscordTwin, twin_world: World, test_digits) -> None:
    """Interaction Object › app_permissions; change log 2023-11-01 "Fix Message Edit Interaction Response Permissions":
    follow-ups follow the bot's permissions. Where it may neither embed nor attach, /digit and /accuracy are answered
    in text without files (issue 25 item 15), as messages are."""
    await start_bot()
    discord_twin.take_from_bot(twin_world.channel, EMBED_LINKS | ATTACH_FILES)
    interaction = await discord_twin.open_slash_command(twin_world.channel, twin_world.user, "digit",
                                                        {"image": digit(test_digits, 1)})
    assert int(interaction.payload["app_permissions"]) & (EMBED_LINKS | ATTACH_FILES) == 0
    answer = await interaction.wait_for_followup(timeout=WAIT)
    assert answer.embeds == [] and answer.attachments == [], answer.embeds
    assert "it's a" in answer.content and "Confidence" in answer.content and answer.components  # "Wrong?" stays
    accuracy = await discord_twin.open_slash_command(twin_world.channel, twin_world.user, "accuracy")
    report = await accuracy.wait_for_followup(timeout=60)
    assert report.embeds == [] and report.attachments == [] and "accuracy" in report.content


@pytest.mark.parametrize("permission", [VIEW_CHANNEL, SEND_MESSAGES], ids=["view-channel", "send-messages"])
async def test_where_it_may_not_speak_it_logs_the_missing_permission(
        start_bot: StartBot, discord_twin: DiscordTwin, twin_world: World, test_digits,
        caplog: pytest.LogCaptureFixture, permission: int) -> None:
    await start_bot()
    discord_twin.take_from_bot(twin_world.channel, permission)
    await asyncio.sleep(0.1)  # the overwrite reaches the bot (CHANNEL_UPDATE)
    name = "View Channel" if permission == VIEW_CHANNEL else "Send Messages"
    await discord_twin.post_message(twin_world.channel, twin_world.user, attachments=[digit(test_digits)])
    await discord_twin.post_message(twin_world.channel, twin_world.user, "!model")
    if permission == SEND_MESSAGES:  # it still sees the messages: one clear line each
        for _ in range(100):
            if sum(f"missing {name} there" in r.getMessage() for r in caplog.records) >= 2:
                break
            await asyncio.sleep(0.05)
        else:
            pytest.fail(f"no log lines naming {name}: {[r.getMessage() for r in caplog.records]}")
    await asyncio.sleep(0.3)
    assert discord_twin.bot_messages == [] and discord_twin.typing == []
    assert not [c for c in discord_twin.rest_calls if c.status == 403], "the bot knew better than to try"
    # The other channels are unaffected.
    other = discord_twin.create_channel(twin_world.guild, "elsewhere")
    posted = await discord_twin.post_message(other, twin_world.user, attachments=[digit(test_digits)])
    assert "it's a" in text_of(await discord_twin.wait_for_reply(posted, timeout=WAIT))


# -- intents and the gateway (events/gateway; topics/opcodes-and-status-codes › Gateway Close Event Codes) ----------


async def test_without_the_message_content_intent_end_to_end(start_bot: StartBot, discord_twin: DiscordTwin,
                                                             twin_world: World, test_digits) -> None:
    """BOT_MESSAGE_CONTENT=false with the intent off in the portal: the bot connects; plain image posts are invisible
    to it; /digit, the menu, a reply that pings it and a mention still work."""
    discord_twin.set_privileged_intents(message_content=False)
    await start_bot(message_content=False)
    world = twin_world
    unseen = await discord_twin.post_message(world.channel, world.user, attachments=[digit(test_digits, 0)])
    interaction = await discord_twin.open_slash_command(world.channel, world.user, "digit", {"image": digit(test_digits, 1)})
    answer = await interaction.wait_for_followup(timeout=WAIT)
    assert "it's a" in text_of(answer)
    menu = await discord_twin.open_message_command(world.channel, world.user, "Recognize digit", unseen)
    assert "it's a" in text_of(await menu.wait_for_followup(timeout=WAIT))
    # Replying to the bot's answer pings it: a mention, whose content (and attachments) it may read.
    pinging = await discord_twin.post_message(world.channel, world.user, "and this one?", reply_to=answer,
                                              attachments=[digit(test_digits, 2)])
    assert "it's a" in text_of(await discord_twin.wait_for_reply(pinging, timeout=WAIT))
    mention = await discord_twin.post_message(world.channel, world.user, f"<@{discord_twin.bot_user.id}> model")
    assert "Model versions" in (await discord_twin.wait_for_reply(mention, timeout=WAIT)).content
    prefixed = await discord_twin.post_message(world.channel, world.user, "!model")
    await asyncio.sleep(0.3)
    assert not [m for m in discord_twin.bot_messages if m.reference_id in (unseen.id, prefixed.id)]


async def test_op_7_reconnect_and_a_resumable_invalid_session(start_bot: StartBot, discord_twin: DiscordTwin,
                                                              twin_world: World, test_digits) -> None:
    """events/gateway › Resuming: after op 7 RECONNECT and after INVALID_SESSION d=true the bot resumes, and the
    images posted meanwhile are answered once."""
    await start_bot()
    assert discord_twin.reconnect_gateway() == 1
    first = await discord_twin.post_message(twin_world.channel, twin_world.user, attachments=[digit(test_digits, 0)])
    assert "it's a" in text_of(await discord_twin.wait_for_reply(first, timeout=30))
    await discord_twin.invalidate_session(resumable=True)
    second = await discord_twin.post_message(twin_world.channel, twin_world.user, attachments=[digit(test_digits, 1)])
    assert "it's a" in text_of(await discord_twin.wait_for_reply(second, timeout=30))
    assert discord_twin.gateway.resumes == 2 and discord_twin.gateway.identifies == 1
    await asyncio.sleep(0.3)
    assert len([m for m in discord_twin.bot_messages if m.reference_id in (first.id, second.id)]) == 2


async def test_a_heartbeat_timeout_closes_the_connection_and_what_was_missed_is_answered(
        start_bot: StartBot, discord_twin: DiscordTwin, twin_world: World, test_digits) -> None:
    """events/gateway › Heartbeat Interval: "If your app fails to send a heartbeat event in time, your connection will
    be closed and you will be forced to Resume": the bot resumes and answers the image posted while it was away."""
    discord_twin.gateway.heartbeat_interval_ms = 500  # Discord's is about 41 s
    await start_bot()
    discord_twin.lose_heartbeats()
    await discord_twin.wait_until(lambda: discord_twin.gateway.timeouts == 1 or None, timeout=WAIT, what="a timeout")
    missed = await discord_twin.post_message(twin_world.channel, twin_world.user, attachments=[digit(test_digits, 0)])
    assert "it's a" in text_of(await discord_twin.wait_for_reply(missed, timeout=30))
    assert discord_twin.gateway.identifies == 1 and discord_twin.gateway.resumes == 1


async def test_a_disallowed_intent_exits_2_with_one_line(discord_twin: DiscordTwin, twin_world: World,
                                                         tmp_path: Path) -> None:
    """Close code 4014 "Disallowed intent(s)": Message Content asked for but not enabled in the portal."""
    discord_twin.set_privileged_intents(message_content=False)
    code, output = await run_bot_process(discord_twin, tmp_path)
    assert code == 2, output
    assert [line for line in output.splitlines() if line.startswith("digitbot:")] == [
        "digitbot: the Message Content intent is not enabled for this bot: enable it in the Developer Portal "
        "(Bot → Privileged Gateway Intents) or set BOT_MESSAGE_CONTENT=false"]
    assert "Traceback" not in output and discord_twin.token not in output


async def test_a_token_rejected_by_the_gateway_exits_2_with_one_line(discord_twin: DiscordTwin, twin_world: World,
                                                                     tmp_path: Path) -> None:
    """Close code 4004 "Authentication failed" at IDENTIFY, although REST accepted the token."""
    discord_twin.reject_gateway_token()
    code, output = await run_bot_process(discord_twin, tmp_path)
    assert code == 2, output
    assert [line for line in output.splitlines() if line.startswith("digitbot:")] == [
        "digitbot: the Discord gateway rejected DISCORD_TOKEN (close code 4004)"]
    assert "Traceback" not in output and discord_twin.token not in output


async def run_bot_process(discord_twin: DiscordTwin, tmp_path: Path) -> tuple[int, str]:
    process = await start_bot_process({
        "DISCORD_TOKEN": discord_twin.token, "DISCORD_API_BASE": discord_twin.api_base,
        "DISCORD_GATEWAY_URL": discord_twin.gateway_url, "MODEL_STORE": str(tmp_path / "models"),
    }, cwd=tmp_path)
    return await finish(process, timeout=60)


# -- rate limits at Discord's rate (topics/rate-limits) ---------------------------------------------------------------


async def test_replies_at_discords_rate_all_arrive(start_bot: StartBot, discord_twin: DiscordTwin, twin_world: World,
                                                  test_digits) -> None:
    """Eight image messages at once in one channel: Discord allows 5 messages per 5 s there; every one is answered,
    never more than 5 in any 5 s, and no reply is lost to a 429."""
    await start_bot(cooldown_rate=100)
    posted = [await discord_twin.post_message(twin_world.channel, twin_world.user, attachments=[digit(test_digits, i)])
              for i in range(8)]
    replies = [await discord_twin.wait_for_reply(message, timeout=20) for message in posted]
    assert all("it's a" in text_of(reply) for reply in replies)
    sent = sorted(c.at for c in await discord_twin.wait_for_rest_calls(
        lambda c: c.method == "POST" and c.route.endswith("/messages") and c.status == 200, 8, WAIT))
    assert all(later - earlier >= 4.9 for earlier, later in zip(sent, sent[5:])), "never more than 5 per 5 s"


async def test_a_429_on_a_follow_up_is_waited_out(start_bot: StartBot, discord_twin: DiscordTwin, twin_world: World,
                                                 test_digits) -> None:
    """The answer to /digit (its first follow-up) meets a 429 with Discord's retry_after: it arrives after it."""
    await start_bot()
    discord_twin.fail_next_rest(429, retry_after=1.5, route="POST /api/v10/webhooks/")
    interaction = await discord_twin.open_slash_command(twin_world.channel, twin_world.user, "digit",
                                                        {"image": digit(test_digits, 3)})
    answer = await interaction.wait_for_followup(timeout=WAIT)
    assert "it's a" in text_of(answer)
    calls = await discord_twin.wait_for_rest_calls(lambda c: c.method == "POST" and "/webhooks/" in c.path, 2, WAIT)
    assert [c.status for c in calls] == [429, 200]


@pytest.mark.timeout(240)
async def test_retrain_progress_edits_meet_429s_and_the_outcome_still_arrives(
        start_bot: StartBot, discord_twin: DiscordTwin, twin_world: World) -> None:
    """The retrain's status edits (one a second) under a stricter edit bucket than Discord's (1 per 3 s) and two
    injected 429s: discord.py waits them out, training is not held up, and the outcome edit arrives."""
    await start_bot(accuracy_floor_points=100.0)
    discord_twin.set_route_limit("PATCH", "/api/v10/channels/{channel_id}/messages/{message_id}", 1, 3.0)
    discord_twin.fail_next_rest(429, retry_after=1.0, route="PATCH /api/v10/channels/", count=2)
    posted = await discord_twin.post_message(twin_world.channel, twin_world.admin, f"!retrain {TINY_RETRAIN}")
    status = await discord_twin.wait_for_reply(posted, timeout=WAIT)
    done = await discord_twin.wait_for_edit(lambda e: e.embeds[0]["title"].startswith("Retrained"), message=status,
                                            timeout=180)
    assert done.embeds[0]["title"] == "Retrained: version 2 is now serving"
    patches = [c.status for c in await discord_twin.wait_for_rest_calls(lambda c: c.method == "PATCH", 3, WAIT)]
    assert patches.count(429) >= 2 and patches[-1] == 200


# -- direct messages ---------------------------------------------------------------------------------------------------


async def test_commands_are_registered_for_servers_only(start_bot: StartBot, discord_twin: DiscordTwin) -> None:
    """interactions/application-commands › Interaction Contexts: every command is registered with contexts [0]
    (GUILD) (dm_permission is deprecated in favour of contexts), and passes the twin's full validation."""
    await start_bot()
    assert {c["name"] for c in discord_twin.commands} >= {"digit", "Recognize digit", "accuracy", "model", "retrain",
                                                          "rollback"}
    for command in discord_twin.commands:
        assert command["contexts"] == [0], command["name"]


@pytest.mark.timeout(240)
async def test_retrain_status_in_a_channel_without_embed_links_is_text(
        start_bot: StartBot, discord_twin: DiscordTwin, twin_world: World) -> None:
    """Without Embed Links Discord drops embeds silently: the retrain's status message and its progress and outcome
    edits are written as text instead, so they are seen."""
    await start_bot(accuracy_floor_points=100.0)
    discord_twin.take_from_bot(twin_world.channel, EMBED_LINKS)
    await asyncio.sleep(0.1)
    posted = await discord_twin.post_message(twin_world.channel, twin_world.admin, f"!retrain {TINY_RETRAIN}")
    status = await discord_twin.wait_for_reply(posted, timeout=WAIT)
    assert status.embeds == [] and "Retraining, requested by alice" in status.content
    done = await discord_twin.wait_for_edit(lambda e: "Retrained" in e.content, message=status, timeout=180)
    assert "version 2 is now serving" in done.content and done.embeds == []


# -- issue 25 item 18: behaviours never tested before ------------------------------------------------------------------


@pytest.mark.parametrize("scope", ["user", "global", "shared"])
async def test_a_429_on_a_channel_reply_is_waited_out(start_bot: StartBot, discord_twin: DiscordTwin, twin_world: World,
                                                     test_digits, scope: str) -> None:
    """topics/rate-limits › Exceeding A Rate Limit: a real 429 (the route's bucket, the global limit, or a shared
    resource) on the reply to an image: the reply arrives after retry_after, not before, and nothing is lost."""
    await start_bot()
    discord_twin.fail_next_rest(429, retry_after=1.0, route=f"POST /api/v10/channels/{twin_world.channel.id}/messages",
                                scope=scope)
    posted = await discord_twin.post_message(twin_world.channel, twin_world.user, attachments=[digit(test_digits, 0)])
    reply = await discord_twin.wait_for_reply(posted, timeout=WAIT)
    assert "it's a" in text_of(reply)
    sent = await discord_twin.wait_for_rest_calls(lambda c: c.method == "POST" and c.path.endswith("/messages"), 2, WAIT)
    assert [c.status for c in sent] == [429, 200]
    assert sent[1].at - sent[0].at >= 0.95, "retried before retry_after"
    later = await discord_twin.post_message(twin_world.channel, twin_world.user, attachments=[digit(test_digits, 1)])
    assert "it's a" in text_of(await discord_twin.wait_for_reply(later, timeout=WAIT))


async def test_answers_slower_than_three_seconds_are_deferred_in_time(start_bot: StartBot, discord_twin: DiscordTwin,
                                                                       twin_world: World, test_digits) -> None:
    """Receiving and Responding › Responding to an Interaction: the initial response must come within 3 s (the twin
    forgets the interaction then, as Discord does). A /digit and a menu whose picture takes 3.5 s to download are
    deferred at once and answered by their follow-up."""
    await start_bot(download_timeout=10)
    target = await discord_twin.post_message(twin_world.channel, twin_world.admin, "no image here, just text")
    discord_twin.cdn_delay(3.5)
    slash = await discord_twin.open_slash_command(twin_world.channel, twin_world.user, "digit",
                                                  {"image": digit(test_digits, 2)})
    picture = await discord_twin.post_message(twin_world.channel, twin_world.admin, attachments=[digit(test_digits, 3)])
    menu = await discord_twin.open_message_command(twin_world.channel, twin_world.user, "Recognize digit", picture)
    for interaction in (slash, menu):
        response = await interaction.wait_for_response(timeout=WAIT)
        assert response.type == 5 and interaction.dispatched_at is not None
        assert response.at - interaction.dispatched_at < 3.0
        assert "it's a" in text_of(await interaction.wait_for_followup(timeout=WAIT))
    answered = await discord_twin.wait_for_rest_calls(
        lambda c: c.method == "POST" and "/webhooks/" in c.path and c.status == 200, 2, WAIT)
    assert len(answered) == 2 and all(c.at - slash.dispatched_at >= 3.0 for c in answered)  # type: ignore[operator]
    discord_twin.cdn_delay(0)
    plain = await discord_twin.open_message_command(twin_world.channel, twin_world.user, "Recognize digit", target)
    assert await private_refusal(plain) == "There is no image to read there."


async def test_direct_messages_get_a_pointer_to_the_servers(start_bot: StartBot, discord_twin: DiscordTwin,
                                                            twin_world: World, test_digits) -> None:
    """resources/channel › DM channels: the bot serves servers; in a DM, a picture and a command each get one short
    answer saying so, and nothing is read or charged."""
    bot = await start_bot(cooldown_rate=1)
    dm = discord_twin.open_dm(twin_world.user)
    picture = await discord_twin.post_message(dm, twin_world.user, attachments=[digit(test_digits, 0)])
    answer = await discord_twin.wait_for_reply(picture, timeout=WAIT)
    assert answer.content == "I read digits in servers only: post the picture in a channel I'm in."
    command = await discord_twin.post_message(dm, twin_world.user, "!model")
    assert (await discord_twin.wait_for_reply(command, timeout=WAIT)).content == "That only works in a server."
    assert not discord_twin.cdn_requests  # the picture was not downloaded
    # Nothing was charged: the member's one image of the cooldown is still there in the server.
    posted = await discord_twin.post_message(twin_world.channel, twin_world.user, attachments=[digit(test_digits, 1)])
    assert "it's a" in text_of(await discord_twin.wait_for_reply(posted, timeout=WAIT))
    assert bot.is_ready()


async def test_without_message_content_the_catch_up_and_the_rebuild_read_over_rest(
        start_bot: StartBot, discord_twin: DiscordTwin, twin_world: World, test_digits) -> None:
    """events/gateway › Message Content Intent applies over REST too: without it, a message's attachments are blank
    unless it mentions the bot. After a lost session the catch-up answers the picture that mentioned the bot (and
    not the one it could not see); after a restart, a vote on a menu answer whose picture it can no longer see is
    refused with the reason, not as a changed picture."""
    discord_twin.set_privileged_intents(message_content=False)
    discord_twin.gateway.session_starts.identify_interval = 0.0  # new sessions are not what this is about (Discord: 5 s)
    bot = await start_bot(message_content=False, cooldown_rate=100)
    discord_twin.refuse_next_resume()
    await discord_twin.drop_gateway()
    unseen = await discord_twin.post_message(twin_world.channel, twin_world.user, attachments=[digit(test_digits, 0)])
    mention = await discord_twin.post_message(twin_world.channel, twin_world.user, f"<@{discord_twin.bot_user.id}> this?",
                                              attachments=[digit(test_digits, 1)])
    answer = await discord_twin.wait_for_reply(mention, timeout=30)
    assert "it's a" in text_of(answer)
    await asyncio.sleep(0.3)  # room for a wrong answer to arrive
    assert not [m for m in discord_twin.bot_messages if m.reference_id == unseen.id]
    assert len([m for m in discord_twin.bot_messages if m.reference_id == mention.id]) == 1

    menu = await discord_twin.open_message_command(twin_world.channel, twin_world.user, "Recognize digit", unseen)
    menu_answer = await menu.wait_for_followup(timeout=WAIT)
    await bot.close()
    await start_bot(message_content=False)
    [row] = menu_answer.components
    click = await discord_twin.use_component(menu_answer, twin_world.user, row["components"][0]["custom_id"])
    choice = await click.wait_for_original(timeout=WAIT)
    pick = await discord_twin.use_component(choice, twin_world.user, choice.components[0]["components"][0]["custom_id"], ["4"])
    refusal = await pick.wait_for_followup(timeout=WAIT)
    assert refusal.ephemeral and "Message Content" in refusal.content, refusal.content
