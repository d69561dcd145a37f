"""Community corrections, for admins: `!corrections`, `!corrections remove`, `!corrections purge`; for anyone
`!forgetme`. The "Wrong?" flow itself is the bot's (`bot.corrections`)."""

from __future__ import annotations

import asyncio

import discord
from discord.ext import commands

from bot import embeds
from bot.checks import admin_only
from bot.client import DigitBot
from digits.community import Corrections

LATEST = 24  # examples in `!corrections`'s picture grid


class CorrectionsCog(commands.Cog, name="Corrections"):
    """Members correct the bot's answers; the next retrain learns from them."""

    def __init__(self, bot: DigitBot) -> None:
        self.bot = bot

    @property
    def database(self) -> Corrections:
        return self.bot.corrections.database

    @commands.group(name="corrections", invoke_without_command=True)
    @admin_only()
    async def corrections(self, ctx: commands.Context[DigitBot]) -> None:
        """The community's corrections (admins): counts, agreement, the latest examples."""
        summary = await asyncio.to_thread(self.database.summary, LATEST)
        embed, files = await asyncio.to_thread(embeds.corrections_summary, summary, self.database.quorum, ctx.clean_prefix)
        await ctx.reply(embed=embed, files=files)

    @corrections.command(name="purge")  # type: ignore[arg-type]  # see info.py
    @admin_only()
    async def purge(self, ctx: commands.Context[DigitBot], member: discord.User) -> None:
        """Delete everything a member contributed (admins)."""
        rows = await asyncio.to_thread(self.database.purge, member.id)
        await ctx.reply(embeds.purged(rows, member.mention))

    @corrections.command(name="remove")  # type: ignore[arg-type]  # see info.py
    @admin_only()
    async def remove(self, ctx: commands.Context[DigitBot], example_id: int) -> None:
        """Delete one example and its votes (admins)."""
        removed = await asyncio.to_thread(self.database.remove, example_id)
        await ctx.reply(embeds.removed(example_id, removed))

    @commands.command(name="forgetme")
    async def forgetme(self, ctx: commands.Context[DigitBot]) -> None:
        """Delete every correction you made and every example of your handwriting."""
        rows = await asyncio.to_thread(self.database.forget, ctx.author.id)
        await ctx.reply(embeds.forgotten(rows))


async def setup(bot: DigitBot) -> None:
    await bot.add_cog(CorrectionsCog(bot))
