"""What the bot's replies answered, in plain Python (no Discord here): what a correction needs from a reply.

A reply's "Wrong?" button carries, in its custom_id, the model version and what each picture read
(`digitbot:wrong:v3:7,,2026`: a 7, an unreadable picture, the number 2026), so that a click after a restart still
knows what was answered. The 28×28 inputs the model saw are kept in `RecentReplies` (bounded, in memory); after a
restart the corrections flow rebuilds them from the original post (`bot.corrections`).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from digits.community import AnsweredDigit
from digits.inference import Prediction

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
