"""Attachments: which ones are pictures, their downloads (bounded in size, time and bytes in flight), "is typing…"."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from pathlib import PurePath

import aiohttp
import discord

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".tif", ".tiff"}
# Downloads: read in chunks, and at most this many bytes held across all messages (downloaded and not
# yet read), so a burst of large photos queues instead of filling the memory.
CHUNK = 64 * 1024
BYTES_IN_FLIGHT = 48 * 1024 * 1024
LARGER_THAN_CLAIMED = "Discord sent me more than the file's size; please send it again."
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
    """Attachment downloads: streamed, timed out, and bounded in bytes in flight across all messages.

    An attachment's size is charged to the budget before it is downloaded, and no more than that is read: a body
    longer than its attachment claims (or than the limit) is cut off and refused, so the budget always covers
    what downloads hold. Once they are read, the budget holds what they actually hold until the block ends.
    """

    def __init__(self, max_bytes: int, timeout: float) -> None:
        self.max_bytes = max_bytes
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None
        self._in_flight = 0
        self._released = asyncio.Condition()

    async def open(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    @contextlib.asynccontextmanager
    async def fetch_all(self, attachments: Sequence[discord.Attachment]) -> AsyncIterator[list[bytes | str]]:
        """Each attachment's bytes, or why they could not be had (too large, a failed or slow download), held in
        the budget until the block ends. Waits while downloads already hold too much (back-pressure); one message
        larger than the whole budget waits until it is alone."""
        claims = [attachment.size if 0 <= attachment.size <= self.max_bytes else 0 for attachment in attachments]
        await self._take(sum(claims))
        held = sum(claims)
        try:
            fetched = await asyncio.gather(*(self._fetch(a, claim) for a, claim in zip(attachments, claims)))
            read = sum(len(data) for data in fetched if isinstance(data, bytes))
            await self._give_back(held - read)  # what was claimed but never arrived (short or refused bodies)
            held = read
            yield fetched
        finally:
            await self._give_back(held)

    async def _take(self, size: int) -> None:
        async with self._released:
            await self._released.wait_for(lambda: self._in_flight == 0 or self._in_flight + size <= BYTES_IN_FLIGHT)
            self._in_flight += size

    async def _give_back(self, size: int) -> None:
        async with self._released:
            self._in_flight -= size
            self._released.notify_all()

    async def _fetch(self, attachment: discord.Attachment, claim: int) -> bytes | str:
        """The attachment's bytes, at most `claim` of them (its size, charged to the budget), or why not."""
        limit = self.max_bytes
        if attachment.size > limit:
            return f"The file is {attachment.size / 1e6:.1f} MB; the limit is {limit / 1e6:.1f} MB."
        assert self._session is not None, "Downloader.open() first"
        try:
            async with self._session.get(attachment.url) as response:
                if response.status != 200:
                    raise aiohttp.ClientResponseError(response.request_info, (), status=response.status)
                body = bytearray()
                # Read one byte past the claim at most: enough to know the body is longer than it said.
                while chunk := await response.content.read(min(CHUNK, claim + 1 - len(body))):
                    body += chunk
                    if len(body) > claim:
                        log.warning("attachment %s is larger than the %d bytes it claimed; not read further",
                                    attachment.url, attachment.size)
                        return LARGER_THAN_CLAIMED
                return bytes(body)
        except TimeoutError:
            log.warning("downloading %s took longer than %g s", attachment.url, self.timeout)
            return "Discord took too long to send me that file; please try again."
        except aiohttp.ClientError as error:
            log.warning("could not download %s: %s", attachment.url, error)
            return "I couldn't download it from Discord; please try again."
