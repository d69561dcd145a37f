"""The one place that points discord.py at another Discord API base: a REST proxy, or the local twin in tests.

discord.py builds every REST URL from `Route.BASE` and, unsharded, connects to
`DiscordWebSocket.DEFAULT_GATEWAY` without asking /gateway/bot. Resumes then use READY's
resume_gateway_url, and attachments are downloaded from the URLs in their payloads, so these two
class attributes are all there is to point. Being class attributes, they apply to every client in
the process.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import discord.gateway
import discord.http
import yarl


def point_discord_py_at(api_base: str | None, gateway_url: str | None) -> tuple[str, str]:
    """Send REST calls to `api_base` and connect the gateway to `gateway_url`; None (or "") keeps the current one.

    Returns the previous REST base and gateway URL; passing them back restores them.
    """
    previous = (discord.http.Route.BASE, str(discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY))
    if api_base:
        discord.http.Route.BASE = api_base
    if gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
    return previous


@contextlib.contextmanager
def discord_py_pointed_at(api_base: str | None, gateway_url: str | None) -> Iterator[None]:
    """point_discord_py_at for the duration of a block; afterwards discord.py points where it did before it."""
    previous = point_discord_py_at(api_base, gateway_url)
    try:
        yield
    finally:
        point_discord_py_at(*previous)
