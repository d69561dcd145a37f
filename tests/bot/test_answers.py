"""What a correction needs from a reply, in plain Python: the "Wrong?" custom_id, the digits' places, the bounded
memory of recent answers, and the picture grid of `!corrections`."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from bot.answers import (
    MAX_CUSTOM_ID,
    AnsweredDigits,
    RecentReplies,
    ReplyRecord,
    answered_digits,
    parse_wrong,
    places,
    wrong_custom_id,
)
from bot.embeds import digit_choice
from digits.inference import DigitReading, Prediction
from digits.render import grid_png


def prediction(number: str, version: int = 3) -> Prediction:
    readings = tuple(DigitReading(int(d), 0.9, (0.1,) * 10, np.full((28, 28), int(d) * 20, np.uint8)) for d in number)
    return Prediction(readings, version)


def test_the_button_carries_the_version_and_what_each_picture_read() -> None:
    custom_id = wrong_custom_id(3, ["7", "", "2026"])
    assert custom_id == "digitbot:wrong:v3:7,,2026"
    assert parse_wrong(custom_id) == (3, ("7", "", "2026"))
    assert parse_wrong("digitbot:label:1:0") is None and parse_wrong("digitbot:wrong:v3:7a") is None


def test_pictures_that_do_not_fit_in_100_characters_are_left_out() -> None:
    numbers = ["123456789012"] * 10  # Discord allows 10 pictures, the reader 12 digits each
    custom_id = wrong_custom_id(12, numbers)
    assert len(custom_id) <= MAX_CUSTOM_ID
    parsed = parse_wrong(custom_id)
    assert parsed is not None and 1 <= len(parsed[1]) < 10 and all(n == numbers[0] for n in parsed[1])
    record = answered_digits([prediction(n, 12) for n in numbers])
    assert record is not None and record.numbers == parsed[1]
    assert len(record.inputs) == 12 * len(parsed[1])  # only the digits the button can name are kept


def test_digits_are_numbered_across_the_pictures_and_named_for_people() -> None:
    numbers = ("7", "", "26")
    found = places(numbers)
    assert [(p.position, p.picture, p.digit, p.predicted) for p in found] == [(0, 0, 0, 7), (1, 2, 0, 2), (2, 2, 1, 6)]
    assert digit_choice(found[2], numbers) == "picture 3: digit 2 of 26, read as 6"
    assert digit_choice(places(("2026",))[0], ("2026",)) == "digit 1 of 2026, read as 2"
    assert digit_choice(places(("5",))[0], ("5",)) == "the digit, read as 5"


def test_an_answer_gives_the_database_its_digit_as_float_inputs() -> None:
    read = answered_digits([prediction("7"), None, prediction("26")])
    assert read is not None and read.numbers == ("7", "", "26") and read.version == 3
    record = ReplyRecord(1, 2, 3, 4, 5, read)
    digit = record.digit(2)
    assert digit is not None and (digit.message_id, digit.position, digit.author_id, digit.predicted) == (3, 2, 4, 6)
    assert digit.image.dtype == np.float32 and digit.image.max() == pytest.approx(120 / 255)
    assert record.digit(3) is None  # not part of the reply
    assert answered_digits([None, None]) is None


def test_recent_replies_forget_the_oldest_first() -> None:
    memory = RecentReplies(limit=2)
    records = [ReplyRecord(None, 1, reply_id, 1, None, AnsweredDigits(1, ("1",), (np.zeros((28, 28), np.uint8),)))
               for reply_id in (10, 11, 12)]
    for record in records:
        memory.remember(record)
    assert len(memory) == 2 and memory.get(10) is None and memory.get(12) is records[2]


def test_the_grid_shows_each_example_with_its_caption() -> None:
    images = [np.eye(28, dtype=np.float32), np.full((28, 28), 255, np.uint8), np.zeros((28, 28), np.float32)]
    picture = Image.open(io.BytesIO(grid_png(images, ["#1 7 a", "#2 1 p", "#3 ? d"], columns=2)))
    assert picture.size == (2 * (84 + 6) + 6, 2 * (84 + 16 + 6) + 6)
    pixels = np.asarray(picture)
    assert pixels[6 + 3 * 27, 6 + 3 * 27] == 255 and pixels[6, 6 + 3 * 27] == 0  # the diagonal of the first
    assert (pixels[6:90, 96:180] == 255).all()  # the second, all ink
    assert Image.open(io.BytesIO(grid_png([], []))).size[0] > 0
