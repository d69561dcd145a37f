"""Fixtures of the twin's own tests: a running twin, a ready-made world, discord.py clients logged in to it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import discord
import pytest

from discord_twin import DiscordTwin, World
from discord_twin.fixtures import discord_twin, twin_world  # noqa: F401
from discord_twin.tests.clients import WAIT, StartClient, pointed_at


@pytest.fixture
async def start_client(discord_twin: DiscordTwin, twin_world: World) -> AsyncIterator[StartClient]:
    """Log a client in to the twin, connect it and wait for on_ready; closed after the test."""
    running: list[tuple[discord.Client, asyncio.Task[None]]] = []

    async def start(client: discord.Client) -> discord.Client:
        await client.login(discord_twin.token)
        running.append((client, asyncio.create_task(client.connect())))
        await asyncio.wait_for(client.wait_until_ready(), WAIT)
        return client

    with pointed_at(discord_twin.api_base, discord_twin.gateway_url):
        yield start
        for client, task in running:
            await client.close()
            await asyncio.wait_for(task, WAIT)
