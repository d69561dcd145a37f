"""Replies within the bot's permissions in a channel, planned once from those permissions; and the one error handler.

Discord (topics/permissions, resources/message › Create Message) needs View Channel and Send Messages to post at all,
Read Message History to post a *reply*, Attach Files for files, and Embed Links for embeds (which it drops silently
otherwise). The bot degrades instead of failing: a plain message naming the author instead of a reply, text instead
of embeds, no pictures instead of none of the answer; where it may not speak, it logs the missing permission.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import discord
from discord.ext import commands

from bot import embeds as wording

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReplyPlan:
    speak: bool  # may post in the channel at all
    reply: bool  # as a reply to the message (else a plain message naming its author)
    embeds: bool  # embeds are shown (else their text goes into the message)
    files: bool  # files may be attached (else pictures are left out)
    missing: tuple[str, ...]  # the permissions whose absence changes the answer, as Discord's client names them

    def describe_missing(self) -> str:
        return ", ".join(self.missing)


ALL = ReplyPlan(speak=True, reply=True, embeds=True, files=True, missing=())


def plan_reply(permissions: discord.Permissions) -> ReplyPlan:
    """How to answer in a channel where the bot has `permissions` (discord.py's permissions_for, overwrites applied)."""
    missing = []
    if not permissions.view_channel:
        missing.append("View Channel")
    if not permissions.send_messages:
        missing.append("Send Messages")
    if missing:
        return ReplyPlan(speak=False, reply=False, embeds=False, files=False, missing=tuple(missing))
    for name, has in (("Read Message History", permissions.read_message_history),
                      ("Embed Links", permissions.embed_links), ("Attach Files", permissions.attach_files)):
        if not has:
            missing.append(name)
    return ReplyPlan(speak=True, reply=permissions.read_message_history, embeds=permissions.embed_links,
                     files=permissions.attach_files, missing=tuple(missing))


def plan_for(channel: Any) -> ReplyPlan:
    """How the bot may answer in `channel`, from its permissions there (everything in a DM)."""
    guild = getattr(channel, "guild", None)
    if guild is None or guild.me is None:
        return ALL
    return plan_reply(channel.permissions_for(guild.me))


def plan_for_interaction(interaction: discord.Interaction[Any]) -> ReplyPlan:
    """How to answer an interaction: from the app's permissions in its channel (Interaction Object › app_permissions),
    which responses and follow-ups follow (change log, 2023-11-01). The answer always reaches whoever asked, so
    only its embeds and files depend on them."""
    permissions = interaction.app_permissions
    missing = tuple(name for name, has in (("Embed Links", permissions.embed_links),
                                           ("Attach Files", permissions.attach_files)) if not has)
    return ReplyPlan(speak=True, reply=True, embeds=permissions.embed_links, files=permissions.attach_files,
                     missing=missing)


def fit_to_plan(plan: ReplyPlan, content: str | None, embeds: Sequence[discord.Embed],
                files: Sequence[discord.File]) -> tuple[str | None, list[discord.Embed], list[discord.File]]:
    """The answer as `plan` allows it: without Attach Files the pictures are left out, without Embed Links the
    embeds' text goes into the message."""
    embeds, files = list(embeds), list(files)
    if not plan.files and files:
        files = []
        for embed in embeds:
            if embed.image.url and embed.image.url.startswith("attachment://"):
                embed.set_image(url=None)
    if not plan.embeds and embeds:
        content = "\n\n".join(part for part in [content or "", *map(wording.as_text, embeds)] if part)
        embeds = []
    return content, embeds, files


async def send_reply(message: discord.Message, plan: ReplyPlan, content: str | None = None, *,
                     embeds: Sequence[discord.Embed] = (), files: Sequence[discord.File] = (),
                     view: discord.ui.View | None = None) -> discord.Message | None:
    """Answer `message` as `plan` allows; None if the bot may not speak there (logged).

    Without Read Message History a plain message naming the author replaces the reply, without Embed Links the
    embeds' text goes into the message, without Attach Files the pictures are left out.
    """
    if not plan.speak:
        log.warning("cannot answer message %d in #%s: missing %s there", message.id, message.channel,
                    plan.describe_missing())
        return None
    if plan.missing:
        log.info("answering in #%s without %s", message.channel, plan.describe_missing())
    content, embeds, files = fit_to_plan(plan, content, embeds, files)
    if not plan.reply:
        content = f"{message.author.mention} {content or ''}".rstrip()
    if content is not None:
        content = wording.shorten(content, wording.MAX_CONTENT)
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


async def send_followup(interaction: discord.Interaction[Any], plan: ReplyPlan, content: str | None = None, *,
                        embeds: Sequence[discord.Embed] = (), files: Sequence[discord.File] = (),
                        view: discord.ui.View | None = None) -> discord.WebhookMessage:
    """Answer a deferred interaction as `plan` (`plan_for_interaction`) allows."""
    if plan.missing:
        log.info("answering /%s without %s", interaction.command.name if interaction.command else "?",
                 plan.describe_missing())
    content, embeds, files = fit_to_plan(plan, content, embeds, files)
    text = wording.shorten(content, wording.MAX_CONTENT) if content else discord.utils.MISSING
    return await interaction.followup.send(text, embeds=embeds, files=files, view=view or discord.utils.MISSING,
                                           wait=True)


class DigitContext(commands.Context[Any]):
    """A command's context whose replies follow the bot's permissions, planned once: in the channel for a text
    command, from the interaction's app permissions for a slash command."""

    @functools.cached_property
    def plan(self) -> ReplyPlan:
        return plan_for(self.channel) if self.interaction is None else plan_for_interaction(self.interaction)

    async def reply(self, content: str | None = None, **kwargs: Any) -> discord.Message:
        embeds = kwargs.pop("embeds", None) or ([kwargs.pop("embed")] if kwargs.get("embed") else [])
        files = kwargs.pop("files", None) or ([kwargs.pop("file")] if kwargs.get("file") else [])
        if self.interaction is not None:
            content, embeds, files = fit_to_plan(self.plan, content, embeds, files)
            if embeds:
                kwargs["embeds"] = embeds
            if files:
                kwargs["files"] = files
            return await super().reply(content, **kwargs)
        kwargs.pop("ephemeral", None)  # text commands cannot answer privately
        sent = await send_reply(self.message, self.plan, content, embeds=embeds, files=files)
        if sent is None:
            raise commands.CommandError("the bot may not answer in this channel (see the log)")
        return sent


async def report_error(error: Exception, target: commands.Context[Any] | discord.Interaction | discord.Message) -> None:
    """The one error handler: answer a failed command, interaction or image message with one short sentence (in
    private where Discord allows it); log the details of a bug."""
    text = wording.explain(error)
    if text is None:
        log.error("unexpected failure", exc_info=error)
        text = wording.SOMETHING_WENT_WRONG
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
        elif isinstance(target, DigitContext):
            await send_reply(target.message, target.plan, text)
        elif isinstance(target, commands.Context):
            await send_reply(target.message, plan_for(target.channel), text)
        else:
            await send_reply(target, plan_for(target.channel), text)
    except discord.HTTPException:
        log.warning("could not send the error reply %r", text, exc_info=True)
