"""Shared fixtures."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from discord_twin import DiscordTwin, World, build_world


@pytest.fixture
async def discord_twin() -> AsyncIterator[DiscordTwin]:
    """A running Discord twin on 127.0.0.1 and a free port, stopped after the test."""
    async with DiscordTwin() as twin:
        yield twin


@pytest.fixture
def twin_world(discord_twin: DiscordTwin) -> World:
    """A guild in the twin with #digits, an admin (alice) and an ordinary member (bob)."""
    return build_world(discord_twin)

# The bot's end-to-end fixtures (trained store, the real bot against the twin), defined once for the session.
from tests.bot_fixtures import start_bot, store, test_digits, trained_store  # noqa: E402, F401
