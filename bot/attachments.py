"""Attachments: which ones are pictures, their downloads (bounded in size, time and bytes in flight), "is typing…"."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import PurePath

import aiohttp
import discord

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".tif", ".tiff"}
# Downloads: read in chunks, and at most this many bytes held across all messages (downloaded and not
# yet read), so a burst of large photos queues instead of filling the memory.
CHUNK = 64 * 1024
BYTES_IN_FLIGHT = 48 * 1024 * 1024
TYPING_REFRESH = 8.0


def is_image(attachment: discord.Attachment) -> bool:
    """By content type, or by file name when Discord gave none."""
    if attachment.content_type:
        return attachment.content_type.startswith("image/")
    return PurePath(attachment.filename).suffix.lower() in IMAGE_SUFFIXES


@contextlib.asynccontextmanager
async def typing_indicator(channel: discord.abc.Messageable) -> AsyncIterator[None]:
    """Discord's "is typing…" while the block runs. It is cosmetic: its failures are logged, never the block's."""

    async def keep_typing() -> None:
        while True:
            try:
                await channel.typing()  # one POST /typing; Discord shows it for about 10 s
            except discord.HTTPException as error:
                log.info("no typing indicator in %s: %s", channel, error)
                return
            await asyncio.sleep(TYPING_REFRESH)

    task = asyncio.create_task(keep_typing())
    try:
        yield
    finally:
        task.cancel()


class Downloader:
    """Attachment downloads: streamed and cut off at the byte limit, timed out, and bounded in bytes in flight."""

    def __init__(self, max_bytes: int, timeout: float) -> None:
        self.max_bytes = max_bytes
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None
        self._in_flight = 0
        self._capacity = max(BYTES_IN_FLIGHT, max_bytes)
        self._released = asyncio.Condition()

    async def open(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    @contextlib.asynccontextmanager
    async def budget(self, size: int) -> AsyncIterator[None]:
        """Hold `size` bytes of the budget for the block; waits while the bot already holds too much (back-pressure)."""
        size = min(size, self._capacity)
        async with self._released:
            await self._released.wait_for(lambda: self._in_flight + size <= self._capacity)
            self._in_flight += size
        try:
            yield
        finally:
            async with self._released:
                self._in_flight -= size
                self._released.notify_all()

    async def fetch(self, attachment: discord.Attachment) -> bytes | str:
        """The attachment's bytes, or why they could not be had (too large, a failed or slow download)."""
        limit = self.max_bytes
        too_large = f"The file is over the limit of {limit / 1e6:.1f} MB."
        if attachment.size > limit:
            return f"The file is {attachment.size / 1e6:.1f} MB; the limit is {limit / 1e6:.1f} MB."
        assert self._session is not None, "Downloader.open() first"
        try:
            async with self._session.get(attachment.url) as response:
                if response.status != 200:
                    raise aiohttp.ClientResponseError(response.request_info, (), status=response.status)
                body = bytearray()
                # The size an attachment claims is only a claim: stop reading once the body passes the limit.
                async for chunk in response.content.iter_chunked(CHUNK):
                    body += chunk
                    if len(body) > limit:
                        log.warning("attachment %s is larger than it claimed (%d bytes); not read further", attachment.url, attachment.size)
                        return too_large
                return bytes(body)
        except TimeoutError:
            log.warning("downloading %s took longer than %g s", attachment.url, self.timeout)
            return "Discord took too long to send me that file; please try again."
        except aiohttp.ClientError as error:
            log.warning("could not download %s: %s", attachment.url, error)
            return "I couldn't download it from Discord; please try again."
