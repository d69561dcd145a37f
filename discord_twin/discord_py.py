"""Pointing an unmodified discord.py at the twin (or any Discord-compatible endpoint)."""

from __future__ import annotations

import contextlib
from typing import Iterator

import discord.gateway
import discord.http
import yarl


def point_discord_py_at(api_base: str, gateway_url: str) -> tuple[str, yarl.URL]:
    """Set discord.py's two seams; returns the previous values so they can be restored.

    discord.py builds every REST URL from Route.BASE and, unsharded, connects to
    DEFAULT_GATEWAY without asking /gateway/bot. Resumes then use READY's resume_gateway_url,
    and attachments are downloaded from the URLs in their payloads.
    """
    previous = (discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
    discord.http.Route.BASE = api_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
    return previous


@contextlib.contextmanager
def discord_py_pointed_at(api_base: str, gateway_url: str) -> Iterator[None]:
    """point_discord_py_at for the duration of a block."""
    api, gateway = point_discord_py_at(api_base, gateway_url)
    try:
        yield
    finally:
        discord.http.Route.BASE = api
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = gateway
