"""Recognizing digits: image attachments in watched channels, `/digit`, and the "Recognize digit" menu."""

from __future__ import annotations

import asyncio
import logging
from pathlib import PurePath

import discord
from discord import app_commands
from discord.ext import commands

from bot import embeds
from bot.client import DigitBot, NoModelError
from bot.embeds import AttachmentResult
from digits.inference import Prediction

log = logging.getLogger(__name__)

MAX_ATTACHMENTS = 10  # Discord's own limit of embeds (and files) per message
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


async def _within_cooldown(interaction: discord.Interaction[DigitBot]) -> bool:
    cog = interaction.client.get_cog("Recognition")
    assert isinstance(cog, RecognitionCog)
    retry_after = cog.cooldowns.update_rate_limit(interaction.user)
    if retry_after is not None:
        raise cog.cooldown_error(interaction.user, retry_after)
    return True


class RecognitionCog(commands.Cog, name="Recognition"):
    """Digits read from images."""

    def __init__(self, bot: DigitBot) -> None:
        self.bot = bot
        # One budget per user across messages, /digit and the menu, so no entry point bypasses it.
        self.cooldowns: commands.CooldownMapping[discord.abc.User] = commands.CooldownMapping.from_cooldown(
            bot.settings.cooldown_rate, bot.settings.cooldown_seconds, lambda user: user.id)
        self._told_to_slow_down: set[int] = set()
        self._menu = app_commands.ContextMenu(name="Recognize digit", callback=self.recognize_menu)

    def cooldown_error(self, user: discord.abc.User, retry_after: float) -> app_commands.CommandOnCooldown:
        bucket = self.cooldowns.get_bucket(user)
        assert bucket is not None
        return app_commands.CommandOnCooldown(bucket, retry_after)

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self._menu)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self._menu.name, type=self._menu.type)

    async def recognize(self, attachments: list[discord.Attachment]) -> list[AttachmentResult]:
        """Download and classify up to ten image attachments (others are skipped); one result each, in order."""
        images = [a for a in attachments if is_image(a)][:MAX_ATTACHMENTS]
        if images and self.bot.served_version is None:
            raise NoModelError("I have no trained model yet: an admin can train one with `!retrain`.")
        downloads = await asyncio.gather(*(self._download(a) for a in images))
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

    async def _download(self, attachment: discord.Attachment) -> bytes | str:
        """The attachment's bytes, or why they could not be had."""
        limit = self.bot.settings.max_image_bytes
        if attachment.size > limit:
            return f"The file is {attachment.size / 1e6:.1f} MB; the limit is {limit / 1e6:.1f} MB."
        try:
            return await attachment.read()
        except discord.HTTPException as error:
            log.warning("could not download %s: %s", attachment.url, error)
            return "I couldn't download it from Discord; please try again."

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or not self.bot.settings.watches(message.channel.id):
            return
        if not any(is_image(a) for a in message.attachments):
            return
        retry_after = self.cooldowns.update_rate_limit(message.author)
        if retry_after is not None:
            if message.author.id not in self._told_to_slow_down:
                self._told_to_slow_down.add(message.author.id)
                await self.bot.reply_with_error(self.cooldown_error(message.author, retry_after), message)
            return
        self._told_to_slow_down.discard(message.author.id)
        try:
            async with message.channel.typing():
                reply, files = embeds.answer(await self.recognize(message.attachments))
                await message.reply(embeds=reply, files=files)
        except Exception as error:
            await self.bot.reply_with_error(error, message)

    @app_commands.command(name="digit", description="Read the handwritten digit in an image")
    @app_commands.describe(image="A picture of one handwritten digit")
    @app_commands.check(_within_cooldown)
    async def digit(self, interaction: discord.Interaction[DigitBot], image: discord.Attachment) -> None:
        await self._answer(interaction, [image])

    @app_commands.check(_within_cooldown)
    async def recognize_menu(self, interaction: discord.Interaction[DigitBot], message: discord.Message) -> None:
        await self._answer(interaction, message.attachments)

    async def _answer(self, interaction: discord.Interaction[DigitBot], attachments: list[discord.Attachment]) -> None:
        if not any(is_image(a) for a in attachments):
            await interaction.response.send_message("There is no image to read there.", ephemeral=True)
            return
        await interaction.response.defer(thinking=True)
        reply, files = embeds.answer(await self.recognize(attachments))
        await interaction.followup.send(embeds=reply, files=files)


async def setup(bot: DigitBot) -> None:
    await bot.add_cog(RecognitionCog(bot))
