"""The Discord client: a `commands.Bot` holding the settings, the model store and the inference service."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot import embeds as drawing
from bot.answers import RecentAnswers
from bot.components import DYNAMIC_ITEMS
from bot.config import BotSettings
from bot.permissions import ALL, ReplyPlan, plan_reply
from digits.community import CommunityError, Corrections
from digits.inference import InferenceService
from digits.mnist import MnistError
from digits.options import OptionError
from digits.reading import ImageError, ImageLimits
from model_store import ModelStore, StoreError

log = logging.getLogger(__name__)

COGS = ("bot.cogs.recognition", "bot.cogs.info", "bot.cogs.admin", "bot.cogs.corrections")
MAX_CONTENT = 2000  # Discord's limit on a message's text


class NoModelError(commands.CommandError):
    """Nothing is served yet: the store holds no trained model."""


class NotAdminError(commands.CheckFailure):
    """The author is not one of the bot's admins."""


def guild_only(ctx: commands.Context[DigitBot]) -> bool:
    """Every text command: servers only (NoPrivateMessage, answered "That only works in a server.")."""
    if ctx.guild is None:
        raise commands.NoPrivateMessage()
    return True


class DigitContext(commands.Context["DigitBot"]):
    """A text command's context whose replies respect the bot's permissions in the channel (see DigitBot.answer)."""

    async def reply(self, content: str | None = None, **kwargs: Any) -> discord.Message:
        if self.interaction is not None:
            return await super().reply(content, **kwargs)
        kwargs.pop("ephemeral", None)  # text commands cannot answer privately
        embeds = kwargs.pop("embeds", None) or ([kwargs.pop("embed")] if kwargs.get("embed") else [])
        files = kwargs.pop("files", None) or ([kwargs.pop("file")] if kwargs.get("file") else [])
        kwargs.pop("embed", None), kwargs.pop("file", None)
        sent = await self.bot.answer(self.message, content, embeds=embeds, files=files)
        if sent is None:
            raise commands.CommandError("the bot may not answer in this channel (see the log)")
        return sent


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
        self.tree.error(self.on_app_command_error)
        self._following: asyncio.Task[None] | None = None
        self.recent_answers = RecentAnswers()  # the inputs of the latest answers, for corrections
        self.corrections: Corrections | None = None  # the corrections database, open from setup_hook to close

    @property
    def served_version(self) -> int | None:
        """The model version answering now; None while the store has no trained model."""
        return self.inference.served_version

    async def setup_hook(self) -> None:
        settings = self.settings
        self.corrections = await asyncio.to_thread(Corrections, settings.database, quorum=settings.correction_quorum)
        self.add_dynamic_items(*DYNAMIC_ITEMS)  # "Wrong?" and its choices work on answers sent before a restart
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
        await asyncio.to_thread(self.inference.close)
        if self.corrections is not None:
            await asyncio.to_thread(self.corrections.close)

    async def on_ready(self) -> None:
        log.info("logged in as %s in %d servers", self.user, len(self.guilds))

    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or not self.settings.watches(message.channel.id):
            return
        ctx = await self.get_context(message)
        if ctx.command is None:
            return
        plan = self.plan_for(message.channel)
        if not plan.speak:
            log.warning("not running %s%s from message %d in #%s: missing %s there", ctx.clean_prefix,
                        ctx.command.qualified_name, message.id, message.channel, plan.describe_missing())
            return
        await self.invoke(ctx)

    async def get_context(self, origin: discord.Message | discord.Interaction, /, *, cls: Any = DigitContext) -> Any:
        return await super().get_context(origin, cls=cls)

    # -- answering within the bot's permissions ------------------------------------------------

    def plan_for(self, channel: Any) -> ReplyPlan:
        """How the bot may answer in `channel`, from its permissions there (everything in a DM)."""
        guild = getattr(channel, "guild", None)
        if guild is None or guild.me is None:
            return ALL
        return plan_reply(channel.permissions_for(guild.me))

    async def answer(self, message: discord.Message, content: str | None = None, *,
                     embeds: Sequence[discord.Embed] = (), files: Sequence[discord.File] = (),
                     view: discord.ui.View | None = None) -> discord.Message | None:
        """Answer `message` as well as the bot's permissions in its channel allow; None if it may not speak there.

        Without Read Message History a plain message naming the author replaces the reply, without Embed Links the
        embeds' text goes into the message, without Attach Files the pictures are left out; each is logged.
        """
        plan = self.plan_for(message.channel)
        if not plan.speak:
            log.warning("cannot answer message %d in #%s: missing %s there", message.id, message.channel,
                        plan.describe_missing())
            return None
        embeds, files = list(embeds), list(files)
        if plan.missing:
            log.info("answering in #%s without %s", message.channel, plan.describe_missing())
        if not plan.files and files:
            files = []
            for embed in embeds:
                if embed.image.url and embed.image.url.startswith("attachment://"):
                    embed.set_image(url=None)
        if not plan.embeds and embeds:
            content = "\n\n".join(part for part in [content or "", *map(drawing.as_text, embeds)] if part)
            embeds = []
        if not plan.reply:
            content = f"{message.author.mention} {content or ''}".rstrip()
        if content is not None:
            content = drawing.shorten(content, MAX_CONTENT)
        try:
            extra: dict[str, Any] = {} if view is None else {"view": view}
            if plan.reply:
                return await message.reply(content, embeds=embeds, files=files, **extra)
            return await message.channel.send(content, embeds=embeds, files=files, **extra)
        except discord.HTTPException as error:
            if error.code == 50035 and "message_reference" in error.text:
                log.info("message %d was deleted before I could answer it", message.id)
                return None
            raise

    def is_admin(self, user: discord.abc.User) -> bool:
        """Configured admin user or role, or Discord's Administrator permission in this server."""
        if user.id in self.settings.admin_user_ids:
            return True
        if isinstance(user, discord.Member):
            return user.guild_permissions.administrator or any(role.id in self.settings.admin_role_ids for role in user.roles)
        return False

    # -- the one error handler -------------------------------------------------------------

    async def on_command_error(self, ctx: commands.Context[DigitBot], error: commands.CommandError) -> None:  # type: ignore[override]
        if isinstance(error, commands.CommandNotFound):
            return  # other bots share the prefix; unknown commands are none of our business
        await self.reply_with_error(error, ctx)

    async def on_app_command_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        await self.reply_with_error(error, interaction)

    async def reply_with_error(self, error: Exception,
                               target: commands.Context[DigitBot] | discord.Interaction | discord.Message) -> None:
        """Answer a failed command, interaction or image message with one short sentence; log the details."""
        text = explain(error)
        if text is None:
            log.error("unexpected failure", exc_info=error)
            text = "Sorry, something went wrong on my side. The details are in my log."
        else:
            log.info("refused: %s", text)
        if isinstance(target, commands.Context) and target.interaction is not None:
            target = target.interaction
        try:
            if isinstance(target, discord.Interaction):
                if not target.response.is_done():
                    await target.response.send_message(text, ephemeral=True)
                else:
                    # After a deferral Discord's first follow-up fills in the "thinking…" message and keeps the
                    # visibility chosen when deferring (the ephemeral flag is ignored). Commands therefore refuse
                    # what they can before deferring; what fails later is shown as the deferral was.
                    if target.response.type is discord.InteractionResponseType.deferred_channel_message:
                        log.info("answering /%s after its deferral: shown as the deferred response was",
                                 target.command.name if target.command else "?")
                    await target.followup.send(text, ephemeral=True)
            elif isinstance(target, commands.Context):
                await self.answer(target.message, text)
            else:
                await self.answer(target, text)
        except discord.HTTPException:
            log.warning("could not send the error reply %r", text, exc_info=True)


def explain(error: BaseException) -> str | None:
    """A short, polite sentence for an error the user can act on; None for a bug (logged instead)."""
    original = error
    while isinstance(original, (commands.HybridCommandError, commands.CommandInvokeError, app_commands.CommandInvokeError)):
        original = original.original
    match original:
        case commands.CommandOnCooldown() | app_commands.CommandOnCooldown():
            return f"Slow down a little: try again in {original.retry_after:.0f} s."
        case NotAdminError():
            return "Only the bot's admins can do that."
        case commands.MissingRequiredArgument():
            return f"Missing `{original.param.name}`; `help` shows how to use the command."
        case commands.TooManyArguments():
            return "I couldn't understand the extra words; options are written like `epochs=3 layers=128,64`."
        case commands.UserInputError():
            return f"I couldn't understand that: {original}"
        case OptionError() | ImageError() | NoModelError() | CommunityError():
            return str(original)
        case MnistError():
            return f"I couldn't load the MNIST test images: {original}"
        case StoreError():
            return f"The model store refused: {original}"
        case commands.NoPrivateMessage() | app_commands.NoPrivateMessage():
            return "That only works in a server."
        case commands.CheckFailure() | app_commands.CheckFailure():
            return "You can't use that command here."
    return None
