"""What the bot serves: `!accuracy` (and `/accuracy`) and `!model`."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Sequence
from typing import Any

import discord
import mnist
import numpy as np
from discord.ext import commands
from PIL import Image, ImageDraw, ImageFont

from bot.client import DigitBot, NoModelError
from model_store import CorruptVersionError, StoreSettings
from model_store.data import ensure_mnist

log = logging.getLogger(__name__)

CELL = 40  # pixels per confusion-matrix cell
MAX_LISTED_VERSIONS = 20


def confusion_png(matrix: Sequence[Sequence[int]]) -> bytes:
    """The confusion matrix as a picture: rows are true digits, columns predictions, darker = more."""
    matrix = np.asarray(matrix)
    size = CELL * 11
    picture = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(picture)
    font = ImageFont.load_default(size=14)
    row_totals = np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    shares = matrix / row_totals
    draw.text((CELL // 2, CELL // 2), "true\npred.", fill="grey", font=ImageFont.load_default(size=10), anchor="mm", align="center")
    for digit in range(10):
        draw.text((CELL * (digit + 1) + CELL // 2, CELL // 2), str(digit), fill="black", font=font, anchor="mm")
        draw.text((CELL // 2, CELL * (digit + 1) + CELL // 2), str(digit), fill="black", font=font, anchor="mm")
    for true in range(10):
        for predicted in range(10):
            share = float(shares[true, predicted])
            # Correct answers in green, mistakes in red, both stronger with a larger share of the row.
            strength = share if true == predicted else min(1.0, share * 20)
            base = (40, 160, 70) if true == predicted else (210, 50, 50)
            colour = tuple(round(255 - (255 - c) * strength) for c in base)
            left, top = CELL * (predicted + 1), CELL * (true + 1)
            draw.rectangle((left, top, left + CELL - 1, top + CELL - 1), fill=colour, outline=(230, 230, 230))
            count = int(matrix[true, predicted])
            if count:
                ink = "white" if strength > 0.6 else "black"
                draw.text((left + CELL // 2, top + CELL // 2), str(count), fill=ink, font=ImageFont.load_default(size=11), anchor="mm")
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def training_summary(metadata: dict[str, Any]) -> str:
    """How and when a version was trained, from its model.json."""
    hyper = metadata.get("hyperparameters", {})
    architecture = metadata.get("architecture", {})
    layers = ",".join(map(str, architecture.get("hidden_units", [])))
    created = metadata.get("created", "an unknown date")
    return (f"{hyper.get('epochs', '?')} epochs, batch size {hyper.get('batch_size', '?')}, "
            f"learning rate {hyper.get('learning_rate', '?')}, layers {layers} {architecture.get('activation', '')}, "
            f"on {hyper.get('train_images', '?')} images; trained {created}")


def load_test_set(settings: StoreSettings) -> tuple[np.ndarray, np.ndarray]:
    """MNIST's 10,000 raw test digits (uint8 28×28) and labels, verified, from MNIST_DIR or the cache."""
    folder = ensure_mnist(settings.mnist_dir, settings.mnist_cache)
    mnist.temporary_dir = lambda: str(folder)  # the package's hook, as in model_store.data.load_mnist
    return mnist.test_images(), mnist.test_labels().astype(np.int64)


class InfoCog(commands.Cog, name="Info"):
    """The served model and its accuracy."""

    def __init__(self, bot: DigitBot) -> None:
        self.bot = bot
        self._test_set: tuple[np.ndarray, np.ndarray] | None = None  # loaded on the first !accuracy

    async def test_set(self) -> tuple[np.ndarray, np.ndarray]:
        if self._test_set is None:
            self._test_set = await asyncio.to_thread(load_test_set, self.bot.settings.store)
        return self._test_set

    @commands.hybrid_command(name="accuracy")
    async def accuracy(self, ctx: commands.Context[DigitBot]) -> None:
        """The served model's accuracy on the 10,000 MNIST test images."""
        if self.bot.served_version is None:
            raise NoModelError("I have no trained model yet, so there is no accuracy to show.")
        async with ctx.typing():
            report = await self.bot.inference.accuracy_report_async(*await self.test_set())
            metadata = self.bot.store.metadata(report.version)
            picture = await asyncio.to_thread(confusion_png, report.confusion)
        per_digit = "  ".join(f"{digit}: {share:.1%}" for digit, share in enumerate(report.per_digit_accuracy))
        embed = discord.Embed(
            title=f"Model version {report.version}: {report.accuracy:.2%} accuracy",
            description=f"On the {report.images:,} MNIST test images · loss {report.loss:.4f}\n{training_summary(metadata)}",
            colour=discord.Colour.blurple(),
        )
        embed.add_field(name="Per digit", value=f"```\n{per_digit}\n```", inline=False)
        embed.set_image(url="attachment://confusion.png")
        await ctx.reply(embed=embed, file=discord.File(io.BytesIO(picture), filename="confusion.png"))

    @commands.hybrid_command(name="model")
    async def model(self, ctx: commands.Context[DigitBot]) -> None:
        """The model versions in the store; the served one is marked."""
        served = self.bot.served_version
        versions = await asyncio.to_thread(self.bot.store.versions)
        if not versions:
            raise NoModelError("The model store is empty: an admin can train a model with `!retrain`.")
        lines = []
        for version in reversed(versions[-MAX_LISTED_VERSIONS:]):
            try:
                metadata = self.bot.store.metadata(version)
            except CorruptVersionError:
                lines.append(f"  v{version}  (damaged)")
                continue
            marker = "▶" if version == served else " "
            accuracy = metadata.get("test_accuracy")
            figure = f"{accuracy:.2%}" if isinstance(accuracy, float) else "?"
            lines.append(f"{marker} v{version}  {figure}  {metadata.get('created', '')}")
        hidden = len(versions) - MAX_LISTED_VERSIONS
        more = f"\n…and {hidden} older versions" if hidden > 0 else ""
        await ctx.reply("Model versions (▶ is serving):\n```\n" + "\n".join(lines) + f"\n```{more}")


async def setup(bot: DigitBot) -> None:
    await bot.add_cog(InfoCog(bot))
