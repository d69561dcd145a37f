"""The bot on one database for a cluster (issue 23): the real bot against the twin, corrections and model store in a
real PostgreSQL, reached through a relay that a test can cut like a server that went away."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from digits.settings import Paths
from discord_twin import Attachment, DiscordTwin, Message, World
from tests.fixtures.bot import WAIT, StartBot, png, text_of
from tests.fixtures.mnist import REPO, verified_mnist_dir
from tests.fixtures.models import two_versions
from tests.fixtures.postgres import Relay
from tests.fixtures.processes import finish, start_bot_process

pytestmark = pytest.mark.timeout(120)

HOLD = """
import sys, time
from pathlib import Path
from model_store import ModelStore, TRAINER_LOCK
location = sys.argv[1] if "://" in sys.argv[1] else Path(sys.argv[1])
lock = ModelStore(location).lock(TRAINER_LOCK)
lock.acquire("carol (train.py)")
print("held", flush=True)
time.sleep(600)
"""


@pytest.fixture
def shared_store(store_location: Path | str, trained_store: Path) -> Path | str:
    """The trained store on each backend, with a second version."""
    two_versions(store_location, trained_store)
    return store_location


async def image_reply(twin: DiscordTwin, world: World, picture: bytes) -> Message:
    posted = await twin.post_message(world.channel, world.user, attachments=[Attachment(picture, "d.png")])
    return await twin.wait_for_reply(posted, timeout=WAIT)


async def vote(twin: DiscordTwin, reply: Message, world: World, label: int) -> str:
    """Click "Wrong?" and choose `label`; what the private message then says."""
    [row] = reply.components
    click = await twin.use_component(reply, world.user, row["components"][0]["custom_id"])
    choice = await click.wait_for_original(timeout=WAIT)
    [select] = choice.components[0]["components"]
    pick = await twin.use_component(choice, world.user, select["custom_id"], [str(label)])
    await pick.wait_for_response(timeout=WAIT)
    await twin.wait_until(lambda: choice.components == [] or pick.followups, WAIT, "the vote's answer")
    return (pick.followups[0] if pick.followups else choice).content


async def test_a_second_retrain_anywhere_is_told_who_is_training(
        shared_store: Path | str, start_bot: StartBot, discord_twin: DiscordTwin, twin_world: World, tmp_path: Path) -> None:
    # The store comes first so that it is dropped after the bot has closed (fixtures are torn down in reverse).
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(shared_store)], stdout=subprocess.PIPE, text=True, cwd=REPO,
                              env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        await start_bot(paths=Paths(shared_store, verified_mnist_dir(), tmp_path / "cache"))
        posted = await discord_twin.post_message(twin_world.channel, twin_world.admin, "!retrain epochs=1")
        refusal = await discord_twin.wait_for_reply(posted, timeout=WAIT)
        assert refusal.content.startswith("Another retrain is already running on this model store: carol (train.py), "
                                          "since 20")
        assert refusal.content.endswith(f":{holder.pid}. One at a time: try again once it is done.")
    finally:
        holder.kill()
        holder.wait(timeout=10)
        holder.stdout.close()  # type: ignore[union-attr]


async def test_a_bot_on_postgresql_votes_follows_and_rides_out_an_outage(
        relay: Relay, postgres_url: str, start_bot: StartBot, discord_twin: DiscordTwin, twin_world: World,
        trained_store: Path, test_digits: tuple, tmp_path: Path) -> None:
    two_versions(postgres_url, trained_store)
    url = relay.url(postgres_url.rsplit("/", 1)[1])
    bot = await start_bot(paths=Paths(url, verified_mnist_dir(), tmp_path / "cache"), database=url)
    assert bot.served_version == 1
    seven = png(test_digits[0][0])
    reply = await image_reply(discord_twin, twin_world, seven)
    assert "it's a 7" in text_of(reply)
    assert (await vote(discord_twin, reply, twin_world, 3)).startswith("Thanks, noted as 3.")

    # A promotion from the command line (another machine, say) is served at once.
    started = time.monotonic()
    promoted = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "model_store", "--store", postgres_url,
                                                        "promote", "2"], capture_output=True, text=True, cwd=REPO)
    assert promoted.returncode == 0, promoted.stderr
    while bot.served_version != 2 and time.monotonic() - started < WAIT:  # the bot's state, not the twin's: polled
        await asyncio.sleep(0.02)
    assert bot.served_version == 2

    # The database goes away: images are still answered from the model in memory, a vote is refused politely.
    relay.cut()
    assert "it's a 7" in text_of(await image_reply(discord_twin, twin_world, seven))
    refused = await vote(discord_twin, reply, twin_world, 4)
    assert "cannot be reached right now" in refused and "nothing was recorded" in refused

    # It comes back: votes go on, and every acknowledged one is there.
    relay.restore()
    assert (await vote(discord_twin, reply, twin_world, 9)).startswith("Thanks, noted as 9.")
    with psycopg.connect(postgres_url) as db:
        assert db.execute("SELECT voter_id, label FROM votes").fetchall() == [(twin_world.user.id, 9)]
    assert bot.served_version == 2


@pytest.mark.parametrize("variable", ["BOT_DATABASE", "MODEL_STORE"])
async def test_a_refused_password_stops_the_bot_in_one_line(
        discord_twin: DiscordTwin, postgres_server, postgres_url: str, tmp_path: Path, variable: str) -> None:
    wrong = postgres_server.url(postgres_url.rsplit("/", 1)[1], password="not-the-password")
    env = {"DISCORD_TOKEN": discord_twin.token, "DISCORD_API_BASE": discord_twin.api_base,
           "DISCORD_GATEWAY_URL": discord_twin.gateway_url, "MODEL_STORE": str(tmp_path / "models"),
           "BOT_DATABASE": str(tmp_path / "digitbot.sqlite3"), variable: wrong}
    code, output = await finish(await start_bot_process(env, cwd=tmp_path))
    assert code == 2, output
    errors = [line for line in output.splitlines() if line.startswith("digitbot:")]
    assert len(errors) == 1 and "refused the password of user 'digitbot'" in errors[0], output
    assert "not-the-password" not in output and "Traceback" not in output
