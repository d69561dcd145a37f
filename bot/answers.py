"""The bot's recent answers, and what correcting one needs from them. Plain Python: no Discord here.

An answer's "Wrong?" button carries, in its custom_id, the model version and what each picture read
(`digitbot:wrong:v3:7,,2026`: a 7, an unreadable picture, the number 2026), so that a click after a restart still
knows what was answered. The 28×28 inputs the model saw are kept in `RecentAnswers` (bounded, in memory); after a
restart the corrections cog rebuilds them from the original post.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from digits.community import Answer, CommunityError
from digits.inference import Prediction

MAX_CUSTOM_ID = 100  # Discord's limit on a component's custom_id
MAX_CHOICES = 25  # Discord's limit on a select's options: the digits of one answer that can be corrected
REMEMBERED = 2000  # answers kept with their inputs; older ones are rebuilt from the original post
WRONG_TEMPLATE = r"digitbot:wrong:v(?P<version>[0-9]+):(?P<read>[0-9,]*)"
_WRONG = re.compile(WRONG_TEMPLATE)


class Refused(CommunityError):
    """A correction that cannot be taken; the message says why, politely, and nothing was changed."""


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
    """One digit of an answer: its position among all the digits the reply answered, and where it was read."""

    position: int
    picture: int  # index of the picture in the message
    digit: int  # index of the digit in that picture's number
    predicted: int


def places(numbers: Sequence[str]) -> list[Place]:
    """Every digit an answer read, in order; a reply's digits are numbered across its pictures."""
    found: list[Place] = []
    for picture, number in enumerate(numbers):
        for digit, character in enumerate(number):
            found.append(Place(len(found), picture, digit, int(character)))
    return found


def describe(place: Place, numbers: Sequence[str]) -> str:
    """How the choice of a digit names it: `picture 2: digit 3 of 2026, read as 2`."""
    number = numbers[place.picture]
    where = f"digit {place.digit + 1} of {number}" if len(number) > 1 else "the digit"
    if len(numbers) > 1:
        where = f"picture {place.picture + 1}: {where}"
    return f"{where}, read as {place.predicted}"


@dataclass(frozen=True)
class Answered:
    """What a reply answered, as its "Wrong?" button carries it, with the inputs of those digits."""

    version: int
    numbers: tuple[str, ...]  # what each picture read ("" for one that was not read), as in the button's custom_id
    inputs: tuple[np.ndarray, ...]  # the 28×28 input (uint8) of each digit, in `places` order


def answered(predictions: Sequence[Prediction | None]) -> Answered | None:
    """The pictures' predictions (None for a picture that could not be read); None when none was read."""
    read = [p for p in predictions if p is not None]
    if not read:
        return None
    parsed = parse_wrong(wrong_custom_id(read[0].version, [p.number if p else "" for p in predictions]))
    assert parsed is not None
    version, numbers = parsed
    inputs = tuple(d.input_image for p in predictions[: len(numbers)] if p is not None for d in p.digits)
    return Answered(version, numbers, inputs)


@dataclass(frozen=True)
class AnswerRecord:
    """One reply of the bot: where it is, whose picture it answered, and every digit's 28×28 input (uint8)."""

    guild_id: int | None
    channel_id: int
    reply_id: int
    author_id: int  # who posted the picture
    original_id: int | None  # the message holding the picture (None for /digit, whose picture was the command's)
    version: int
    numbers: tuple[str, ...]  # what each picture read, as in the button's custom_id
    inputs: tuple[np.ndarray, ...]  # one per digit, in `places` order

    def answer(self, position: int) -> Answer:
        """The digit at `position` as the corrections database takes it."""
        digits = places(self.numbers)
        if not 0 <= position < len(digits) or len(self.inputs) != len(digits):
            raise Refused("That digit is not part of my answer.")
        image = np.asarray(self.inputs[position], dtype=np.float32) / 255
        return Answer(self.guild_id, self.channel_id, self.reply_id, position, self.author_id, image, self.version,
                      digits[position].predicted)


class RecentAnswers:
    """The latest answers by reply id, oldest forgotten first (REMEMBERED at most)."""

    def __init__(self, limit: int = REMEMBERED) -> None:
        self.limit = limit
        self._records: OrderedDict[int, AnswerRecord] = OrderedDict()

    def remember(self, record: AnswerRecord) -> None:
        self._records[record.reply_id] = record
        self._records.move_to_end(record.reply_id)
        while len(self._records) > self.limit:
            self._records.popitem(last=False)

    def get(self, reply_id: int) -> AnswerRecord | None:
        return self._records.get(reply_id)

    def __len__(self) -> int:
        return len(self._records)
