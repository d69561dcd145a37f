"""The Discord client: a `commands.Bot` holding the settings, the model store, the inference service, the
downloads and the corrections flow; the cogs (`bot/cogs/`) hold the commands and the image listener."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.attachments import Downloader
from bot.checks import guild_only
from bot.config import BotSettings
from bot.corrections import DYNAMIC_ITEMS, CorrectionsFlow
from bot.replies import DigitContext, report_error
from digits.community import Corrections
from digits.inference import InferenceService
from digits.reading import ImageLimits
from model_store import ModelStore, StoreError

log = logging.getLogger(__name__)

COGS = ("bot.cogs.recognition", "bot.cogs.info", "bot.cogs.admin", "bot.cogs.corrections")


class DigitBot(commands.Bot):
    """Reads handwritten digits; admins retrain and roll back the model."""

    def __init__(self, settings: BotSettings, *, guild_ready_timeout: float = 2.0) -> None:
        # The bot never joins voice, so discord.py's warnings about missing voice libraries are noise.
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
        intents = discord.Intents.default()
        intents.message_content = settings.message_content
        super().__init__(
            command_prefix=commands.when_mentioned_or(settings.prefix),
            intents=intents,
            help_command=commands.DefaultHelpCommand(no_category="Other"),
            allowed_mentions=discord.AllowedMentions.none(),
            guild_ready_timeout=guild_ready_timeout,
            # Guild-only: the slash commands and the menu are registered for servers alone (contexts [0]), and
            # text commands in a DM get "That only works in a server." (the bot serves a server's channels).
            allowed_contexts=app_commands.AppCommandContext(guild=True, dm_channel=False, private_channel=False),
        )
        self.add_check(guild_only)
        self.settings = settings
        self.store = ModelStore(settings.paths.model_store)
        self.inference = InferenceService(self.store, ImageLimits(settings.max_image_bytes, settings.max_image_pixels))
        self.downloads = Downloader(settings.max_image_bytes, settings.download_timeout)
        self.tree.error(self.on_app_command_error)
        self._following: asyncio.Task[None] | None = None
        self._corrections: CorrectionsFlow | None = None

    @property
    def served_version(self) -> int | None:
        """The model version answering now; None while the store has no trained model."""
        return self.inference.served_version

    def watches(self, channel_id: int) -> bool:
        """Whether messages in this channel are read (an empty BOT_CHANNEL_IDS means all)."""
        return not self.settings.channel_ids or channel_id in self.settings.channel_ids

    @property
    def corrections(self) -> CorrectionsFlow:
        """The correction flow of every reply, with its database: open from setup_hook to close."""
        assert self._corrections is not None, "opened in setup_hook"
        return self._corrections

    async def setup_hook(self) -> None:
        settings = self.settings
        database = await asyncio.to_thread(Corrections, settings.database, quorum=settings.correction_quorum)
        await asyncio.to_thread(self.store.connect)  # a database store that cannot be reached stops the start here
        await self.downloads.open()
        self._corrections = CorrectionsFlow(self, database, self.inference, self.downloads, settings)
        self.add_dynamic_items(*DYNAMIC_ITEMS)  # "Wrong?" and its choices work on replies sent before a restart
        try:
            await asyncio.to_thread(self.inference.load)
        except StoreError as error:
            log.warning("%s; until then I answer images and !accuracy with a note (an admin can also `!retrain`)", error)
        # Promotions and rollbacks made outside the bot (the CLI, another bot on the same store) are followed.
        self._following = asyncio.create_task(self.inference.follow(), name="follow the model store")
        for cog in COGS:
            await self.load_extension(cog)
        synced = await self.tree.sync()
        log.info("synced %d application commands", len(synced))

    async def close(self) -> None:
        await super().close()  # unloads the cogs first, which stops a running retrain
        if self._following is not None:
            self._following.cancel()
        await self.downloads.close()
        await asyncio.to_thread(self.inference.close)
        await asyncio.to_thread(self.store.close)
        if self._corrections is not None:
            await asyncio.to_thread(self._corrections.database.close)

    async def on_ready(self) -> None:
        log.info("logged in as %s in %d servers", self.user, len(self.guilds))

    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or not self.watches(message.channel.id):
            return
        ctx = await self.get_context(message)
        if ctx.command is None:
            return
        if not ctx.plan.speak:
            log.warning("not running %s%s from message %d in #%s: missing %s there", ctx.clean_prefix,
                        ctx.command.qualified_name, message.id, message.channel, ctx.plan.describe_missing())
            return
        await self.invoke(ctx)

    async def get_context(self, origin: discord.Message | discord.Interaction, /, *, cls: Any = DigitContext) -> Any:
        return await super().get_context(origin, cls=cls)

    # -- the one error handler -------------------------------------------------------------

    async def on_command_error(self, ctx: commands.Context[DigitBot], error: commands.CommandError) -> None:  # type: ignore[override]
        if isinstance(error, commands.CommandNotFound):
            return  # other bots share the prefix; unknown commands are none of our business
        await report_error(error, ctx)

    async def on_app_command_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        await report_error(error, interaction)
