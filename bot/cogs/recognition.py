"""Recognizing digits: image attachments in watched channels, `/digit`, and the "Recognize digit" menu."""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from datetime import timedelta

import discord
from discord import app_commands
from discord.ext import commands

from bot import embeds
from bot.attachments import is_image, typing_indicator
from bot.checks import NoModelError
from bot.client import DigitBot
from bot.corrections import wrong_view
from bot.embeds import AttachmentResult
from bot.replies import ReplyPlan, plan_for, plan_for_interaction, report_error, send_followup, send_reply
from digits.inference import Prediction

log = logging.getLogger(__name__)

MAX_ATTACHMENTS = 10  # Discord's own limit of embeds (and files) per message
# After a lost session: at most this many messages per channel, from at most this far back, are caught up on.
CATCH_UP_MESSAGES = 100
CATCH_UP_WINDOW = timedelta(minutes=10)
HANDLED_MEMORY = 10_000


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
        # Messages being answered or answered (bounded): a catch-up after a lost session answers each once.
        self._handled: OrderedDict[int, None] = OrderedDict()
        self._last_seen: dict[int, int] = {}  # channel id → newest message id seen in it
        self._ready_before: set[int] = set()  # shards that had their first READY

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self._menu)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self._menu.name, type=self._menu.type)

    # -- the image budget ----------------------------------------------------------------------

    def charge(self, user: discord.abc.User, images: int) -> tuple[int, float]:
        """Take up to `images` from the user's budget: (how many may be read, seconds until the budget refills)."""
        bucket = self.cooldowns.get_bucket(user)
        assert bucket is not None
        allowed = min(images, bucket.get_tokens())
        if allowed:
            bucket.update_rate_limit(tokens=allowed)
        return allowed, bucket.get_retry_after()

    def over_budget(self, images: int, read: int, retry_after: float) -> str:
        settings = self.bot.settings
        return embeds.over_budget(images, read, retry_after, settings.cooldown_rate, settings.cooldown_seconds)

    # -- reading --------------------------------------------------------------------------------

    async def recognize(self, images: list[discord.Attachment]) -> list[AttachmentResult]:
        """Download and classify image attachments; one result each, in order. One bad file costs only its own answer."""
        if images and self.bot.served_version is None:
            raise NoModelError(embeds.NO_MODEL_YET)
        async with self.bot.downloads.fetch_all(images) as fetched:
            readable = [data for data in fetched if isinstance(data, bytes)]
            # One hop to the inference threads for the whole message: a single batched forward pass.
            predictions = iter(await self.bot.inference.predict_batch_async(readable) if readable else [])
            results = []
            for attachment, data in zip(images, fetched):
                outcome = next(predictions) if isinstance(data, bytes) else data
                if isinstance(outcome, Prediction):
                    results.append(AttachmentResult(attachment.filename, prediction=outcome))
                else:
                    results.append(AttachmentResult(attachment.filename, error=embeds.sentence(str(outcome))))
        read = sum(result.prediction is not None for result in results)
        self.bot.metrics.images.labels("read").inc(read)
        self.bot.metrics.images.labels("refused").inc(len(results) - read)
        return results

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or not self.bot.watches(message.channel.id):
            return
        arrived = time.perf_counter()
        self._last_seen[message.channel.id] = max(message.id, self._last_seen.get(message.channel.id, 0))
        images = [a for a in message.attachments if is_image(a)][:MAX_ATTACHMENTS]
        if not images or message.id in self._handled:
            return
        self._remember(message.id)
        plan = plan_for(message.channel)
        if message.guild is None:  # the bot is guild-only (see DigitBot)
            await self._note(message, plan, embeds.SERVERS_ONLY)
            return
        if not plan.speak:  # nothing read, nothing charged: the answer could not be posted
            log.warning("not reading the images of message %d in #%s: missing %s there", message.id, message.channel,
                        plan.describe_missing())
            return
        read, retry_after = self.charge(message.author, len(images))
        if read == 0:
            if message.author.id not in self._told_to_slow_down:
                self._told_to_slow_down.add(message.author.id)
                await self._note(message, plan, self.over_budget(len(images), 0, retry_after))
            return
        self._told_to_slow_down.discard(message.author.id)
        note = self.over_budget(len(images), read, retry_after) if read < len(images) else None
        try:
            async with typing_indicator(message.channel):
                results = await self.recognize(images[:read])
                reply, files = embeds.reading_embeds(results)
                view, answered = wrong_view([r.prediction for r in results])
                sent = await send_reply(message, plan, note, embeds=reply, files=files, view=view)
                if sent is not None:
                    self.bot.metrics.answer_seconds.observe(time.perf_counter() - arrived)
                    self.bot.corrections.remember(sent, answered, message.author.id, message.id)
        except Exception as error:
            await report_error(error, message)

    async def _note(self, message: discord.Message, plan: ReplyPlan, text: str) -> None:
        try:
            await send_reply(message, plan, text)
        except discord.HTTPException as error:
            log.warning("could not reply to message %d: %s", message.id, error)

    def _remember(self, message_id: int) -> None:
        self._handled[message_id] = None
        while len(self._handled) > HANDLED_MEMORY:
            self._handled.popitem(last=False)

    # -- catching up after a lost session -------------------------------------------------------

    @commands.Cog.listener()
    async def on_shard_ready(self, shard_id: int) -> None:
        # A shard's first READY is its start; a later one is a new session after the old one was invalidated,
        # whose events are lost: read what was posted meanwhile in that shard's guilds (no other process reads them).
        if shard_id in self._ready_before:
            await self.catch_up(shard_id)
        self._ready_before.add(shard_id)

    async def catch_up(self, shard_id: int) -> None:
        """Answer the image messages posted in the shard's watched channels that were missed (bounded), each once."""
        since = discord.utils.utcnow() - CATCH_UP_WINDOW
        answered = 0
        for channel in self.bot.get_all_channels():
            if channel.guild.shard_id != shard_id:
                continue
            if not isinstance(channel, discord.TextChannel) or not self.bot.watches(channel.id):
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
            log.info("caught up: answered %d image messages posted while shard %d's session was lost", answered, shard_id)

    # -- slash command and message menu ---------------------------------------------------------

    @app_commands.command(name="digit", description="Read the handwritten digit in an image")
    @app_commands.describe(image="A picture of one handwritten digit")
    async def digit(self, interaction: discord.Interaction[DigitBot], image: discord.Attachment) -> None:
        await self._answer_interaction(interaction, [image], None)

    async def recognize_menu(self, interaction: discord.Interaction[DigitBot], message: discord.Message) -> None:
        await self._answer_interaction(interaction, message.attachments, message)

    async def _answer_interaction(self, interaction: discord.Interaction[DigitBot], attachments: list[discord.Attachment],
                                  original: discord.Message | None) -> None:
        """Answer /digit (no `original`: the picture came with the command) or the menu on `original`."""
        images = [a for a in attachments if is_image(a)][:MAX_ATTACHMENTS]
        if not images:
            await interaction.response.send_message(embeds.NO_IMAGE_THERE, ephemeral=True)
            return
        read, retry_after = self.charge(interaction.user, len(images))
        if read == 0:
            await interaction.response.send_message(self.over_budget(len(images), 0, retry_after), ephemeral=True)
            return
        if self.bot.served_version is None:  # refused before deferring, so the refusal stays private
            raise NoModelError(embeds.NO_MODEL_YET)
        plan = plan_for_interaction(interaction)
        await interaction.response.defer(thinking=True)
        results = await self.recognize(images[:read])
        reply, files = embeds.reading_embeds(results)
        note = self.over_budget(len(images), read, retry_after) if read < len(images) else None
        view, answered = wrong_view([r.prediction for r in results])
        sent = await send_followup(interaction, plan, note, embeds=reply, files=files, view=view)
        author = original.author.id if original else interaction.user.id
        self.bot.corrections.remember(sent, answered, author, original.id if original else None)


async def setup(bot: DigitBot) -> None:
    await bot.add_cog(RecognitionCog(bot))
