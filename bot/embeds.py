"""Every reply the bot writes: its wording, its Discord embeds and their attached pictures, built from plain results.

Refusals and notes are here as short sentences; errors are turned into one by `explain`. The core's own errors
(a picture it cannot read, a bad option, the store refusing) carry their sentence with them.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import NoModelError, NotAdminError
from digits.community import CommunityError, CorrectionsSummary, VoteOutcome
from digits.inference import AccuracyReport, Prediction
from digits.mnist import MnistError
from digits.options import OptionError
from digits.reading import ImageError
from digits.records import Progress
from digits.render import bar, confusion_png, duration, grid_png, preview_png, probability_chart, reading, reliability_png, strip_png
from digits.retraining import PromotionDecision, Reason, RetrainOutcome, Status
from model_store import StoreError
from network.card import ModelCard

MAX_TITLE = 256  # Discord's limit on an embed title
MAX_CONTENT = 2000  # ... and on a message's text
MAX_EMBEDS_TOTAL = 6000  # ... and on the characters of all a message's embeds together
CONFIDENT = 0.8  # answers at least this sure are green, the others gold
OUTCOME_COLOURS = {
    Status.SERVING: discord.Colour.green(),
    Status.NOT_SERVED: discord.Colour.gold(),
    Status.CANCELLED: discord.Colour.light_grey(),
    Status.FAILED: discord.Colour.red(),
}

# -- refusals and notes -----------------------------------------------------------------------

SOMETHING_WENT_WRONG = "Sorry, something went wrong on my side. The details are in my log."
NO_MODEL_YET = "I have no trained model yet: an admin can train one with `!retrain`."
NO_MODEL_FOR_ACCURACY = "I have no trained model yet, so there is no accuracy to show."
EMPTY_STORE = "The model store is empty: an admin can train a model with `!retrain`."
SERVERS_ONLY = "I read digits in servers only: post the picture in a channel I'm in."
NO_IMAGE_THERE = "There is no image to read there."
NO_RETRAIN_RUNNING = "No retrain is running."
NOTHING_TO_ROLL_BACK = "there is no previous version to roll back to"
# The "Wrong?" flow's refusals: each changes nothing.
BOTS_CANNOT_CORRECT = "Bots can't correct answers."
NOT_PART_OF_ANSWER = "That digit is not part of my answer."
ANSWER_DELETED = "That answer has been deleted."
PICTURE_DELETED = "The picture of that answer has been deleted, so I won't learn from it."
NOT_MY_ANSWER = "That message is not one of my answers."
NO_HISTORY = "I may not read this channel's history, so I can't check that answer's picture."
PICTURE_GONE_AFTER_RESTART = ("I have restarted since that answer and can't find its picture any more: "
                              "post the picture in the channel and correct my new answer.")
CANNOT_READ_AGAIN = "I couldn't read that picture again; please post it once more."
PICTURE_HIDDEN = ("I have restarted since that answer and, without the Message Content intent, can't see its picture "
                  "any more: post the picture again mentioning me (or use /digit) and correct my new answer.")
PICTURE_CHANGED = "That picture no longer matches my answer; please post it once more."


def shorten(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def sentence(text: str) -> str:
    """`the file is empty` → `The file is empty.`"""
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


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


def over_budget(images: int, read: int, retry_after: float, rate: int, seconds: float) -> str:
    """The note for images over a member's budget: none read, or some."""
    limit = f"{rate} images per {seconds:g} s"
    if read == 0:
        return f"Slow down a little: you can have {limit} read; try again in {max(retry_after, 1):.0f} s."
    return (f"Slow down a little: I read {read} of your {images} images; the other {images - read} are over "
            f"your limit of {limit} (try again in {max(retry_after, 1):.0f} s).")


def as_text(embed: discord.Embed) -> str:
    """An embed written out as message text, for channels where the bot may not embed (no Embed Links)."""
    parts = [f"**{embed.title}**" if embed.title else "", embed.description or ""]
    parts += [f"**{field.name}**\n{field.value}" for field in embed.fields]
    if embed.footer.text:
        parts.append(f"-# {embed.footer.text}")
    return "\n".join(part for part in parts if part)


# -- reading pictures --------------------------------------------------------------------------


@dataclass(frozen=True)
class AttachmentResult:
    """What became of one attachment: a prediction, or why there is none."""

    filename: str
    prediction: Prediction | None = None
    error: str | None = None


def reading_embeds(results: Sequence[AttachmentResult]) -> tuple[list[discord.Embed], list[discord.File]]:
    """One embed per attachment, each recognized one with its input picture as the embed's image.

    The file names in the titles are shortened so that all the embeds fit in one message (`MAX_EMBEDS_TOTAL`).
    """
    embeds: list[discord.Embed] = []
    titles: list[tuple[str, str, str]] = []  # each title as the text before the file name, the name, the text after
    files: list[discord.File] = []
    for index, result in enumerate(results, start=1):
        prediction = result.prediction
        if prediction is None:
            embeds.append(discord.Embed(description=result.error, colour=discord.Colour.red()))
            titles.append(("Couldn't read ", result.filename, ""))
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
            description=description,
            colour=discord.Colour.gold() if unsure or prediction.confidence < CONFIDENT else discord.Colour.green(),
        )
        titles.append(("", result.filename, verdict))
        files.append(discord.File(io.BytesIO(picture), filename=preview_name))
        embed.set_image(url=f"attachment://{preview_name}")
        embed.set_footer(text=f"model version {prediction.version} · {caption}")
        embeds.append(embed)
    room = MAX_EMBEDS_TOTAL - sum(len(embed) + len(before) + len(after) for embed, (before, _, after) in zip(embeds, titles))
    longest = name_room([len(name) for _, name, _ in titles], room)
    for embed, (before, name, after) in zip(embeds, titles):
        embed.title = before + shorten(name, min(longest, MAX_TITLE - len(before) - len(after))) + after
    return embeds, files


def name_room(lengths: Sequence[int], room: int) -> int:
    """The longest a name may be so that names of these lengths fit in `room` characters together: the shorter
    names are kept whole and the longer ones share what is left equally (at least one character each)."""
    left, names = room, len(lengths)
    for length in sorted(lengths):
        share = left // names
        if length > share:
            return max(1, share)
        left -= length
        names -= 1
    return max(lengths, default=0)


# -- the served model --------------------------------------------------------------------------


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


def model_list(rows: Sequence[tuple[int, bool, ModelCard | None]], hidden: int) -> str:
    """`!model`: the versions, newest first, the served one marked (`card` None: damaged)."""
    lines = [f"  v{version}  (damaged)" if card is None else
             f"{'▶' if served else ' '} v{version}  {card.test_accuracy:.2%}  {card.created}" for version, served, card in rows]
    more = f"\n…and {hidden} older versions" if hidden > 0 else ""
    return "Model versions (▶ is serving):\n```\n" + "\n".join(lines) + f"\n```{more}"


def rolled_back(before: int | None, version: int, accuracy: float) -> str:
    return f"Rolled back from version {before} to version {version} (test accuracy {accuracy:.2%}); it is now serving."


def rollback_not_loaded(version: int, before: int | None) -> str:
    return f"The store now points at version {version}, but loading it failed (see my log); version {before} keeps serving."


# -- retraining --------------------------------------------------------------------------------


def describe_progress(progress: Progress | None) -> str:
    """Where a retrain is, in one line."""
    if progress is None:
        return "loading TensorFlow"
    return f"epoch {progress.epoch}/{progress.epochs}, {progress.fraction:.0%} done, about {duration(progress.eta_seconds)} left"


def retrain_running(requested_by: str, progress: Progress | None, prefix: str) -> str:
    return (f"A retrain requested by {requested_by} is already running ({describe_progress(progress)}). "
            f"`{prefix}retrain cancel` stops it.")


def retrain_elsewhere(holder: str) -> str:
    """Another process (another bot, train.py) is training into the same store: one trainer at a time."""
    return f"Another retrain is already running on this model store: {holder}. One at a time: try again once it is done."


def retrain_cancelled(requested_by: str) -> str:
    return f"Cancelled the retrain requested by {requested_by}; the served model is unchanged."


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


def promotion_reason(decision: PromotionDecision) -> str:
    """Why a new version is served or not, with the figures: `its accuracy is below the floor (96.40% vs …)`."""
    if decision.reason is Reason.NOTHING_SERVED:
        return decision.reason.value
    comparison = (f"{decision.new_accuracy:.2%} vs {decision.served_accuracy:.2%} served; "
                  f"the floor is {decision.floor:.2%}")
    community = decision.community
    if community is None:
        return f"{decision.reason.value} ({comparison})"
    on_community = (f"{community.new_accuracy:.2%} vs {community.served_accuracy:.2%} served "
                    f"on the community test set of {community.images}")
    if decision.reason is Reason.READS_COMMUNITY_WORSE:
        return f"{decision.reason.value} ({on_community})"
    return f"{decision.reason.value} ({comparison}) and it reads the community test set at least as well ({on_community})"


def retrain_outcome_text(outcome: RetrainOutcome) -> tuple[str, str]:
    """The end of a retrain in words: a title and a few lines (Markdown)."""
    keeps = f"Version {outcome.serving} keeps serving."
    done = outcome.done
    if outcome.status is Status.CANCELLED:
        return "Retrain cancelled", f"Nothing was saved; version {outcome.serving} keeps serving."
    if done is None:
        return "Retrain failed", f"{outcome.error}\n{keeps}"
    summary = (f"Version {done.version}: test accuracy **{done.test_accuracy:.2%}**, loss {done.test_loss:.4f}, "
               f"trained in {done.fit_seconds:.0f} s.")
    why = promotion_reason(outcome.decision) if outcome.decision is not None else ""
    if outcome.status is Status.SERVING:
        return f"Retrained: version {outcome.serving} is now serving", f"{summary}\nPromoted because {why}."
    not_served = f"Retrained: version {done.version} saved, not served"
    if outcome.error is not None:
        return not_served, f"{summary}\nPromoting it failed: {outcome.error}. {keeps}"
    return not_served, f"{summary}\nNot promoted because {why}. {keeps}"


def retrain_outcome(outcome: RetrainOutcome) -> discord.Embed:
    title, description = retrain_outcome_text(outcome)
    return discord.Embed(title=shorten(title, MAX_TITLE), description=description, colour=OUTCOME_COLOURS[outcome.status])


def retrain_crashed() -> discord.Embed:
    return discord.Embed(title="Retrain failed", colour=discord.Colour.red(),
                         description="Something went wrong on my side; the details are in my log.")


# -- community corrections ---------------------------------------------------------------------


def which_digit_question(numbers: Sequence[str]) -> str:
    return f"Which digit did I get wrong? I read {' '.join(n for n in numbers if n)}."


def what_is_it_question(read: int | str) -> str:
    """`What is it really? I read 3.` (or, once a digit of several was chosen, `What is it really? (digit 2 of …)`)."""
    return f"What is it really? I read {read}." if isinstance(read, int) else f"What is it really? ({read})"


def digit_choice(numbers: Sequence[str], picture: int, digit: int, predicted: int) -> str:
    """How the choice of a digit (`digit` of `picture`'s number) names it: `picture 2: digit 3 of 2026, read as 2`."""
    number = numbers[picture]
    where = f"digit {digit + 1} of {number}" if len(number) > 1 else "the digit"
    if len(numbers) > 1:
        where = f"picture {picture + 1}: {where}"
    return f"{where}, read as {predicted}"


def vote_thanks(outcome: VoteOutcome, admin: bool, quorum: int) -> str:
    """`Thanks, noted as 8. 1 of the 2 votes needed so far.`"""
    if outcome.status == "accepted":
        standing = "Confirmed: the next retrain learns it." if admin else "Enough members agree: the next retrain learns it."
    else:
        standing = f"{outcome.agreeing} of the {quorum} votes needed so far."
    return f"Thanks, noted as {outcome.label}. {standing}"


def corrections_summary(summary: CorrectionsSummary, quorum: int, prefix: str) -> tuple[discord.Embed, list[discord.File]]:
    """`!corrections`: counts, agreement, and the latest examples as a picture grid."""
    agreement = "no votes yet" if summary.agreement is None else f"{summary.agreement:.0%} of the votes agree"
    embed = discord.Embed(
        title="Community corrections",
        description=(f"**{summary.accepted}** accepted · **{summary.pending}** pending · **{summary.disputed}** "
                     f"disputed\n{plural(summary.votes, 'vote')} from {plural(summary.contributors, 'member')}; "
                     f"{agreement}.\n"
                     f"An example is learned once an admin confirms it or {quorum} members agree "
                     f"and fewer disagree. `{prefix}corrections remove <id>` deletes one, "
                     f"`{prefix}corrections purge @member` all of a member's."),
        colour=discord.Colour.blurple(),
    )
    files = []
    if summary.latest:
        captions = [f"#{e.id} {'?' if e.label is None else e.label} {e.status[0]}" for e in summary.latest]
        picture = grid_png([e.image for e in summary.latest], captions)
        files.append(discord.File(io.BytesIO(picture), filename="corrections.png"))
        embed.set_image(url="attachment://corrections.png")
        embed.set_footer(text="latest first: #id, label, a(ccepted) p(ending) d(isputed)")
    return embed, files


def purged(rows: int, mention: str) -> str:
    return f"Deleted {rows} rows contributed by {mention}."


def removed(example_id: int, found: bool) -> str:
    return f"Removed example #{example_id}." if found else f"There is no example #{example_id}."


def forgotten(rows: int) -> str:
    return f"Done: deleted {rows} rows you contributed." if rows else "I keep nothing you contributed."
