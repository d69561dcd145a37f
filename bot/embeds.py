"""Every reply the bot draws: Discord embeds and their attached pictures, built from plain results."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import discord

from digits.inference import AccuracyReport, Prediction
from digits.records import Progress
from digits.render import (
    bar,
    confusion_png,
    duration,
    preview_png,
    probability_chart,
    reading,
    reliability_png,
    strip_png,
)
from digits.retraining import Outcome, Status
from network.card import ModelCard

# Discord's limit on an embed title.
MAX_TITLE = 256
CONFIDENT = 0.8  # answers at least this sure are green, the others gold
OUTCOME_COLOURS = {
    Status.SERVING: discord.Colour.green(),
    Status.NOT_SERVED: discord.Colour.gold(),
    Status.CANCELLED: discord.Colour.light_grey(),
    Status.FAILED: discord.Colour.red(),
}


@dataclass(frozen=True)
class AttachmentResult:
    """What became of one attachment: a prediction, or why there is none."""

    filename: str
    prediction: Prediction | None = None
    error: str | None = None


def shorten(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def as_text(embed: discord.Embed) -> str:
    """An embed written out as message text, for channels where the bot may not embed (no Embed Links)."""
    parts = [f"**{embed.title}**" if embed.title else "", embed.description or ""]
    parts += [f"**{field.name}**\n{field.value}" for field in embed.fields]
    if embed.footer.text:
        parts.append(f"-# {embed.footer.text}")
    return "\n".join(part for part in parts if part)


def answer(results: Sequence[AttachmentResult]) -> tuple[list[discord.Embed], list[discord.File]]:
    """One embed per attachment, each recognized one with its input picture as the embed's image."""
    embeds: list[discord.Embed] = []
    files: list[discord.File] = []
    for index, result in enumerate(results, start=1):
        prediction = result.prediction
        if prediction is None:
            embeds.append(discord.Embed(title=shorten(f"Couldn't read {result.filename}", MAX_TITLE),
                                        description=result.error, colour=discord.Colour.red()))
            continue
        preview_name = f"input-{index}.png"
        unsure = any(r.unsure for r in prediction.digits)
        if prediction.digit is not None:
            single = prediction.digits[0]
            verdict = ": " + reading(single.digit, single.runner_up, single.unsure)
            doubt = (f"I'm not sure: {single.digit} ({single.confidence:.0%}) or "
                     f"{single.runner_up} ({single.probabilities[single.runner_up]:.0%}).\n") if single.unsure else ""
            description = f"{doubt}Confidence **{single.confidence:.1%}**\n```\n{probability_chart(single.probabilities)}\n```"
            picture, caption = preview_png(single.input_image), "what the model saw, 28×28"
        else:
            verdict = f": it's {prediction.number}"
            rows = "\n".join(f"{r.digit} {bar(r.confidence)} {r.confidence:6.1%}{'  unsure' if r.unsure else ''}"
                             for r in prediction.digits)
            description = f"Confidence **{prediction.confidence:.1%}** for the whole number\n```\n{rows}\n```"
            picture, caption = strip_png([r.input_image for r in prediction.digits]), "what the model saw, digit by digit"
        embed = discord.Embed(
            title=shorten(result.filename, MAX_TITLE - len(verdict)) + verdict,
            description=description,
            colour=discord.Colour.gold() if unsure or prediction.confidence < CONFIDENT else discord.Colour.green(),
        )
        files.append(discord.File(io.BytesIO(picture), filename=preview_name))
        embed.set_image(url=f"attachment://{preview_name}")
        embed.set_footer(text=f"model version {prediction.version} · {caption}")
        embeds.append(embed)
    return embeds, files


def accuracy(report: AccuracyReport, card: ModelCard) -> tuple[list[discord.Embed], list[discord.File]]:
    """The served model's test accuracy, per digit, with the confusion matrix and the reliability diagram beside it."""
    per_digit = "  ".join(f"{digit}: {share:.1%}" for digit, share in enumerate(report.per_digit_accuracy))
    embed = discord.Embed(
        title=f"Model version {report.version}: {report.accuracy:.2%} accuracy",
        description=f"On the {report.images:,} MNIST test images · loss {report.loss:.4f}\n{card.describe_training()}",
        colour=discord.Colour.blurple(),
    )
    embed.add_field(name="Per digit", value=f"```\n{per_digit}\n```", inline=False)
    embed.add_field(name="Community corrections", value=card.describe_community(), inline=False)
    calibration = (f"temperature {card.temperature:.2f}, fitted on {card.hyperparameters.validation_images:,} held-out images"
                   if card.hyperparameters.validation_images else "none (no images were held out to fit a temperature)")
    embed.add_field(name="Confidence", value=f"Calibration: {calibration}. Expected calibration error **{report.ece:.2%}**: "
                    "the reliability diagram shows how often answers given with each confidence were right.", inline=False)
    embed.set_image(url="attachment://confusion.png")
    diagram = discord.Embed(title="Reliability: confidence vs. accuracy", colour=discord.Colour.blurple())
    diagram.set_image(url="attachment://reliability.png")
    return [embed, diagram], [discord.File(io.BytesIO(confusion_png(report.confusion)), filename="confusion.png"),
                              discord.File(io.BytesIO(reliability_png(report.reliability, report.ece)), filename="reliability.png")]


def describe_progress(progress: Progress | None) -> str:
    """Where a retrain is, in one line."""
    if progress is None:
        return "loading TensorFlow"
    return f"epoch {progress.epoch}/{progress.epochs}, {progress.fraction:.0%} done, about {duration(progress.eta_seconds)} left"


def retrain_progress(requested_by: str, options_line: str, progress: Progress | None) -> discord.Embed:
    """The live status of a retrain: epoch k/N, loss, accuracy, a bar and the time left."""
    embed = discord.Embed(title=shorten(f"Retraining, requested by {requested_by}", MAX_TITLE), colour=discord.Colour.blurple())
    if progress is None:
        embed.description = "Starting train.py (loading TensorFlow)…"
    else:
        embed.description = (
            f"Epoch **{progress.epoch}/{progress.epochs}** · step {progress.step}/{progress.steps}\n"
            f"`{bar(progress.fraction, 20)}` {progress.fraction:.0%}\n"
            f"loss **{progress.loss:.4f}** · accuracy **{progress.accuracy:.2%}**\n"
            f"about {duration(progress.eta_seconds)} left"
        )
    embed.set_footer(text=options_line)
    return embed


def retrain_outcome(outcome: Outcome) -> discord.Embed:
    return discord.Embed(title=shorten(outcome.title, MAX_TITLE), description=outcome.description,
                         colour=OUTCOME_COLOURS[outcome.status])


def retrain_crashed() -> discord.Embed:
    return discord.Embed(title="Retrain failed", colour=discord.Colour.red(),
                         description="Something went wrong on my side; the details are in my log.")
