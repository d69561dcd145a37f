"""/healthz and Prometheus /metrics of a bot process (BOT_METRICS_PORT), on 127.0.0.1."""

from __future__ import annotations


import aiohttp
import pytest

from discord_twin import DiscordTwin, World
from tests.fixtures.bot import WAIT, StartBot, digit_attachment
from tests.fixtures.processes import free_port

pytestmark = pytest.mark.timeout(60)


async def test_health_and_metrics(start_bot: StartBot, discord_twin: DiscordTwin, twin_world: World, test_digits) -> None:
    port = free_port()
    bot = await start_bot(metrics_port=port)
    posted = await discord_twin.post_message(twin_world.channel, twin_world.user,
                                             attachments=[digit_attachment(test_digits, 0)])
    await discord_twin.wait_for_reply(posted, timeout=WAIT)
    base = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{base}/healthz") as response:
            assert response.status == 200
            health = await response.json()
        async with session.get(f"{base}/metrics") as response:
            metrics = await response.text()
        assert health["ready"] is True and health["shards"] == {"0": "connected"}
        assert health["version"] == bot.served_version == 1
        assert 'digitbot_images_read_total{outcome="read"} 1.0' in metrics
        assert 'digitbot_images_read_total{outcome="refused"} 0.0' in metrics
        assert "digitbot_answer_seconds_count 1.0" in metrics and "digitbot_served_version 1.0" in metrics
        assert 'digitbot_shard_connected{shard="0"} 1.0' in metrics and "digitbot_reading_queue 0.0" in metrics
        assert 'digitbot_gateway_latency_seconds{shard="0"}' in metrics
        await bot.close()
        with pytest.raises(aiohttp.ClientConnectionError):
            await session.get(f"{base}/healthz")
