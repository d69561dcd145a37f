"""What every REST call passes: the bot token, known routes, rate limits."""

from __future__ import annotations

import json

import aiohttp
import discord
import pytest

from discord_twin import DiscordTwin, World
from discord_twin.tests.clients import WAIT, make_client, pointed_at

pytestmark = pytest.mark.timeout(30)

async def test_wrong_token_is_rejected(discord_twin: DiscordTwin) -> None:
    with pointed_at(discord_twin.api_base, discord_twin.gateway_url):
        client = make_client()
        with pytest.raises(discord.LoginFailure):
            await client.login("not-the-token")
        await client.close()

    async with aiohttp.ClientSession() as session:
        async with session.get(f"{discord_twin.api_base}/users/@me") as response:
            assert response.status == 401
            assert await response.json() == {"message": "401: Unauthorized", "code": 0}
        async with session.ws_connect(f"{discord_twin.gateway_url}?v=10&encoding=json") as ws:
            hello = await ws.receive_json(timeout=WAIT)
            assert hello["op"] == 10 and hello["d"]["heartbeat_interval"] > 0
            await ws.send_json({"op": 2, "d": {"token": "not-the-token", "intents": 513, "properties": {}}})
            closing = await ws.receive(timeout=WAIT)
            assert closing.type is aiohttp.WSMsgType.CLOSE and closing.data == 4004


async def test_unknown_route_is_a_logged_404(discord_twin: DiscordTwin, caplog: pytest.LogCaptureFixture) -> None:
    headers = {"Authorization": f"Bot {discord_twin.token}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        async with session.get(f"{discord_twin.api_base}/guilds/1/audit-logs") as response:
            assert response.status == 404
            assert response.headers["Content-Type"] == "application/json"
            assert json.loads(await response.text()) == {"message": "404: Not Found", "code": 0}
    assert discord_twin.unknown_routes == ["GET /api/v10/guilds/1/audit-logs"]
    assert "no route for GET /api/v10/guilds/1/audit-logs" in caplog.text


async def test_rate_limit_headers_and_enforced_limit(discord_twin: DiscordTwin, twin_world: World) -> None:
    discord_twin.set_rate_limit(2, 0.5)
    url = f"{discord_twin.api_base}/channels/{twin_world.channel.id}/messages"
    headers = {"Authorization": f"Bot {discord_twin.token}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        statuses = []
        for _ in range(3):
            async with session.post(url, json={"content": "x"}) as response:
                statuses.append(response.status)
                last = response
        assert statuses == [200, 200, 429]
        assert last.headers["X-RateLimit-Limit"] == "2" and last.headers["X-RateLimit-Remaining"] == "0"
        assert float(last.headers["X-RateLimit-Reset-After"]) <= 0.5 and last.headers["X-RateLimit-Bucket"]
        assert last.headers["X-RateLimit-Scope"] == "user" and "Retry-After" in last.headers
