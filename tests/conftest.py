"""Shared fixtures: the twin's (`discord_twin`, `twin_world`) and the bot's (a trained store, the real bot started against the twin)."""

from discord_twin.fixtures import discord_twin, twin_world  # noqa: F401
from tests.bot_fixtures import start_bot, store, test_digits, trained_store  # noqa: F401
