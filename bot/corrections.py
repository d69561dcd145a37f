"""The correction flow of every reply, an object the bot holds: "Wrong?", then which digit, then what it really is.

What a reply answered is in plain Python first (no Discord): a reply's "Wrong?" button carries, in its custom_id,
the model version and what each picture read (`digitbot:wrong:v3:7,,2026`: a 7, an unreadable picture, the number
2026), so that a click after a restart still knows what was answered. The 28×28 inputs the model saw are kept in
`RecentReplies` (bounded, in memory); after a restart they are rebuilt from the original post, read again under the
same limits as any download.

The three components are discord.py DynamicItems: a click is matched by its custom_id's template and everything it
needs is in the custom_id, so they keep working after a restart. A click opens a private (ephemeral) choice; the
choice records the vote in the corrections database (`digits.community`, off the event loop) and that private
message becomes "Thanks, noted as 7".
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, cast

import discord
import numpy as np

from bot import embeds as wording
from bot.attachments import Downloader, is_image
from bot.checks import is_admin
from bot.config import BotSettings
from bot.replies import report_error
from digits.community import AnsweredDigit, CommunityError, Corrections
from digits.inference import InferenceService, Prediction
from digits.reading import ImageError

log = logging.getLogger(__name__)

# -- what a reply answered, in plain Python ------------------------------------------------------------------------

MAX_CUSTOM_ID = 100  # Discord's limit on a component's custom_id
MAX_CHOICES = 25  # Discord's limit on a select's options: the digits of one reply that can be corrected
REMEMBERED = 2000  # replies kept with their inputs; older ones are rebuilt from the original post
WRONG_TEMPLATE = r"digitbot:wrong:v(?P<version>[0-9]+):(?P<read>[0-9,]*)"
_WRONG = re.compile(WRONG_TEMPLATE)


def wrong_custom_id(version: int, numbers: Sequence[str]) -> str:
    """The "Wrong?" button's custom_id: the version and what each picture read ("" for one that was not read).

    Pictures that would take it over Discord's 100 characters are left out (up to 10 pictures of up to 12 digits
    each could): their digits cannot be corrected.
    """
    custom_id = f"digitbot:wrong:v{version}:"
    for index, number in enumerate(numbers):
        longer = custom_id + ("," if index else "") + number
        if len(longer) > MAX_CUSTOM_ID:
            break
        custom_id = longer
    return custom_id


def parse_wrong(custom_id: str) -> tuple[int, tuple[str, ...]] | None:
    """(version, what each picture read) from a "Wrong?" custom_id; None if it is not one."""
    match = _WRONG.fullmatch(custom_id)
    if match is None:
        return None
    return int(match["version"]), tuple(match["read"].split(","))


@dataclass(frozen=True)
class Place:
    """One digit of a reply: its position among all the digits the reply answered, and where it was read."""

    position: int
    picture: int  # index of the picture in the message
    digit: int  # index of the digit in that picture's number
    predicted: int


def places(numbers: Sequence[str]) -> list[Place]:
    """Every digit a reply read, in order; a reply's digits are numbered across its pictures."""
    found: list[Place] = []
    for picture, number in enumerate(numbers):
        for digit, character in enumerate(number):
            found.append(Place(len(found), picture, digit, int(character)))
    return found


@dataclass(frozen=True)
class AnsweredDigits:
    """The digits a reply answered, as its "Wrong?" button names them, with their inputs."""

    version: int
    numbers: tuple[str, ...]  # what each picture read ("" for one that was not read), as in the button's custom_id
    inputs: tuple[np.ndarray, ...]  # the 28×28 input (uint8) of each digit, in `places` order


def answered_digits(predictions: Sequence[Prediction | None]) -> AnsweredDigits | None:
    """What a reply to these pictures answers (None for a picture that could not be read); None when none was read."""
    read = [p for p in predictions if p is not None]
    if not read:
        return None
    parsed = parse_wrong(wrong_custom_id(read[0].version, [p.number if p else "" for p in predictions]))
    assert parsed is not None
    version, numbers = parsed
    inputs = tuple(d.input_image for p in predictions[: len(numbers)] if p is not None for d in p.digits)
    return AnsweredDigits(version, numbers, inputs)


@dataclass(frozen=True)
class ReplyRecord:
    """One reply of the bot: where it is, whose picture it answered, and the digits it answered."""

    guild_id: int | None
    channel_id: int
    reply_id: int
    author_id: int  # who posted the picture
    original_id: int | None  # the message holding the picture (None for /digit, whose picture was the command's)
    answered: AnsweredDigits

    def digit(self, position: int) -> AnsweredDigit | None:
        """The digit at `position` as the corrections database takes it; None if the reply has no such digit."""
        digits = places(self.answered.numbers)
        if not 0 <= position < len(digits) or len(self.answered.inputs) != len(digits):
            return None
        image = np.asarray(self.answered.inputs[position], dtype=np.float32) / 255
        return AnsweredDigit(self.guild_id, self.channel_id, self.reply_id, position, self.author_id, image,
                             self.answered.version, digits[position].predicted)


class RecentReplies:
    """The latest replies by id, oldest forgotten first (REMEMBERED at most)."""

    def __init__(self, limit: int = REMEMBERED) -> None:
        self.limit = limit
        self._records: OrderedDict[int, ReplyRecord] = OrderedDict()

    def remember(self, record: ReplyRecord) -> None:
        self._records[record.reply_id] = record
        self._records.move_to_end(record.reply_id)
        while len(self._records) > self.limit:
            self._records.popitem(last=False)

    def get(self, reply_id: int) -> ReplyRecord | None:
        return self._records.get(reply_id)

    def __len__(self) -> int:
        return len(self._records)


# -- the flow ------------------------------------------------------------------------------------------------------


class Refused(CommunityError):
    """A correction that cannot be taken; the message says why, politely, and nothing was changed."""


class CorrectionsFlow:
    """What a click on a reply's components does, and the memory of recent replies it needs."""

    def __init__(self, client: discord.Client, database: Corrections, inference: InferenceService,
                 downloads: Downloader, settings: BotSettings) -> None:
        self.client = client
        self.database = database
        self.inference = inference
        self.downloads = downloads
        self.settings = settings
        self.recent = RecentReplies()

    # -- answering -----------------------------------------------------------------------------

    def remember(self, sent: discord.Message, answered: AnsweredDigits | None, author_id: int,
                 original_id: int | None) -> None:
        """Keep the inputs of a reply for its "Wrong?" button (bounded: `RecentReplies`)."""
        if answered is not None:
            guild_id = sent.guild.id if sent.guild else None
            self.recent.remember(ReplyRecord(guild_id, sent.channel.id, sent.id, author_id, original_id, answered))

    # -- the clicks ----------------------------------------------------------------------------

    async def on_wrong(self, interaction: discord.Interaction[Any], numbers: tuple[str, ...]) -> None:
        """"Wrong?": a private choice of the digit (for several) or straight away of what it really is."""
        try:
            self._check_voter(interaction.user)
            assert interaction.message is not None
            reply_id = interaction.message.id
            digits = places(numbers)
            if len(digits) == 1:
                await interaction.response.send_message(wording.what_is_it_question(digits[0].predicted),
                                                        view=label_view(reply_id, 0), ephemeral=True)
            else:
                await interaction.response.send_message(wording.which_digit_question(numbers),
                                                        view=which_view(reply_id, numbers), ephemeral=True)
        except Exception as error:
            await report_error(error, interaction)

    async def on_which(self, interaction: discord.Interaction[Any], reply_id: int, position: int, chosen: str) -> None:
        """A digit of a number was picked: the same private message now asks what it really is (UPDATE_MESSAGE)."""
        try:
            self._check_voter(interaction.user)
            await interaction.response.edit_message(content=wording.what_is_it_question(chosen),
                                                    view=label_view(reply_id, position))
        except Exception as error:
            await report_error(error, interaction)

    async def on_label(self, interaction: discord.Interaction[Any], reply_id: int, position: int, label: int) -> None:
        """The vote: recorded, and the private message says "Thanks, noted as 7" (nothing in the channel)."""
        try:
            self._check_voter(interaction.user)
            await interaction.response.defer()  # DEFERRED_UPDATE_MESSAGE: reading the original may take a moment
            assert isinstance(interaction.channel, discord.abc.Messageable)
            digit = await self.digit_at(interaction.channel, reply_id, position)
            admin = is_admin(self.settings, interaction.user)
            outcome = await asyncio.to_thread(self.database.vote, digit, interaction.user.id, label, admin=admin)
            await interaction.edit_original_response(content=wording.vote_thanks(outcome, admin, self.database.quorum),
                                                     view=None)
            log.info("correction #%d by %d: %d → %d (%s)", outcome.example_id, interaction.user.id, digit.predicted,
                     label, outcome.status)
        except Exception as error:
            await report_error(error, interaction)

    @staticmethod
    def _check_voter(user: discord.abc.User) -> None:
        if user.bot:
            raise Refused(wording.BOTS_CANNOT_CORRECT)

    # -- what a vote is about ------------------------------------------------------------------

    async def digit_at(self, channel: discord.abc.Messageable, reply_id: int, position: int) -> AnsweredDigit:
        """The digit at `position` of the reply `reply_id`, as a vote records it; Refused when it cannot be had.

        From the recent replies kept in memory, else (after a restart) rebuilt from the original post: its pictures
        read again by the same preprocessing (the 28×28 input does not depend on the model), the version and the
        digits read from the reply's "Wrong?" button. A deleted original is refused either way.
        """
        record = self.recent.get(reply_id)
        if record is None:
            record = await self._rebuild(channel, reply_id)
            self.recent.remember(record)
        elif record.original_id is not None:
            await _fetch(channel, record.original_id, wording.PICTURE_DELETED)
        digit = record.digit(position)
        if digit is None:
            raise Refused(wording.NOT_PART_OF_ANSWER)
        return digit

    async def _rebuild(self, channel: discord.abc.Messageable, reply_id: int) -> ReplyRecord:
        reply = await _fetch(channel, reply_id, wording.ANSWER_DELETED)
        button = wrong_button_of(reply)
        if reply.author != self.client.user or button is None:
            raise Refused(wording.NOT_MY_ANSWER)
        version, numbers = button
        metadata = reply.interaction_metadata
        original_id = reply.reference.message_id if reply.reference else (metadata.target_message_id if metadata else None)
        if original_id is None:
            # A /digit reply (its picture came with the command), or one sent without Read Message History.
            raise Refused(wording.PICTURE_GONE_AFTER_RESTART)
        original = await _fetch(channel, original_id, wording.PICTURE_DELETED)
        images = [a for a in original.attachments if is_image(a)][: len(numbers)]
        if not images and self._content_hidden(original):
            raise Refused(wording.PICTURE_HIDDEN)
        inputs: list[np.ndarray] = []
        for attachment, number in zip(images, numbers):
            if not number:
                continue  # that picture was not read: it has no digits to correct
            reading = await self._read_again(attachment, reply_id)
            if len(reading.digits) != len(number):
                raise Refused(wording.PICTURE_CHANGED)
            inputs += [digit.input_image for digit in reading.digits]
        if len(images) < len(numbers) and any(numbers[len(images):]):
            raise Refused(wording.PICTURE_CHANGED)
        guild_id = reply.guild.id if reply.guild else None
        return ReplyRecord(guild_id, reply.channel.id, reply_id, original.author.id, original.id,
                           AnsweredDigits(version, numbers, tuple(inputs)))

    def _content_hidden(self, message: discord.Message) -> bool:
        """Whether Discord hides this message's attachments from the bot (events/gateway › Message Content Intent,
        over REST too): the bot runs without the intent, and the message is in a server and does not mention it."""
        user = self.client.user
        return (not self.client.intents.message_content and message.guild is not None
                and (user is None or all(mentioned.id != user.id for mentioned in message.mentions)))

    async def _read_again(self, attachment: discord.Attachment, reply_id: int) -> Prediction:
        """The original picture read again as it was read (the network chooses how a number splits into digits)."""
        async with self.downloads.fetch_all([attachment]) as [data]:
            try:
                if isinstance(data, str):
                    raise ImageError(data)
                return await self.inference.predict_async(data)
            except ImageError as error:
                log.info("could not read the picture of reply %d again: %s", reply_id, error)
                raise Refused(wording.CANNOT_READ_AGAIN) from None


async def _fetch(channel: discord.abc.Messageable, message_id: int, gone: str) -> discord.Message:
    try:
        return await channel.fetch_message(message_id)
    except discord.NotFound:
        raise Refused(gone) from None
    except discord.Forbidden:  # no Read Message History here
        raise Refused(wording.NO_HISTORY) from None


def wrong_button_of(message: discord.Message) -> tuple[int, tuple[str, ...]] | None:
    """(version, what each picture read) from the "Wrong?" button of one of the bot's replies; None if it has none."""
    for row in message.components:
        for component in getattr(row, "children", []):
            parsed = parse_wrong(getattr(component, "custom_id", None) or "")
            if parsed is not None:
                return parsed
    return None


# -- the components --------------------------------------------------------------------------


class _HoldsCorrections(Protocol):
    corrections: CorrectionsFlow


def _flow(interaction: discord.Interaction[Any]) -> CorrectionsFlow:
    """The flow of the bot that received the click (`DigitBot.corrections`)."""
    return cast(_HoldsCorrections, interaction.client).corrections


class WrongButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=WRONG_TEMPLATE):
    """Under every reply: opens a private choice of what the digit really is."""

    def __init__(self, version: int, numbers: Sequence[str]) -> None:
        self.version, self.numbers = version, tuple(numbers)
        super().__init__(discord.ui.Button(label="Wrong?", style=discord.ButtonStyle.secondary,
                                           custom_id=wrong_custom_id(version, numbers)))

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any],
                             match: re.Match[str], /) -> WrongButton:
        parsed = parse_wrong(match.string)
        assert parsed is not None  # the template matched
        return cls(*parsed)

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await _flow(interaction).on_wrong(interaction, self.numbers)


class WhichDigit(discord.ui.DynamicItem[discord.ui.Select[Any]], template=r"digitbot:which:(?P<reply>[0-9]+)"):
    """For a reply of several digits: which one is wrong."""

    def __init__(self, reply_id: int, choices: Sequence[tuple[int, str]] = ()) -> None:
        self.reply_id = reply_id
        options = [discord.SelectOption(label=text, value=str(position)) for position, text in choices]
        super().__init__(discord.ui.Select(custom_id=f"digitbot:which:{reply_id}", placeholder="Which digit is wrong?",
                                           options=options))

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any],
                             match: re.Match[str], /) -> WhichDigit:
        return cls(int(match["reply"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        position = int(self.item.values[0])
        chosen = next((o.label for o in _options(interaction) if o.value == str(position)), "that digit")
        await _flow(interaction).on_which(interaction, self.reply_id, position, chosen)


class RealLabel(discord.ui.DynamicItem[discord.ui.Select[Any]],
                template=r"digitbot:label:(?P<reply>[0-9]+):(?P<position>[0-9]+)"):
    """0–9: what the digit really is. Choosing records the vote."""

    def __init__(self, reply_id: int, position: int) -> None:
        self.reply_id, self.position = reply_id, position
        options = [discord.SelectOption(label=str(digit), value=str(digit)) for digit in range(10)]
        super().__init__(discord.ui.Select(custom_id=f"digitbot:label:{reply_id}:{position}",
                                           placeholder="It is really a…", options=options))

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any],
                             match: re.Match[str], /) -> RealLabel:
        return cls(int(match["reply"]), int(match["position"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await _flow(interaction).on_label(interaction, self.reply_id, self.position, int(self.item.values[0]))


def _options(interaction: discord.Interaction[Any]) -> list[discord.SelectOption]:
    """The options of the select that was used, as the message shows them."""
    data: dict[str, Any] = dict(interaction.data or {})
    custom_id = data.get("custom_id")
    view = discord.ui.View.from_message(interaction.message) if interaction.message else None
    for item in view.children if view else []:
        if isinstance(item, discord.ui.Select) and item.custom_id == custom_id:
            return item.options
    return []


DYNAMIC_ITEMS = (WrongButton, WhichDigit, RealLabel)


def wrong_view(predictions: Sequence[Prediction | None]) -> tuple[discord.ui.View | None, AnsweredDigits | None]:
    """The "Wrong?" button for a reply to these pictures, and what it answers; (None, None) when nothing was read."""
    answered = answered_digits(predictions)
    if answered is None:
        return None, None
    view = discord.ui.View(timeout=None)
    view.add_item(WrongButton(answered.version, answered.numbers))
    return view, answered


def which_view(reply_id: int, numbers: Sequence[str]) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    choices = [(place.position, wording.digit_choice(numbers, place.picture, place.digit, place.predicted)) for place in places(numbers)[:MAX_CHOICES]]
    view.add_item(WhichDigit(reply_id, choices))
    return view


def label_view(reply_id: int, position: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(RealLabel(reply_id, position))
    return view
