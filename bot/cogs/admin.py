"""Admin commands: `!retrain` with live progress and hot swap, `!retrain cancel`, `!rollback`."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import discord
from discord.ext import commands

from bot.client import DigitBot, NotAdminError
from bot.retrain import Progress, RetrainCancelled, RetrainError, RetrainJob, promotion_verdict
from model_store import StoreError
from model_store.options import ACTIVATIONS, TrainingOptions, parse_layers

log = logging.getLogger(__name__)

# Discord allows about five edits per five seconds on a message; one a second leaves room for the rest.
EDIT_INTERVAL = 1.0
BAR_WIDTH = 20
DEFAULTS = TrainingOptions()


def admin_only() -> commands.Check[commands.Context[DigitBot]]:
    """Configured admin users or roles, or members with the Administrator permission."""

    async def predicate(ctx: commands.Context[DigitBot]) -> bool:
        if not ctx.bot.is_admin(ctx.author):
            raise NotAdminError()
        return True

    return commands.check(predicate)


class RetrainFlags(commands.FlagConverter, delimiter="=", prefix="", case_insensitive=True):
    """`!retrain epochs=3 batch_size=64 learning_rate=0.01 layers=128,64 activation=tanh dropout=0.2`."""

    epochs: int = commands.flag(default=DEFAULTS.epochs, description="Passes over the training data")
    batch_size: int = commands.flag(default=DEFAULTS.batch_size, aliases=["batch"], description="Images per update")
    learning_rate: float = commands.flag(default=DEFAULTS.learning_rate, aliases=["lr"], description="Adam's learning rate")
    layers: str = commands.flag(default=",".join(map(str, DEFAULTS.layers)), description="Hidden layer sizes, e.g. 64,64")
    activation: str = commands.flag(default=DEFAULTS.activation, description=f"One of {', '.join(ACTIVATIONS)}")
    dropout: float = commands.flag(default=DEFAULTS.dropout, description="Dropout after each hidden layer, in [0, 1)")

    def to_options(self) -> TrainingOptions:
        """Validated with train.py's limits (OptionError otherwise)."""
        return TrainingOptions(epochs=self.epochs, batch_size=self.batch_size, learning_rate=self.learning_rate,
                               layers=parse_layers(self.layers), activation=self.activation.lower(), dropout=self.dropout)


def progress_bar(fraction: float) -> str:
    filled = round(fraction * BAR_WIDTH)
    return f"`{'█' * filled}{'░' * (BAR_WIDTH - filled)}` {fraction:.0%}"


def duration(seconds: float) -> str:
    """`42 s`, `3 min`, `1 h 5 min`."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


def describe_progress(progress: Progress | None) -> str:
    """Where the run is, in one line."""
    if progress is None:
        return "loading TensorFlow"
    return f"epoch {progress.epoch}/{progress.epochs}, {progress.fraction:.0%} done, about {duration(progress.eta_seconds)} left"


def describe_options(options: TrainingOptions) -> str:
    return (f"{options.epochs} epochs · batch {options.batch_size} · learning rate {options.learning_rate:g} · "
            f"layers {','.join(map(str, options.layers))} {options.activation} · dropout {options.dropout:g}")


def progress_embed(job: RetrainJob) -> discord.Embed:
    """The live status: epoch k/N, loss, accuracy, a bar and the time left."""
    embed = discord.Embed(title=f"Retraining, requested by {job.requested_by}", colour=discord.Colour.blurple())
    progress = job.progress
    if progress is None:
        embed.description = "Starting train.py (loading TensorFlow)…"
    else:
        embed.description = (
            f"Epoch **{progress.epoch}/{progress.epochs}** · step {progress.step}/{progress.steps}\n"
            f"{progress_bar(progress.fraction)}\n"
            f"loss **{progress.loss:.4f}** · accuracy **{progress.accuracy:.2%}**\n"
            f"about {duration(progress.eta_seconds)} left"
        )
    embed.set_footer(text=describe_options(job.options))
    return embed


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

    @commands.hybrid_group(name="retrain", fallback="start", invoke_without_command=True, ignore_extra=False)
    @admin_only()
    async def retrain(self, ctx: commands.Context[DigitBot], *, flags: RetrainFlags) -> None:
        """Train a new model (admins); it is served if its accuracy clears the floor."""
        if self.job is not None:
            await ctx.reply(f"A retrain requested by {self.job.requested_by} is already running "
                           f"({describe_progress(self.job.progress)}). `{ctx.clean_prefix}retrain cancel` stops it.")
            return
        settings = self.bot.settings
        job = RetrainJob(flags.to_options(), self.bot.store.root, requested_by=ctx.author.display_name,
                         train_limit=settings.retrain_train_limit, mnist_dir=settings.store.mnist_dir)
        self.job = job
        try:
            reply = await ctx.reply(embed=progress_embed(job))
        except BaseException:
            self.job = None
            raise
        # Edited as a channel message, with the bot's token: a slash command's own token expires after
        # 15 minutes, and a long retrain outlives it.
        status = ctx.channel.get_partial_message(reply.id)
        self._supervisor = asyncio.create_task(self._supervise(job, status), name="retrain")

    @retrain.command(name="cancel")
    @admin_only()
    async def retrain_cancel(self, ctx: commands.Context[DigitBot]) -> None:
        """Stop the running retrain (admins); the served model stays."""
        await ctx.defer()  # stopping the trainer can outlast the 3 s Discord gives an interaction
        job = self.job
        if job is None or not await job.cancel():
            await ctx.reply("No retrain is running.")
            return
        if self._supervisor is not None:
            await self._supervisor  # the status message says "cancelled" and a new retrain may start
        await ctx.reply(f"Cancelled the retrain requested by {job.requested_by}; the served model is unchanged.")

    @commands.hybrid_command(name="rollback")
    @admin_only()
    async def rollback(self, ctx: commands.Context[DigitBot]) -> None:
        """Serve the previously served model version again (admins)."""
        await ctx.defer()  # loading a version can outlast the 3 s Discord gives an interaction
        before = self.bot.served_version
        version = await asyncio.to_thread(self.bot.store.rollback)
        if await self.bot.reload_model() != version:
            await ctx.reply(f"The store now points at version {version}, but loading it failed (see my log); "
                            f"version {before} keeps serving.")
            return
        accuracy = self.bot.store.metadata(version).get("test_accuracy")
        figure = f" (test accuracy {accuracy:.2%})" if isinstance(accuracy, float) else ""
        await ctx.reply(f"Rolled back from version {before} to version {version}{figure}; it is now serving.")

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
                await self._edit(status, progress_embed(job))
                last_edit = loop.time()
            try:
                outcome = await self._conclude(job, run)
            except Exception:
                log.exception("retrain by %s: concluding failed", job.requested_by)
                outcome = discord.Embed(title="Retrain failed", colour=discord.Colour.red(),
                                        description="Something went wrong on my side; the details are in my log.")
            await self._edit(status, outcome)
        finally:
            self.job = None

    async def _conclude(self, job: RetrainJob, run: asyncio.Task) -> discord.Embed:
        """Promote and hot-swap if the new version clears the floor; the final embed says what happened."""
        served = self.bot.served_version
        try:
            result = run.result()
        except RetrainCancelled:
            return discord.Embed(title="Retrain cancelled", colour=discord.Colour.light_grey(),
                                 description=f"Nothing was saved; version {served} keeps serving.")
        except RetrainError as error:
            log.error("retrain by %s failed: %s", job.requested_by, error)
            return discord.Embed(title="Retrain failed", colour=discord.Colour.red(),
                                 description=f"{error}\nVersion {served} keeps serving.")
        served_accuracy = self.bot.inference.metadata.get("test_accuracy") if served is not None else None
        verdict = promotion_verdict(result.test_accuracy, served_accuracy, self.bot.settings.accuracy_floor_points)
        summary = f"Version {result.version}: test accuracy **{result.test_accuracy:.2%}**, loss {result.test_loss:.4f}, trained in {result.fit_seconds:.0f} s."
        if not verdict.promote:
            return discord.Embed(title=f"Retrained: version {result.version} saved, not served", colour=discord.Colour.gold(),
                                 description=f"{summary}\nNot promoted because {verdict.reason}. Version {served} keeps serving.")
        try:
            await asyncio.to_thread(self.bot.store.promote, result.version)
        except StoreError as error:
            log.error("could not promote version %d: %s", result.version, error)
            return discord.Embed(title=f"Retrained: version {result.version} saved, not served", colour=discord.Colour.red(),
                                 description=f"{summary}\nPromoting it failed: {error}. Version {served} keeps serving.")
        if await self.bot.reload_model() != result.version:
            return discord.Embed(title=f"Retrained: version {result.version} promoted, but not loaded", colour=discord.Colour.red(),
                                 description=f"{summary}\nLoading it failed (see my log); version {served} keeps serving.")
        return discord.Embed(title=f"Retrained: version {result.version} is now serving", colour=discord.Colour.green(),
                             description=f"{summary}\nPromoted because {verdict.reason}.")

    async def _edit(self, status: discord.PartialMessage, embed: discord.Embed) -> None:
        try:
            await status.edit(embed=embed)
        except discord.HTTPException as error:
            # A lost status edit must not stop the training; the next edit shows the news.
            log.warning("could not edit the retrain status message: %s", error)


async def setup(bot: DigitBot) -> None:
    await bot.add_cog(AdminCog(bot))
