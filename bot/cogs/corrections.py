"""Community corrections: the "Wrong?" flow of every answer, `!corrections` for admins, `!forgetme` for anyone.

A click on "Wrong?" opens a private (ephemeral) choice; choosing a digit records the vote in the corrections
database (`digits/community.py`, through `asyncio.to_thread`) and edits that private message to "Thanks, noted as 7".
"""

from __future__ import annotations

import asyncio
import io
import logging
from typing import Any

import discord
import numpy as np
from discord.ext import commands

from bot.answers import AnswerRecord, Refused, parse_wrong, places
from bot.client import DigitBot
from bot.cogs.admin import admin_only
from bot.cogs.recognition import is_image
from bot.components import label_view, which_view
from digits.community import Answer, Corrections
from digits.reading import ImageError
from digits.render import grid_png

log = logging.getLogger(__name__)

LATEST = 24  # examples in `!corrections`'s picture grid


def wrong_button_of(message: discord.Message) -> tuple[int, tuple[str, ...]] | None:
    """(version, what each picture read) from the "Wrong?" button of one of the bot's answers; None if it has none."""
    for row in message.components:
        for component in getattr(row, "children", []):
            parsed = parse_wrong(getattr(component, "custom_id", None) or "")
            if parsed is not None:
                return parsed
    return None


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


class CorrectionsCog(commands.Cog, name="Corrections"):
    """Members correct the bot's answers; the next retrain learns from them."""

    def __init__(self, bot: DigitBot) -> None:
        self.bot = bot

    @property
    def database(self) -> Corrections:
        assert self.bot.corrections is not None, "opened in setup_hook"
        return self.bot.corrections

    # -- the "Wrong?" flow ---------------------------------------------------------------------

    async def on_wrong(self, interaction: discord.Interaction[Any], numbers: tuple[str, ...]) -> None:
        """"Wrong?": a private choice of the digit (for several) or straight away of what it really is."""
        try:
            self._check_voter(interaction.user)
            assert interaction.message is not None
            reply_id = interaction.message.id
            digits = places(numbers)
            if len(digits) == 1:
                await interaction.response.send_message(f"What is it really? I read {digits[0].predicted}.",
                                                        view=label_view(reply_id, 0), ephemeral=True)
            else:
                await interaction.response.send_message(f"Which digit did I get wrong? I read {' '.join(n for n in numbers if n)}.",
                                                        view=which_view(reply_id, numbers), ephemeral=True)
        except Exception as error:
            await self.bot.reply_with_error(error, interaction)

    async def on_which(self, interaction: discord.Interaction[Any], reply_id: int, position: int, chosen: str) -> None:
        """A digit of a number was picked: the same private message now asks what it really is (UPDATE_MESSAGE)."""
        try:
            self._check_voter(interaction.user)
            await interaction.response.edit_message(content=f"What is it really? ({chosen})",
                                                    view=label_view(reply_id, position))
        except Exception as error:
            await self.bot.reply_with_error(error, interaction)

    async def on_label(self, interaction: discord.Interaction[Any], reply_id: int, position: int, label: int) -> None:
        """The vote: recorded, and the private message says "Thanks, noted as 7" (nothing in the channel)."""
        try:
            self._check_voter(interaction.user)
            await interaction.response.defer()  # DEFERRED_UPDATE_MESSAGE: reading the original may take a moment
            assert isinstance(interaction.channel, discord.abc.Messageable)
            answer = await self.answer_at(interaction.channel, reply_id, position)
            admin = self.bot.is_admin(interaction.user)
            outcome = await asyncio.to_thread(self.database.vote, answer, interaction.user.id, label, admin=admin)
            if outcome.status == "accepted":
                standing = "Confirmed: the next retrain learns it." if admin else "Enough members agree: the next retrain learns it."
            else:
                standing = f"{outcome.agreeing} of the {self.database.quorum} votes needed so far."
            await interaction.edit_original_response(content=f"Thanks, noted as {label}. {standing}", view=None)
            log.info("correction #%d by %d: %d → %d (%s)", outcome.example_id, interaction.user.id, answer.predicted,
                     label, outcome.status)
        except Exception as error:
            await self.bot.reply_with_error(error, interaction)

    def _check_voter(self, user: discord.abc.User) -> None:
        if user.bot:
            raise Refused("Bots can't correct answers.")

    async def answer_at(self, channel: discord.abc.Messageable, reply_id: int, position: int) -> Answer:
        """The digit at `position` of the answer `reply_id`, as a vote records it; Refused when it cannot be had.

        From the recent answers kept in memory, else (after a restart) rebuilt from the original post: its pictures
        read again by the same preprocessing (the 28×28 input does not depend on the model), the version and the
        digits read from the answer's "Wrong?" button. A deleted original is refused either way.
        """
        record = self.bot.recent_answers.get(reply_id)
        if record is None:
            record = await self._rebuild(channel, reply_id)
            self.bot.recent_answers.remember(record)
        elif record.original_id is not None:
            await self._original(channel, record.original_id)
        return record.answer(position)

    async def _original(self, channel: discord.abc.Messageable, message_id: int) -> discord.Message:
        return await self._fetch(channel, message_id, "The picture of that answer has been deleted, so I won't learn from it.")

    @staticmethod
    async def _fetch(channel: discord.abc.Messageable, message_id: int, gone: str) -> discord.Message:
        try:
            return await channel.fetch_message(message_id)
        except discord.NotFound:
            raise Refused(gone) from None
        except discord.Forbidden:  # no Read Message History here
            raise Refused("I may not read this channel's history, so I can't check that answer's picture.") from None

    async def _rebuild(self, channel: discord.abc.Messageable, reply_id: int) -> AnswerRecord:
        reply = await self._fetch(channel, reply_id, "That answer has been deleted.")
        button = wrong_button_of(reply)
        if reply.author != self.bot.user or button is None:
            raise Refused("That message is not one of my answers.")
        version, numbers = button
        metadata = reply.interaction_metadata
        original_id = reply.reference.message_id if reply.reference else (metadata.target_message_id if metadata else None)
        if original_id is None:
            # A /digit answer (its picture came with the command), or one sent without Read Message History.
            raise Refused("I have restarted since that answer and can't find its picture any more: "
                          "post the picture in the channel and correct my new answer.")
        original = await self._original(channel, original_id)
        images = [a for a in original.attachments if is_image(a)][: len(numbers)]
        inputs: list[np.ndarray] = []
        limits = self.bot.inference.limits
        for attachment, number in zip(images, numbers):
            if not number:
                continue  # that picture was not read: it has no digits to correct
            try:
                if attachment.size > limits.max_bytes:
                    raise ImageError("too large")
                # Read again as it was read: the network chooses how a number splits into digits.
                reading = await self.bot.inference.predict_async(await attachment.read())
            except (discord.HTTPException, ImageError) as error:
                log.info("could not read the picture of answer %d again: %s", reply_id, error)
                raise Refused("I couldn't read that picture again; please post it once more.") from None
            if len(reading.digits) != len(number):
                raise Refused("That picture no longer matches my answer; please post it once more.")
            inputs += [digit.input_image for digit in reading.digits]
        if len(images) < len(numbers) and any(numbers[len(images):]):
            raise Refused("That picture no longer matches my answer; please post it once more.")
        guild_id = reply.guild.id if reply.guild else None
        return AnswerRecord(guild_id, reply.channel.id, reply_id, original.author.id, original.id, version, numbers,
                            tuple(inputs))

    # -- commands ------------------------------------------------------------------------------

    @commands.group(name="corrections", invoke_without_command=True)
    @admin_only()
    async def corrections(self, ctx: commands.Context[DigitBot]) -> None:
        """The community's corrections (admins): counts, agreement, the latest examples."""
        summary = await asyncio.to_thread(self.database.summary, LATEST)
        agreement = "no votes yet" if summary.agreement is None else f"{summary.agreement:.0%} of the votes agree"
        embed = discord.Embed(
            title="Community corrections",
            description=(f"**{summary.accepted}** accepted · **{summary.pending}** pending · **{summary.disputed}** "
                         f"disputed\n{plural(summary.votes, 'vote')} from {plural(summary.contributors, 'member')}; "
                         f"{agreement}.\n"
                         f"An example is learned once an admin confirms it or {self.database.quorum} members agree "
                         f"and fewer disagree. `{ctx.clean_prefix}corrections remove <id>` deletes one, "
                         f"`{ctx.clean_prefix}corrections purge @member` all of a member's."),
            colour=discord.Colour.blurple(),
        )
        files = []
        if summary.latest:
            captions = [f"#{e.id} {'?' if e.label is None else e.label} {e.status[0]}" for e in summary.latest]
            picture = grid_png([e.image for e in summary.latest], captions)
            files.append(discord.File(io.BytesIO(picture), filename="corrections.png"))
            embed.set_image(url="attachment://corrections.png")
            embed.set_footer(text="latest first: #id, label, a(ccepted) p(ending) d(isputed)")
        await ctx.reply(embed=embed, files=files)

    @corrections.command(name="purge")  # type: ignore[arg-type]  # see info.py
    @admin_only()
    async def purge(self, ctx: commands.Context[DigitBot], member: discord.User) -> None:
        """Delete everything a member contributed (admins)."""
        rows = await asyncio.to_thread(self.database.purge, member.id)
        await ctx.reply(f"Deleted {rows} rows contributed by {member.mention}.")

    @corrections.command(name="remove")  # type: ignore[arg-type]  # see info.py
    @admin_only()
    async def remove(self, ctx: commands.Context[DigitBot], example_id: int) -> None:
        """Delete one example and its votes (admins)."""
        removed = await asyncio.to_thread(self.database.remove, example_id)
        await ctx.reply(f"Removed example #{example_id}." if removed else f"There is no example #{example_id}.")

    @commands.command(name="forgetme")
    async def forgetme(self, ctx: commands.Context[DigitBot]) -> None:
        """Delete every correction you made and every example of your handwriting."""
        rows = await asyncio.to_thread(self.database.forget, ctx.author.id)
        await ctx.reply(f"Done: deleted {rows} rows you contributed." if rows else "I keep nothing you contributed.")


async def setup(bot: DigitBot) -> None:
    await bot.add_cog(CorrectionsCog(bot))
