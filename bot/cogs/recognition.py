"""Recognizing digits: image attachments in watched channels, `/digit`, and the "Recognize digit" menu."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import PurePath

import aiohttp
import discord
from discord import app_commands
from discord.ext import commands

from bot import embeds
from bot.answers import Answered, AnswerRecord, answered
from bot.client import DigitBot, NoModelError
from bot.components import wrong_view
from bot.embeds import AttachmentResult
from digits.inference import Prediction

log = logging.getLogger(__name__)

MAX_ATTACHMENTS = 10  # Discord's own limit of embeds (and files) per message
# Downloads: read in chunks, and at most this many bytes held across all messages (downloaded and not
# yet read), so a burst of large photos queues instead of filling the memory.
CHUNK = 64 * 1024
BYTES_IN_FLIGHT = 48 * 1024 * 1024
TYPING_REFRESH = 8.0
# After a lost session: at most this many messages per channel, from at most this far back, are caught up on.
CATCH_UP_MESSAGES = 100
CATCH_UP_WINDOW = timedelta(minutes=10)
HANDLED_MEMORY = 10_000
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".tif", ".tiff"}


def is_image(attachment: discord.Attachment) -> bool:
    """By content type, or by file name when Discord gave none."""
    if attachment.content_type:
        return attachment.content_type.startswith("image/")
    return PurePath(attachment.filename).suffix.lower() in IMAGE_SUFFIXES


def sentence(text: str) -> str:
    """`the file is empty` → `The file is empty.`"""
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")


class RecognitionCog(commands.Cog, name="Recognition"):
    """Digits read from images."""

    def __init__(self, bot: DigitBot) -> None:
        self.bot = bot
        settings = bot.settings
        # One budget of images per user across messages, /digit and the menu, so no entry point bypasses it.
        self.cooldowns: commands.CooldownMapping[discord.abc.User] = commands.CooldownMapping.from_cooldown(
            settings.cooldown_rate, settings.cooldown_seconds, lambda user: user.id)
        self._told_to_slow_down: set[int] = set()
        self._menu = app_commands.ContextMenu(name="Recognize digit", callback=self.recognize_menu)
        self._downloads = Downloader(settings.max_image_bytes, settings.download_timeout)
        # Messages being answered or answered (bounded): a catch-up after a lost session answers each once.
        self._handled: OrderedDict[int, None] = OrderedDict()
        self._last_seen: dict[int, int] = {}  # channel id → newest message id seen in it
        self._ready_before = False

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self._menu)
        await self._downloads.open()

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self._menu.name, type=self._menu.type)
        await self._downloads.close()

    # -- the image budget ----------------------------------------------------------------------

    def charge(self, user: discord.abc.User, images: int) -> tuple[int, float]:
        """Take up to `images` from the user's budget: (how many may be read, seconds until the budget refills)."""
        bucket = self.cooldowns.get_bucket(user)
        assert bucket is not None
        allowed = min(images, bucket.get_tokens())
        if allowed:
            bucket.update_rate_limit(tokens=allowed)
        return allowed, bucket.get_retry_after()

    def over_budget(self, user: discord.abc.User, images: int, read: int, retry_after: float) -> str:
        settings = self.bot.settings
        limit = f"{settings.cooldown_rate} images per {settings.cooldown_seconds:g} s"
        if read == 0:
            return f"Slow down a little: you can have {limit} read; try again in {max(retry_after, 1):.0f} s."
        return (f"Slow down a little: I read {read} of your {images} images; the other {images - read} are over "
                f"your limit of {limit} (try again in {max(retry_after, 1):.0f} s).")

    # -- reading --------------------------------------------------------------------------------

    async def recognize(self, images: list[discord.Attachment]) -> list[AttachmentResult]:
        """Download and classify image attachments; one result each, in order. One bad file costs only its own answer."""
        if images and self.bot.served_version is None:
            raise NoModelError("I have no trained model yet: an admin can train one with `!retrain`.")
        async with self._downloads.budget(sum(min(a.size, self.bot.settings.max_image_bytes) for a in images)):
            downloads = await asyncio.gather(*(self._downloads.fetch(a) for a in images))
            readable = [data for data in downloads if isinstance(data, bytes)]
            # One hop to the inference threads for the whole message: a single batched forward pass.
            predictions = iter(await self.bot.inference.predict_batch_async(readable) if readable else [])
            results = []
            for attachment, data in zip(images, downloads):
                outcome = next(predictions) if isinstance(data, bytes) else data
                if isinstance(outcome, Prediction):
                    results.append(AttachmentResult(attachment.filename, prediction=outcome))
                else:
                    results.append(AttachmentResult(attachment.filename, error=sentence(str(outcome))))
        return results

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or not self.bot.settings.watches(message.channel.id):
            return
        self._last_seen[message.channel.id] = max(message.id, self._last_seen.get(message.channel.id, 0))
        images = [a for a in message.attachments if is_image(a)][:MAX_ATTACHMENTS]
        if not images or message.id in self._handled:
            return
        self._remember(message.id)
        if message.guild is None:  # the bot is guild-only (see DigitBot)
            await self._reply(message, "I read digits in servers only: post the picture in a channel I'm in.")
            return
        plan = self.bot.plan_for(message.channel)
        if not plan.speak:  # nothing read, nothing charged: the answer could not be posted
            log.warning("not reading the images of message %d in #%s: missing %s there", message.id, message.channel,
                        plan.describe_missing())
            return
        read, retry_after = self.charge(message.author, len(images))
        if read == 0:
            if message.author.id not in self._told_to_slow_down:
                self._told_to_slow_down.add(message.author.id)
                await self._reply(message, self.over_budget(message.author, len(images), 0, retry_after))
            return
        self._told_to_slow_down.discard(message.author.id)
        note = self.over_budget(message.author, len(images), read, retry_after) if read < len(images) else None
        try:
            async with typing_indicator(message.channel):
                results = await self.recognize(images[:read])
                reply, files = embeds.answer(results)
                read_out = answered([r.prediction for r in results])
                sent = await self.bot.answer(message, note, embeds=reply, files=files, view=wrong_view(read_out))
                if sent is not None:
                    self.remember_answer(sent, read_out, message.author.id, message.id)
        except Exception as error:
            await self.bot.reply_with_error(error, message)

    def remember_answer(self, sent: discord.Message, read_out: Answered | None, author_id: int,
                        original_id: int | None) -> None:
        """Keep the inputs of an answer for its "Wrong?" button (bounded; see bot/answers.py)."""
        if read_out is not None:
            guild_id = sent.guild.id if sent.guild else None
            self.bot.recent_answers.remember(AnswerRecord(guild_id, sent.channel.id, sent.id, author_id, original_id,
                                                          read_out.version, read_out.numbers, read_out.inputs))

    async def _reply(self, message: discord.Message, text: str) -> None:
        try:
            await self.bot.answer(message, text)
        except discord.HTTPException as error:
            log.warning("could not reply to message %d: %s", message.id, error)

    def _remember(self, message_id: int) -> None:
        self._handled[message_id] = None
        while len(self._handled) > HANDLED_MEMORY:
            self._handled.popitem(last=False)

    # -- catching up after a lost session -------------------------------------------------------

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        # The first READY is the start; a later one is a new session after the old one was invalidated,
        # whose events are lost: read what was posted meanwhile.
        if self._ready_before:
            await self.catch_up()
        self._ready_before = True

    async def catch_up(self) -> None:
        """Answer the image messages posted in the watched channels that were missed (bounded), each once."""
        since = discord.utils.utcnow() - CATCH_UP_WINDOW
        answered = 0
        for channel in self.bot.get_all_channels():
            if not isinstance(channel, discord.TextChannel) or not self.bot.settings.watches(channel.id):
                continue
            last = self._last_seen.get(channel.id)
            after = discord.Object(last) if last is not None and discord.utils.snowflake_time(last) > since else since
            try:
                missed = [m async for m in channel.history(limit=CATCH_UP_MESSAGES, after=after)]
            except discord.HTTPException as error:
                log.warning("could not read #%s to catch up: %s", channel, error)
                continue
            for message in missed:
                if message.id not in self._handled and not message.author.bot and any(is_image(a) for a in message.attachments):
                    answered += 1
                    await self.on_message(message)
        if answered:
            log.info("caught up: answered %d image messages posted while the session was lost", answered)

    # -- slash command and message menu ---------------------------------------------------------

    @app_commands.command(name="digit", description="Read the handwritten digit in an image")
    @app_commands.describe(image="A picture of one handwritten digit")
    async def digit(self, interaction: discord.Interaction[DigitBot], image: discord.Attachment) -> None:
        await self._answer(interaction, [image], None)

    async def recognize_menu(self, interaction: discord.Interaction[DigitBot], message: discord.Message) -> None:
        await self._answer(interaction, message.attachments, message)

    async def _answer(self, interaction: discord.Interaction[DigitBot], attachments: list[discord.Attachment],
                      original: discord.Message | None) -> None:
        """Answer /digit (no `original`: the picture came with the command) or the menu on `original`."""
        images = [a for a in attachments if is_image(a)][:MAX_ATTACHMENTS]
        if not images:
            await interaction.response.send_message("There is no image to read there.", ephemeral=True)
            return
        read, retry_after = self.charge(interaction.user, len(images))
        if read == 0:
            await interaction.response.send_message(self.over_budget(interaction.user, len(images), 0, retry_after),
                                                    ephemeral=True)
            return
        if self.bot.served_version is None:  # refused before deferring, so the refusal stays private
            raise NoModelError("I have no trained model yet: an admin can train one with `!retrain`.")
        await interaction.response.defer(thinking=True)
        results = await self.recognize(images[:read])
        reply, files = embeds.answer(results)
        note = self.over_budget(interaction.user, len(images), read, retry_after) if read < len(images) else None
        read_out = answered([r.prediction for r in results])
        sent = await interaction.followup.send(note or discord.utils.MISSING, embeds=reply, files=files, wait=True,
                                               view=wrong_view(read_out) or discord.utils.MISSING)
        author = original.author.id if original else interaction.user.id
        self.remember_answer(sent, read_out, author, original.id if original else None)


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


async def setup(bot: DigitBot) -> None:
    await bot.add_cog(RecognitionCog(bot))
