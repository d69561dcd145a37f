"""pytest fixtures for suites that test a bot against the twin; a conftest.py imports the ones it uses.

    from discord_twin.fixtures import discord_twin, twin_world  # noqa: F401
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from .scaffold import World, build_world
from .twin import DiscordTwin


@pytest.fixture
async def discord_twin() -> AsyncIterator[DiscordTwin]:
    """A running Discord twin on 127.0.0.1 and a free port, stopped after the test."""
    async with DiscordTwin() as twin:
        yield twin


@pytest.fixture
def twin_world(discord_twin: DiscordTwin) -> World:
    """A guild in the twin with #digits, an admin (alice) and an ordinary member (bob)."""
    return build_world(discord_twin)
