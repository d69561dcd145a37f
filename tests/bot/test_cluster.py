"""`python -m bot cluster`: the real launcher, two bot processes of four shards each and the REST proxy, against the twin
with Discord's rate limits on. Sharding and session starts as discord-api-docs documents them (events/gateway ›
Sharding, Rate Limiting, Session Start Limit Object › max_concurrency); the twin enforces them."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import psutil
import pytest

from discord_twin import Attachment, Channel, DiscordTwin, Guild, Message
from discord_twin.sessions import shard_of
from model_store import ModelStore
from tests.fixtures.bot import answered_digits, png
from tests.fixtures.mnist import REPO
from tests.fixtures.processes import free_ports

pytestmark = pytest.mark.timeout(150)

GUILDS, GUILDS_PER_SHARD, PROCESSES = 200, 25, 2  # 8 shards, 4 a process
SHARDS = GUILDS // GUILDS_PER_SHARD
IDENTIFY_INTERVAL = 0.25  # Discord's 5 s, shortened in the twin and the bot alike
WAIT = 60.0


@dataclass
class Cluster:
    process: asyncio.subprocess.Process
    output: list[str]
    health_ports: list[int]
    guilds: list[tuple[Guild, Channel]]

    async def health(self, session: aiohttp.ClientSession, index: int) -> dict[str, Any] | None:
        try:
            async with session.get(f"http://127.0.0.1:{self.health_ports[index]}/healthz") as response:
                return await response.json()  # type: ignore[no-any-return]
        except (aiohttp.ClientError, TimeoutError):
            return None


@pytest.fixture
async def cluster(discord_twin: DiscordTwin, store: Path, tmp_path: Path) -> AsyncIterator[Cluster]:
    guilds = []
    for index in range(GUILDS):
        guild = discord_twin.create_guild(f"guild-{index}")
        guilds.append((guild, discord_twin.create_channel(guild, "general")))
    discord_twin.gateway.recommended_guilds_per_shard = GUILDS_PER_SHARD
    discord_twin.gateway.session_starts.max_concurrency = 2  # buckets 0 and 1: each process has shards of both
    discord_twin.gateway.session_starts.identify_interval = IDENTIFY_INTERVAL
    port = free_ports(PROCESSES)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DISCORD_", "BOT_"))}
    env.update({
        "PYTHONPATH": str(REPO), "DISCORD_TOKEN": discord_twin.token, "DISCORD_API_BASE": discord_twin.api_base,
        "DISCORD_GATEWAY_URL": discord_twin.gateway_url, "MODEL_STORE": str(store),
        "BOT_DATABASE": str(tmp_path / "corrections.sqlite3"), "BOT_METRICS_PORT": str(port),
        "BOT_IDENTIFY_INTERVAL": str(IDENTIFY_INTERVAL), "BOT_LOG_LEVEL": "INFO",
    })
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "cluster", "--processes", str(PROCESSES), "--health-grace", "3",
        cwd=tmp_path, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    output: list[str] = []

    async def read() -> None:
        assert process.stderr is not None
        while line := await process.stderr.readline():
            output.append(line.decode(errors="replace"))

    reader = asyncio.create_task(read())
    try:
        yield Cluster(process, output, [port + index for index in range(PROCESSES)], guilds)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
        await asyncio.wait_for(reader, 10)


async def post_images(twin: DiscordTwin, guilds: list[tuple[Guild, Channel]], picture: bytes) -> list[Message]:
    return [await twin.post_message(channel, twin.world.users[guild.owner_id],
                                    attachments=[Attachment(picture, "digit.png", "image/png")])
            for guild, channel in guilds]


def replies(twin: DiscordTwin, message: Message) -> list[Message]:
    return [m for m in twin.bot_messages if m.reference_id == message.id]


async def test_two_processes_answer_each_image_once_through_a_kill(
    cluster: Cluster, discord_twin: DiscordTwin, store: Path, test_digits: Any
) -> None:
    """Two processes × four shards over 200 guilds: sessions start in bucket order (no INVALID_SESSION), images posted in
    50 guilds are answered exactly once, the commands are registered once; `kill -9` of the process holding shard 0:
    the launcher restarts it, its guilds are answered again and nothing twice, and it registers nothing anew; a
    version promoted in the store is served by both within 2 s; a process that stops answering /healthz is restarted."""
    twin = discord_twin
    await twin.wait_until(lambda: len(twin.gateway.connected_sessions) == SHARDS or None, WAIT, "8 shards connected")
    assert sorted(s.shard[0] for s in twin.gateway.connected_sessions if s.shard) == list(range(SHARDS))
    assert {tuple(s.shard or ()) for s in twin.gateway.connected_sessions} == {(i, SHARDS) for i in range(SHARDS)}
    assert twin.gateway.identifies == SHARDS and twin.gateway.session_starts.early == 0
    picture = png(test_digits[0][0])
    label = int(test_digits[1][0])
    by_shard = [[g for g in cluster.guilds if shard_of(g[0].id, SHARDS) == shard] for shard in range(SHARDS)]
    spread = [g for index in range(GUILDS // SHARDS) for shard in by_shard for g in shard[index:index + 1]][:50]
    assert len(spread) == 50 and {shard_of(g.id, SHARDS) for g, _ in spread} == set(range(SHARDS))

    first = await post_images(twin, spread, picture)
    for message in first:
        assert answered_digits(await twin.wait_for_reply(message, timeout=WAIT)) == [label]
    assert len(twin.commands) == 6 and len(twin.rest.commands.creates[None]) == 6
    puts = sum(call.method == "PUT" and call.route.endswith("/commands") for call in twin.rest_calls)

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        before = await cluster.health(session, 0)
        assert before is not None and before["ready"] and sorted(map(int, before["shards"])) == [0, 1, 2, 3]
        async with session.get(f"http://127.0.0.1:{cluster.health_ports[1]}/metrics") as response:
            metrics = await response.text()
        assert 'digitbot_shard_connected{shard="4"} 1.0' in metrics and "digitbot_served_version 1.0" in metrics
        assert 'digitbot_images_read_total{outcome="read"}' in metrics

        os.kill(before["pid"], signal.SIGKILL)
        identifies = twin.gateway.identifies

        async def restarted() -> bool:
            health = await cluster.health(session, 0)
            return health is not None and health["ready"] and health["pid"] != before["pid"]

        while not await restarted():
            await asyncio.sleep(0.2)
        assert twin.gateway.identifies == identifies + SHARDS // PROCESSES and twin.gateway.session_starts.early == 0

        second = await post_images(twin, spread, picture)
        for message in second:
            assert answered_digits(await twin.wait_for_reply(message, timeout=WAIT)) == [label]

        # A promotion anywhere is served everywhere within 2 s (each process follows the store's pointer).
        served = ModelStore(store)
        served.promote(served.save(store / "1" / "model.weights.h5", served.card(1), promote=False))
        started = asyncio.get_running_loop().time()
        while [(await cluster.health(session, i) or {}).get("version") for i in range(PROCESSES)] != [2] * PROCESSES:
            await asyncio.sleep(0.05)
        assert asyncio.get_running_loop().time() - started <= 2.0

        # A process that stops answering /healthz (here: stopped) is restarted too, not only one that exits.
        stuck = await cluster.health(session, 1)
        assert stuck is not None
        os.kill(stuck["pid"], signal.SIGSTOP)
        while (health := await cluster.health(session, 1)) is None or not health["ready"] or health["pid"] == stuck["pid"]:
            await asyncio.sleep(0.2)

        pids = [(await cluster.health(session, i) or {}).get("pid") for i in range(PROCESSES)]

    # Ctrl-C: forwarded to every process, which shut down, then the proxy; the launcher exits with 0.
    cluster.process.send_signal(signal.SIGINT)
    assert await asyncio.wait_for(cluster.process.wait(), 30) == 0
    assert not any(pid is not None and psutil.pid_exists(pid) for pid in pids)
    assert all(len(replies(twin, message)) == 1 for message in first + second)
    assert sum(call.method == "PUT" and call.route.endswith("/commands") for call in twin.rest_calls) == puts
    assert len(twin.rest.commands.creates[None]) == 6
    await asyncio.sleep(0.1)  # the launcher's last lines
    text = "".join(cluster.output)
    assert "[cluster] stopping every process (SIGINT)" in text
    assert "[cluster] bot-0 shards 0-3: killed by SIGKILL; restarting in 1 s" in text
    assert "[cluster] bot-1 shards 4-7: /healthz failing for 3 s: restarting it" in text
    assert any(line.startswith("[bot-1 shards 4-7] ") for line in cluster.output)
    assert [call for call in twin.rest_calls if call.status >= 400] == [], twin.rest.rate_limits.limited
