"""Choosing a number's digits among the runs of its pieces (`digits.reading.splitting`)."""

from __future__ import annotations

import numpy as np

from digits.reading import Segmentation
from digits.reading.segmentation import Piece
from digits.reading.splitting import candidates, choose_runs, unexplained_one


def _four_with_a_tall_left_stroke() -> Segmentation:
    """A 4 written with a tall left stroke, cut at its bar as a number's pieces are: the left stroke, 85 px high and
    12 wide, and, touching it through the bar, the bar and the stem, 110 px high; the number's digits are 100 px high."""
    stroke = np.zeros((85, 12), np.float32)
    stroke[:, 2:10] = 1.0
    rest = np.zeros((110, 60), np.float32)
    rest[60:68, :] = 1.0  # the bar, from the cut to beyond the stem
    rest[:, 36:44] = 1.0  # the stem
    return Segmentation((Piece(5, 0, stroke, (5, 90), (0.0, 12.0)), Piece(0, 12, rest, (0, 110), (12.0, 72.0))),
                        (0.6,), 100.0)


def _readings(*readings: tuple[int, float]) -> np.ndarray:
    """Probabilities of each run: its digit as sure as given, the rest spread over the other nine."""
    probabilities = np.empty((len(readings), 10))
    for row, (digit, confidence) in zip(probabilities, readings):
        row[:] = (1.0 - confidence) / 9
        row[digit] = confidence
    return probabilities


def test_a_digit_read_much_more_surely_with_a_stroke_than_without_it_explains_the_stroke() -> None:
    # A 4 with a tall left stroke, in a number (seed 200's "095843" was read as "0958143"): cut off at the bar, the
    # stroke reads surely as a 1 and the bar and stem still as a 4, 0.96 sure, where the whole 4 reads 0.9999 sure. The
    # stroke is the 4's own, not an unexplained 1: before, the 4 cost 2 more and was read as "14".
    four = candidates(_four_with_a_tall_left_stroke())
    assert four.runs == ((0, 1), (0, 2), (1, 2))
    index = {run: i for i, run in enumerate(four.runs)}
    probabilities = _readings((1, 0.97), (4, 0.9999), (4, 0.96))
    digits, confidences = probabilities.argmax(axis=1), probabilities.max(axis=1)
    assert not unexplained_one(four, (0, 2), index, digits, confidences)
    assert [four.runs[i] for i in choose_runs(four, probabilities)] == [(0, 2)]
    # A 1 touching a digit makes the pair read no more surely than the digit alone, or a little more (an 8 alone 0.81
    # sure, with the 1 0.99): the 1 is still unexplained, and the pair read as two digits.
    probabilities = _readings((1, 0.99), (4, 0.99), (4, 0.81))
    digits, confidences = probabilities.argmax(axis=1), probabilities.max(axis=1)
    assert unexplained_one(four, (0, 2), index, digits, confidences)
    assert [four.runs[i] for i in choose_runs(four, probabilities)] == [(0, 1), (1, 2)]


def _one_and_six(one_group: bool) -> Segmentation:
    """A 1 touching a 6, cut apart: the picture's only stroke group, no wider than tall (`one_group`), or not."""
    one = np.zeros((95, 14), np.float32)
    one[:, 3:11] = 1.0
    six = np.zeros((100, 60), np.float32)
    six[:, 0:8] = six[60:68, :] = six[92:100, :] = six[60:, 52:60] = 1.0
    return Segmentation((Piece(5, 0, one, (5, 100), (0.0, 14.0)), Piece(0, 14, six, (0, 100), (14.0, 74.0))),
                        (0.4,), 100.0, one_group=one_group)


def test_a_pictures_only_stroke_group_is_read_as_two_digits_only_when_both_read_surely_and_it_does_not() -> None:
    # Runs (0, 1): the 1; (0, 2): the pair whole; (1, 2): the 6.
    runs = [(0, 1), (0, 2), (1, 2)]
    sure = _readings((1, 0.999), (6, 0.5), (6, 0.995))
    among_others = candidates(_one_and_six(one_group=False))
    alone = candidates(_one_and_six(one_group=True))
    assert among_others.runs == alone.runs == tuple(runs)
    assert [runs[i] for i in choose_runs(alone, sure)] == [(0, 1), (1, 2)]  # "16", where the whole read as one digit
    # A part read less surely: a 6 cut into a 1 and a 3 or a 0 (at most 0.97 sure on MNIST's and the user-like
    # digits) stays one digit when it is the picture's only group, though among other digits the split would win.
    unsure_part = _readings((1, 0.999), (6, 0.5), (6, 0.97))
    assert [runs[i] for i in choose_runs(among_others, unsure_part)] == [(0, 1), (1, 2)]
    assert [runs[i] for i in choose_runs(alone, unsure_part)] == [(0, 2)]
    # The whole read surely: one digit whatever its parts read (a 6 with a long left stroke read as "61").
    sure_whole = _readings((1, 0.999), (6, 0.95), (6, 0.999))
    assert [runs[i] for i in choose_runs(among_others, sure_whole)] == [(0, 1), (1, 2)]
    assert [runs[i] for i in choose_runs(alone, sure_whole)] == [(0, 2)]
