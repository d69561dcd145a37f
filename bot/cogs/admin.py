"""Admin commands: `!retrain` with live progress and hot swap, `!retrain cancel`, `!rollback`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Optional, get_type_hints

import discord
from discord.ext import commands

from bot import embeds
from bot.checks import admin_only
from bot.client import DigitBot
from bot.replies import plan_for
from digits.options import TrainingOptions, option_infos
from digits.retraining import RetrainJob
from model_store import StoreError

log = logging.getLogger(__name__)

# Discord allows about five edits per five seconds on a message; one a second leaves room for the rest.
EDIT_INTERVAL = 1.0


def _retrain_flags() -> type[commands.FlagConverter]:
    """`!retrain epochs=3 layers=128,64` and `/retrain start`'s options: one flag per training option, unset by default."""
    hints = get_type_hints(TrainingOptions)
    namespace: dict[str, object] = {"__module__": __name__, "__annotations__": {}}
    for name, info in option_infos().items():
        kind = hints[name] if hints[name] in (int, float) else str  # numbers get Discord's number inputs
        namespace["__annotations__"][name] = Optional[kind]  # type: ignore[index]
        namespace[name] = commands.flag(default=None, aliases=list(info.aliases), description=info.help)
    return type("RetrainFlags", (commands.FlagConverter,), namespace, delimiter="=", prefix="", case_insensitive=True)


RetrainFlags = _retrain_flags()


def to_options(flags: commands.FlagConverter) -> TrainingOptions:
    """The flags that were given, validated with train.py's limits (OptionError otherwise)."""
    return TrainingOptions.from_text({name: str(value) for name, value in flags if value is not None})


class AdminCog(commands.Cog, name="Admin"):
    """Retraining and rollback, for the bot's admins."""

    def __init__(self, bot: DigitBot) -> None:
        self.bot = bot
        self.job: RetrainJob | None = None
        self._supervisor: asyncio.Task[None] | None = None

    async def cog_unload(self) -> None:
        # Shutdown: a running retrain is stopped, and its status message says so.
        if self.job is not None:
            await self.job.cancel()
        if self._supervisor is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor

    @commands.hybrid_group(name="retrain", fallback="start", invoke_without_command=True, ignore_extra=False)  # type: ignore[arg-type]  # see info.py
    @admin_only()
    async def retrain(self, ctx: commands.Context[DigitBot], *, flags: RetrainFlags) -> None:  # type: ignore[valid-type]
        """Train a new model (admins); it is served if its accuracy clears the floor."""
        if self.job is not None:
            await ctx.reply(embeds.retrain_running(self.job.requested_by, self.job.progress, ctx.clean_prefix))
            return
        # One trainer at a time across every process on the store (train.py holds the store's trainer lock).
        if (elsewhere := await asyncio.to_thread(self.bot.store.trainer)) is not None:
            await ctx.reply(embeds.retrain_elsewhere(elsewhere.describe()))
            return
        settings = self.bot.settings
        job = RetrainJob(to_options(flags), self.bot.inference, requested_by=ctx.author.display_name,
                         floor_points=settings.accuracy_floor_points, train_limit=settings.retrain_train_limit,
                         mnist_dir=settings.paths.mnist_dir, database=settings.database)
        self.job = job
        try:
            reply = await ctx.reply(embed=self._progress(job))
        except BaseException:
            self.job = None
            raise
        # Edited as a channel message, with the bot's token: a slash command's own token expires after
        # 15 minutes, and a long retrain outlives it.
        status = reply.channel.get_partial_message(reply.id)  # type: ignore[union-attr]  # a guild text channel
        self._supervisor = asyncio.create_task(self._supervise(job, status), name="retrain")

    @retrain.command(name="cancel")  # type: ignore[arg-type]  # see info.py
    @admin_only()
    async def retrain_cancel(self, ctx: commands.Context[DigitBot]) -> None:
        """Stop the running retrain (admins); the served model stays."""
        job = self.job
        if job is None:
            # Decided before deferring: after a public deferral Discord would show this to everyone.
            await ctx.reply(embeds.NO_RETRAIN_RUNNING, ephemeral=True)
            return
        await ctx.defer()  # stopping the trainer can outlast the 3 s Discord gives an interaction
        if not await job.cancel():
            await ctx.reply(embeds.NO_RETRAIN_RUNNING)
            return
        if self._supervisor is not None:
            await self._supervisor  # the status message says "cancelled" and a new retrain may start
        await ctx.reply(embeds.retrain_cancelled(job.requested_by))

    @commands.hybrid_command(name="rollback")  # type: ignore[arg-type]  # see info.py
    @admin_only()
    async def rollback(self, ctx: commands.Context[DigitBot]) -> None:
        """Serve the previously served model version again (admins)."""
        if not await asyncio.to_thread(self.bot.store.has_previous):
            # Refused before deferring, so that the refusal stays private (see client.reply_with_error).
            raise StoreError(embeds.NOTHING_TO_ROLL_BACK)
        await ctx.defer()  # loading a version can outlast the 3 s Discord gives an interaction
        before = self.bot.served_version
        version = await asyncio.to_thread(self.bot.store.rollback)
        if (await self.bot.inference.reload_async()).version != version:
            await ctx.reply(embeds.rollback_not_loaded(version, before))
            return
        await ctx.reply(embeds.rolled_back(before, version, self.bot.inference.card.test_accuracy))

    @staticmethod
    def _progress(job: RetrainJob) -> discord.Embed:
        return embeds.retrain_progress(job.requested_by, job.options.describe(), job.progress)

    async def _supervise(self, job: RetrainJob, status: discord.PartialMessage) -> None:
        """Edit the status message as progress arrives (at most once per EDIT_INTERVAL), then conclude."""
        loop = asyncio.get_running_loop()
        run = asyncio.create_task(job.run())
        last_edit = loop.time()
        try:
            while not run.done():
                progressed = asyncio.create_task(job.progressed.wait())
                await asyncio.wait({run, progressed}, return_when=asyncio.FIRST_COMPLETED)
                progressed.cancel()
                await asyncio.wait({run}, timeout=max(0.0, last_edit + EDIT_INTERVAL - loop.time()))
                if run.done():
                    break
                job.progressed.clear()
                await self._edit(status, self._progress(job))
                last_edit = loop.time()
            try:
                outcome = embeds.retrain_outcome(run.result())
            except Exception:
                log.exception("retrain by %s: concluding failed", job.requested_by)
                outcome = embeds.retrain_crashed()
            await self._edit(status, outcome)
        finally:
            self.job = None

    async def _edit(self, status: discord.PartialMessage, embed: discord.Embed) -> None:
        try:
            if plan_for(status.channel).embeds:
                await status.edit(embed=embed)
            else:  # Embed Links taken away meanwhile: Discord would drop the embed, so the news goes in as text
                await status.edit(content=embeds.as_text(embed), embed=None)
        except discord.HTTPException as error:
            # A lost status edit must not stop the training; the next edit shows the news.
            log.warning("could not edit the retrain status message: %s", error)


async def setup(bot: DigitBot) -> None:
    await bot.add_cog(AdminCog(bot))
