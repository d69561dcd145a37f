"""The one place that points discord.py at another Discord: a REST proxy, the local twin or the playground."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import discord.gateway
import discord.http
import yarl


def point_discord_py_at(api_base: str | None, gateway_url: str | None) -> tuple[str, yarl.URL]:
    """Send REST calls to `api_base` and connect the gateway to `gateway_url`, where given; return the previous pair.

    discord.py keeps both as class attributes, so this applies to every client in the process. It builds
    every REST URL from Route.BASE and, unsharded, connects to DEFAULT_GATEWAY without asking
    /gateway/bot; resumes then use READY's resume_gateway_url, and attachments are downloaded from
    the URLs in their payloads.
    """
    previous = (discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
    if api_base:
        discord.http.Route.BASE = api_base
    if gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
    return previous


@contextlib.contextmanager
def discord_py_pointed_at(api_base: str | None, gateway_url: str | None) -> Iterator[None]:
    """`point_discord_py_at` for the duration of a block."""
    api, gateway = point_discord_py_at(api_base, gateway_url)
    try:
        yield
    finally:
        discord.http.Route.BASE = api
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = gateway
