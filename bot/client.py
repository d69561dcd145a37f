"""The Discord client: a `commands.AutoShardedBot` holding the settings, the model store, the inference service, the
downloads and the corrections flow; the cogs (`bot/cogs/`) hold the commands and the image listener.

It runs the shards `BOT_SHARD_IDS` of `BOT_SHARD_COUNT` (default: all of Discord's recommendation), each IDENTIFY
waiting its bucket's turn across processes (`bot/identify.py`); the process holding shard 0 registers the commands
when they changed (`bot/registration.py`); with `BOT_METRICS_PORT` it serves /healthz and /metrics (`bot/metrics.py`).
"""

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
from bot.identify import IdentifyGate
from bot.metrics import Metrics, Probe, ShardState
from bot.registration import register
from bot.replies import DigitContext, report_error
from bot.shards import describe
from digits.community import Corrections
from digits.inference import InferenceService
from digits.reading import ImageLimits
from model_store import ModelStore, StoreError

log = logging.getLogger(__name__)

COGS = ("bot.cogs.recognition", "bot.cogs.info", "bot.cogs.admin", "bot.cogs.corrections")
# The task that serves what the model store's pointer names, following promotions made elsewhere.
FOLLOWER_TASK = "follow the model store"


class DigitBot(commands.AutoShardedBot):
    """Reads handwritten digits; admins retrain and roll back the model."""

    def __init__(self, settings: BotSettings, *, guild_ready_timeout: float = 2.0,
                 registers_commands: bool | None = None) -> None:
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
            shard_count=settings.shard_count,
        )
        if settings.shard_ids is not None:  # as discord.py's shard_ids= would (its typing takes no None)
            self.shard_ids = list(settings.shard_ids)
        self.add_check(guild_only)
        self.settings = settings
        self.store = ModelStore(settings.paths.model_store)
        self.inference = InferenceService(self.store, ImageLimits(settings.max_image_bytes, settings.max_image_pixels),
                                          processes=settings.reading_workers)
        # One process registers the commands: the one holding shard 0 (every process of a bot has the same code).
        self.registers_commands = settings.shard_ids is None or 0 in settings.shard_ids \
            if registers_commands is None else registers_commands
        # The store's locks: every process of the bot, on this machine or others, uses the same store.
        self.identify_gate = IdentifyGate(self.store, settings.identify_interval)
        self.metrics = Metrics(Probe(self._shard_states, self._expected_shards, lambda: self.served_version,
                                     lambda: self.inference.queue_depth))
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

    def _shard_states(self) -> dict[int, ShardState]:
        return {shard_id: ShardState(not info.is_closed(), info.latency) for shard_id, info in self.shards.items()}

    def _expected_shards(self) -> int:
        return len(self.shard_ids) if self.shard_ids is not None else self.shard_count or 0

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        await self.identify_gate.before_identify(shard_id or 0)

    async def on_shard_connect(self, shard_id: int) -> None:
        self.identify_gate.ready(shard_id)

    async def connect(self, *, reconnect: bool = True) -> None:
        if self.settings.metrics_port is not None:
            await self.metrics.serve(self.settings.metrics_port)
        limits = await self.fetch_session_start_limits()
        self.identify_gate.max_concurrency = max(1, limits.max_concurrency)
        await super().connect(reconnect=reconnect)

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
        self._following = asyncio.create_task(self.inference.follow(), name=FOLLOWER_TASK)
        for cog in COGS:
            await self.load_extension(cog)
        if self.registers_commands:
            await register(self.tree)

    async def close(self) -> None:
        await super().close()  # unloads the cogs first, which stops a running retrain
        if self._following is not None:
            self._following.cancel()
        await self.identify_gate.close()
        await self.metrics.close()
        await self.downloads.close()
        await asyncio.to_thread(self.inference.close)
        await asyncio.to_thread(self.store.close)
        if self._corrections is not None:
            await asyncio.to_thread(self._corrections.database.close)

    async def on_ready(self) -> None:
        shards = "" if self.shard_ids is None and self.shard_count == 1 else \
            f" on shards {describe(self.shard_ids or range(self.shard_count or 1))} of {self.shard_count}"
        log.info("logged in as %s in %d servers%s", self.user, len(self.guilds), shards)

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
