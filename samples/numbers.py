"""Numbers made of MNIST test digits, read through the inference service and scored (tests and benchmarks only).

How a reading is scored (issue 13):

    whole-number accuracy   the share of numbers read exactly (every digit, none missing, none extra)
    per-digit accuracy      the share of the numbers' digits read right: when the reading has as many digits as
                            the number, its digits are compared position by position; otherwise the segmentation
                            is wrong and every digit of that number counts as wrong
    aligned per-digit       the share of the numbers' digits read right when the reading is aligned with the
                            number (1 − edit distance / length, at least 0: OCR's character accuracy); a digit
                            missed or added costs one digit, not the whole number; reported, not a target
    segmentation right      the share of numbers read with the right count of digits
    raw accuracy            the network's accuracy on the very same MNIST digits as 28×28 images (no picture)

The targets: whole-number accuracy at least 85 % of raw^length (what reading each digit independently at the
raw accuracy predicts), for each length; per-digit accuracy within 3 points of raw over all the numbers' digits
(`all_digits`). Per-digit accuracy is reported for each length and style too, where it is coarse: one number of
6 digits read with the wrong count moves a cell of 100 such numbers by 1 point.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from digits.inference import InferenceService
from digits.reading import ImageError
from samples.pictures import NumberStyle

WHOLE_SHARE = 0.85
DIGIT_TOLERANCE = 0.03


@dataclass(frozen=True)
class NumberScores:
    """How well numbers of one length and style were read (see the module's docstring)."""

    numbers: int
    length: int
    whole: float
    per_digit: float
    aligned: float
    segmented: float
    raw: float

    @property
    def whole_target(self) -> float:
        return WHOLE_SHARE * self.raw ** self.length

    @property
    def per_digit_target(self) -> float:
        return self.raw - DIGIT_TOLERANCE

    @property
    def whole_met(self) -> bool:
        return self.whole >= self.whole_target

    @property
    def met(self) -> bool:
        return self.whole_met and self.per_digit >= self.per_digit_target


@dataclass(frozen=True)
class AllDigitScores:
    """Per-digit and raw accuracy over every digit of many numbers: what the per-digit target is judged on."""

    per_digit: float
    raw: float

    @property
    def target(self) -> float:
        return self.raw - DIGIT_TOLERANCE

    @property
    def met(self) -> bool:
        return self.per_digit >= self.target


def all_digits(scores: Sequence[NumberScores]) -> AllDigitScores:
    """The scores of every digit of the numbers scored, each row weighted by its count of digits."""
    weights = [s.numbers * s.length for s in scores]
    return AllDigitScores(sum(w * s.per_digit for w, s in zip(weights, scores)) / sum(weights),
                          sum(w * s.raw for w, s in zip(weights, scores)) / sum(weights))


def score(readings: Sequence[str | None], truths: Sequence[str]) -> tuple[float, float, float, float]:
    """(whole-number accuracy, per-digit accuracy, aligned per-digit accuracy, segmentation-right share); None is an
    unreadable picture."""
    whole = digits_right = aligned_right = segmented = 0
    for reading, truth in zip(readings, truths, strict=True):
        if reading is None:
            continue
        aligned_right += max(0, len(truth) - edit_distance(reading, truth))
        if len(reading) != len(truth):
            continue
        segmented += 1
        whole += reading == truth
        digits_right += sum(a == b for a, b in zip(reading, truth))
    total_digits = sum(len(truth) for truth in truths)
    return whole / len(truths), digits_right / total_digits, aligned_right / total_digits, segmented / len(truths)


def edit_distance(a: str, b: str) -> int:
    """The fewest digits to change, add or remove to turn `a` into `b` (Levenshtein)."""
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        diagonal, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            diagonal, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diagonal + (x != y))
    return row[-1]


ROUND = (0, 6, 8, 9)


def numbers(images: np.ndarray, labels: np.ndarray, style: NumberStyle, length: int, count: int,
            rng: np.random.Generator, lone_ones: bool = False) -> tuple[list[bytes], list[str], np.ndarray]:
    """`count` pictures of `length`-digit numbers of random test digits: (pictures, their numbers, digit indices).
    With `lone_ones`, each number starts or ends with a 1 beside a round digit (a 0, 6, 8 or 9)."""
    picks = rng.integers(0, len(images), (count, length))
    if lone_ones:
        ones, rounds = np.flatnonzero(labels == 1), np.flatnonzero(np.isin(labels, ROUND))
        for pick in picks:
            end = int(rng.choice([0, -1]))
            pick[end], pick[1 if end == 0 else -2] = rng.choice(ones), rng.choice(rounds)
    pictures = [style([images[i] for i in pick], rng) for pick in picks]
    return pictures, ["".join(str(labels[i]) for i in pick) for pick in picks], picks


def measure(service: InferenceService, raw_right: np.ndarray, images: np.ndarray, labels: np.ndarray,
            styles: Sequence[NumberStyle], length: int, count: int, rng: np.random.Generator,
            lone_ones: bool = False) -> NumberScores:
    """Scores of `count` numbers of `length` digits in each of `styles`, pooled; `raw_right[i]` says whether the
    network reads raw test image i right."""
    pictures: list[bytes] = []
    truths: list[str] = []
    picks = []
    for style in styles:
        styled, numbers_read, digits_used = numbers(images, labels, style, length, count, rng, lone_ones)
        pictures += styled
        truths += numbers_read
        picks.append(digits_used)
    readings = [None if isinstance(result, ImageError) else result.number for result in service.predict_batch(pictures)]
    whole, per_digit, aligned, segmented = score(readings, truths)
    return NumberScores(len(truths), length, whole, per_digit, aligned, segmented,
                        float(np.mean(raw_right[np.concatenate(picks)])))
