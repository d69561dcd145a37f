"""Plain, unmodified discord.py clients (not the bot) that the twin's own tests drive it with."""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import Awaitable, Callable, Iterator

import discord
import discord.gateway
import discord.http
import yarl
from PIL import Image

WAIT = 5.0  # Seconds any single wait may take; everything here normally completes in milliseconds.

StartClient = Callable[[discord.Client], Awaitable[discord.Client]]


@contextlib.contextmanager
def pointed_at(api_base: str, gateway_url: str) -> Iterator[None]:
    """discord.py's REST base (`Route.BASE`) and gateway (`DiscordWebSocket.DEFAULT_GATEWAY`) at the twin, for a block.

    Both are class attributes: for the block they apply to every client in the process.
    """
    previous = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    discord.http.Route.BASE = api_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
    try:
        yield
    finally:
        discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = previous


def digit_png(size: int = 28) -> bytes:
    image = Image.new("L", (size, size), 0)
    for y in range(4, size - 4):
        image.putpixel((size // 2, y), 255)  # A "1".
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def make_client(*, message_content: bool = True) -> discord.Client:
    intents = discord.Intents.default()
    intents.message_content = message_content
    # A short guild_ready_timeout: on_ready fires 50 ms after the last GUILD_CREATE instead of 2 s.
    return discord.Client(intents=intents, guild_ready_timeout=0.05)


async def no_identify_delay(shard_id: int | None, *, initial: bool = False) -> None:
    return None


async def eventually(condition: Callable[[], object], what: str, timeout: float = WAIT) -> None:
    """Wait until `condition()` holds on the clients' side (which the twin's own waits cannot see)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"no {what} within {timeout}s")
        await asyncio.sleep(0.01)


async def received(queue: asyncio.Queue[discord.Message], count: int) -> list[discord.Message]:
    return [await asyncio.wait_for(queue.get(), WAIT) for _ in range(count)]


def record_messages(client: discord.Client) -> asyncio.Queue[discord.Message]:
    """Queue every message the client sees from someone else."""
    queue: asyncio.Queue[discord.Message] = asyncio.Queue()

    @client.event
    async def on_message(message: discord.Message) -> None:
        if message.author != client.user:
            queue.put_nowait(message)

    return queue
