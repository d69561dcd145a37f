"""What the bot serves: `!accuracy` (and `/accuracy`) and `!model`."""

from __future__ import annotations

import asyncio
import logging

import numpy as np
from discord.ext import commands

from bot import embeds
from bot.checks import NoModelError
from bot.client import DigitBot
from digits.mnist import load_test_set
from model_store import CorruptVersionError
from network.card import ModelCard

log = logging.getLogger(__name__)

MAX_LISTED_VERSIONS = 20


class InfoCog(commands.Cog, name="Info"):
    """The served model and its accuracy."""

    def __init__(self, bot: DigitBot) -> None:
        self.bot = bot
        self._test_set: tuple[np.ndarray, np.ndarray] | None = None  # loaded on the first !accuracy

    async def test_set(self) -> tuple[np.ndarray, np.ndarray]:
        if self._test_set is None:
            self._test_set = await asyncio.to_thread(load_test_set, self.bot.settings.paths)
        return self._test_set

    # mypy cannot solve discord.py's ParamSpec-typed hybrid decorators for a cog's methods (admin.py too).
    @commands.hybrid_command(name="accuracy")  # type: ignore[arg-type]
    async def accuracy(self, ctx: commands.Context[DigitBot]) -> None:
        """The served model's accuracy on the 10,000 MNIST test images."""
        if self.bot.served_version is None:
            raise NoModelError(embeds.NO_MODEL_FOR_ACCURACY)
        async with ctx.typing():
            report = await self.bot.inference.accuracy_report_async(*await self.test_set())
            card = await asyncio.to_thread(self.bot.store.card, report.version)
            reply, pictures = await asyncio.to_thread(embeds.accuracy, report, card)
        await ctx.reply(embeds=reply, files=pictures)

    @commands.hybrid_command(name="model")  # type: ignore[arg-type]
    async def model(self, ctx: commands.Context[DigitBot]) -> None:
        """The model versions in the store; the served one is marked."""
        served = self.bot.served_version
        versions = await asyncio.to_thread(self.bot.store.versions)
        if not versions:
            raise NoModelError(embeds.EMPTY_STORE)
        rows = await asyncio.to_thread(self._listed, versions[-MAX_LISTED_VERSIONS:], served)
        await ctx.reply(embeds.model_list(rows, hidden=len(versions) - MAX_LISTED_VERSIONS))

    def _listed(self, versions: list[int], served: int | None) -> list[tuple[int, bool, ModelCard | None]]:
        """Newest first: each version, whether it is served, and its card (None when it is damaged)."""
        rows: list[tuple[int, bool, ModelCard | None]] = []
        for version in reversed(versions):
            try:
                rows.append((version, version == served, self.bot.store.card(version)))
            except CorruptVersionError:
                rows.append((version, False, None))
        return rows


async def setup(bot: DigitBot) -> None:
    await bot.add_cog(InfoCog(bot))
