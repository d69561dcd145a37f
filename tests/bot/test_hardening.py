"""Issues 12 and 25: the bot's defects, each against the twin with its fault controls: the real bot keeps answering."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from discord_twin import DiscordTwin, World
from model_store import ModelStore
from tests.fixtures.bot import WAIT, StartBot, answered_digits, digit_attachment, text_of
from tests.fixtures.memory import peak_memory, reset_peak_memory
from tests.fixtures.mnist import REPO

pytestmark = pytest.mark.timeout(180)


async def test_a_failing_typing_indicator_never_costs_the_answer(start_bot: StartBot, discord_twin: DiscordTwin,
                                                                 twin_world: World, test_digits) -> None:
    await start_bot()
    for status, count in ((403, 1), (500, 5), (429, 5)):
        discord_twin.fail_next_rest(status, count=count, route="/typing", retry_after=0.05)
        posted = await discord_twin.post_message(twin_world.channel, twin_world.user, attachments=[digit_attachment(test_digits, 0)])
        reply = await discord_twin.wait_for_reply(posted, timeout=WAIT)
        assert answered_digits(reply) == [test_digits[1][0]], (status, text_of(reply))


async def test_the_cooldown_counts_images_and_notes_the_rest_once(start_bot: StartBot, discord_twin: DiscordTwin,
                                                                  twin_world: World, test_digits) -> None:
    await start_bot(cooldown_rate=4, cooldown_seconds=60)
    posted = await discord_twin.post_message(twin_world.channel, twin_world.user,
                                             attachments=[digit_attachment(test_digits, i) for i in range(6)])
    reply = await discord_twin.wait_for_reply(posted, timeout=WAIT)
    assert len(answered_digits(reply)) == 4
    assert reply.content.startswith("Slow down") and "4 of your 6 images" in reply.content and "the other 2" in reply.content
    again = await discord_twin.post_message(twin_world.channel, twin_world.user, attachments=[digit_attachment(test_digits, 7)])
    note = await discord_twin.wait_for_reply(again, timeout=WAIT)
    assert note.content.startswith("Slow down") and not note.embeds


async def test_a_slow_cdn_costs_only_that_download(start_bot: StartBot, discord_twin: DiscordTwin, twin_world: World,
                                                   test_digits) -> None:
    await start_bot(download_timeout=0.5)
    discord_twin.cdn_delay(5.0)
    posted = await discord_twin.post_message(twin_world.channel, twin_world.user, attachments=[digit_attachment(test_digits, 0)])
    reply = await discord_twin.wait_for_reply(posted, timeout=3.0)  # not aiohttp's default 300 s
    assert "took too long" in text_of(reply)
    discord_twin.cdn_delay(0.0)
    posted = await discord_twin.post_message(twin_world.channel, twin_world.user, attachments=[digit_attachment(test_digits, 1)])
    assert answered_digits(await discord_twin.wait_for_reply(posted, timeout=WAIT)) == [test_digits[1][1]]


async def test_a_promotion_from_the_cli_is_served_within_two_seconds(start_bot: StartBot, discord_twin: DiscordTwin,
                                                                     twin_world: World, store: Path) -> None:
    bot = await start_bot()
    models = ModelStore(store)
    models.save(store / "1" / "model.weights.h5", models.card(1), promote=False)  # version 2, same weights
    promoted = subprocess.run([sys.executable, "-m", "model_store", "--store", str(store), "promote", "2"],
                              capture_output=True, text=True, cwd=REPO, timeout=60)
    assert promoted.returncode == 0, promoted.stderr
    for _ in range(40):
        if bot.served_version == 2:
            break
        await asyncio.sleep(0.05)
    assert bot.served_version == 2
    posted = await discord_twin.post_message(twin_world.channel, twin_world.admin, "!rollback")
    reply = await discord_twin.wait_for_reply(posted, timeout=WAIT)
    assert "from version 2 to version 1" in reply.content


async def test_images_posted_while_a_session_was_invalidated_are_answered_once(
        start_bot: StartBot, discord_twin: DiscordTwin, twin_world: World, test_digits) -> None:
    await start_bot(cooldown_rate=1000)
    # 50 replies in one channel would take 50 s at Discord's 5 per 5 s; rate limits have their own tests.
    discord_twin.relax_rate_limits()
    discord_twin.refuse_next_resume()
    await discord_twin.drop_gateway()
    posted = [await discord_twin.post_message(twin_world.channel, twin_world.user, attachments=[digit_attachment(test_digits, i % 20)])
              for i in range(50)]
    for message in posted:
        await discord_twin.wait_for_reply(message, timeout=30)
    await asyncio.sleep(0.5)  # room for any duplicate to arrive
    replies = [m for m in discord_twin.bot_messages if m.reference_id in {p.id for p in posted}]
    assert sorted(m.reference_id for m in replies) == sorted(p.id for p in posted)  # each exactly once
    assert discord_twin.gateway.refused_resumes == 1


async def test_a_body_larger_than_its_claimed_size_is_cut_off_at_its_claim(
        start_bot: StartBot, discord_twin: DiscordTwin, twin_world: World, test_digits) -> None:
    import psutil

    bot = await start_bot(max_image_bytes=1_000_000)
    before = psutil.Process().memory_info().rss
    discord_twin.cdn_oversize(300_000_000)  # claims a few hundred bytes, sends 300 MB
    posted = await discord_twin.post_message(twin_world.channel, twin_world.user, attachments=[digit_attachment(test_digits, 0)])
    reply = await discord_twin.wait_for_reply(posted, timeout=WAIT)
    assert "more than the file's size" in text_of(reply)
    assert psutil.Process().memory_info().rss - before < 50_000_000  # the bot (and the twin: same process) held ~1 MB
    discord_twin.cdn_oversize(0)
    posted = await discord_twin.post_message(twin_world.channel, twin_world.user, attachments=[digit_attachment(test_digits, 1)])
    assert answered_digits(await discord_twin.wait_for_reply(posted, timeout=WAIT)) == [test_digits[1][1]]
    assert bot.served_version == 1



async def test_bodies_larger_than_they_claim_are_charged_what_is_read(
        start_bot: StartBot, discord_twin: DiscordTwin, twin_world: World, test_digits) -> None:
    """Issue 25 item 4: the bytes-in-flight budget is charged with what a download holds, not with the size the
    attachment claims. 50 attachments claim a few hundred bytes and send 6 MB each (under the 10 MB limit): the bot
    (and the twin: same process) must not hold them all at once."""
    await start_bot(cooldown_rate=1000)
    discord_twin.relax_rate_limits()
    before = reset_peak_memory()
    discord_twin.cdn_oversize(6_000_000)
    posted = [await discord_twin.post_message(twin_world.channel, twin_world.user,
                                              attachments=[digit_attachment(test_digits, i) for i in range(10)])
              for _ in range(5)]
    replies = [await discord_twin.wait_for_reply(message, timeout=30) for message in posted]
    growth = peak_memory() - before
    assert growth < 100_000_000, f"the bot held {growth / 1e6:.0f} MB at its peak"  # 50 × 6 MB = 300 MB if all read
    assert all(len(reply.embeds) == 10 and "it's a" not in text_of(reply) for reply in replies)
    discord_twin.cdn_oversize(0)
    again = await discord_twin.post_message(twin_world.channel, twin_world.user, attachments=[digit_attachment(test_digits, 1)])
    assert answered_digits(await discord_twin.wait_for_reply(again, timeout=WAIT)) == [test_digits[1][1]]
