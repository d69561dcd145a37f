"""Splitting: which runs of a number's pieces are its digits, decided with the network's confidence in each run.

Every run of consecutive pieces that could be one digit is a candidate (`candidate_runs`), framed as 28×28 and
measured where the picture is read (`candidates`, in a reading worker: no pixels of the picture leave it); the network
reads each candidate, and the digits are the runs that cover the pieces left to right with the best total score
(`choose_runs`): the log of the network's (calibrated) confidence in each run plus how plausible its shape is
(`run_prior`), less the strokes each cut between two digits goes through. A run that reads as the same digit with or
without a thin upright stroke at its side does not explain that stroke: the stroke is a 1 (`unexplained_one`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from digits.reading.segmentation import MAX_RUN, Segmentation

# A digit is a run of at most MAX_RUN pieces, at most MAX_RUN_WIDTH digit heights wide. A run scores the log of the
# network's (calibrated) confidence in it, less WIDTH_WEIGHT × the square of how many digit heights wider than
# WIDTH_FREE it is (touching digits read as one), less HEIGHT_WEIGHT per digit height it is shorter than HEIGHT_FREE
# (a part of a digit read as one), less BLANK_WEIGHT per digit height of blank paper between its pieces (two digits
# read as one); each cut between two digits costs CROSSING_WEIGHT per stroke it goes through. The weights were
# chosen on generated numbers (`benchmarks/number_accuracy.py`'s pictures, other seeds than its default and the
# tests').
MAX_RUN_WIDTH = 2.0
WIDTH_FREE, WIDTH_WEIGHT = 0.5, 1.0
HEIGHT_FREE, HEIGHT_WEIGHT = 0.75, 4.0
BLANK_WEIGHT = 2.0
CROSSING_WEIGHT = 1.0
# A run of several pieces whose first or last piece is a 1 (read as one at least ONE_CONFIDENCE sure, at most
# ONE_WIDTH digit heights wide and at least ONE_HEIGHT tall), cut from the rest through at most ONE_CROSSINGS strokes,
# while the rest reads as the run's own digit, leaves the 1 unexplained (the network reads a 6 with a stroke beside
# it as a 6 as surely as the 6 alone): it costs UNEXPLAINED_ONE. The rest must read so at least REST_CONFIDENCE
# sure, and be a whole digit: at least REST_HEIGHT of the run's height (a 4's or a 9's own stem cut off leaves a
# part of the digit much shorter than it). A run that reads as its digit much more surely than the rest does, by more
# than WHOLE_SURER in log-odds (33 times the odds), is explained by the stroke: it is the digit's own (a 4's left
# stroke cut off at its bar leaves a 4 read less surely), where a 1 beside a digit makes the pair read no more surely
# than the digit alone, or a little more (an 8).
ONE_CONFIDENCE = 0.9
ONE_WIDTH, ONE_HEIGHT = 0.4, 0.8
ONE_CROSSINGS = 1.0
REST_CONFIDENCE, REST_HEIGHT = 0.6, 0.8
WHOLE_SURER = 3.5
UNEXPLAINED_ONE = 2.0
# A picture's only stroke group, no wider than tall, cut because it read unsure whole (`Segmentation.one_group`), is
# read as the runs chosen only when the whole reads less than ONE_GROUP_WHOLE sure and each of them at least
# ONE_GROUP_PARTS sure; otherwise it is one digit, as it is read whole. A single digit cut up reads less surely in one
# of its parts (a 6 read as a 1 and a 3 at most 0.97 sure, as a 1 and a 0 at most 0.97; MNIST's 10,000 test digits and
# the 7,000 user-like ones), two touching digits ("19", "61") surely in both.
ONE_GROUP_WHOLE = 0.9
ONE_GROUP_PARTS = 0.99
# Keras clips probabilities to [1e-7, 1 - 1e-7] in categorical cross-entropy; so does a run's score.
EPSILON = 1e-7


def candidate_runs(segmentation: Segmentation) -> list[tuple[int, int]]:
    """The runs (start, stop) of consecutive pieces that could be one digit: each piece alone, and up to MAX_RUN
    pieces together while they are at most MAX_RUN_WIDTH digit heights wide."""
    count = len(segmentation.pieces)
    runs = []
    for start in range(count):
        runs.append((start, start + 1))
        for stop in range(start + 2, min(count, start + MAX_RUN) + 1):
            if segmentation.width(start, stop) > MAX_RUN_WIDTH:
                break
            runs.append((start, stop))
    return runs


@dataclass(frozen=True)
class Candidates:
    """A number's candidate runs, as choosing its digits needs them: each run's 28×28 input for the network, its shape
    (`priors`: `run_prior`; `widths` and `heights` in digit heights) and the strokes between the pieces (`crossings`)."""

    pieces: int
    runs: tuple[tuple[int, int], ...]
    inputs: tuple[np.ndarray, ...]
    priors: tuple[float, ...]
    widths: tuple[float, ...]
    heights: tuple[float, ...]
    crossings: tuple[float, ...]
    one_group: bool = False  # `Segmentation.one_group`


def candidates(segmentation: Segmentation) -> Candidates:
    """The candidate runs of a segmented picture, framed and measured."""
    runs = tuple(candidate_runs(segmentation))
    widths = tuple(segmentation.width(*run) for run in runs)
    heights = tuple(segmentation.height(*run) for run in runs)
    priors = tuple(run_prior(width, height, segmentation.blank(*run)) for width, height, run in zip(widths, heights, runs))
    return Candidates(len(segmentation.pieces), runs, tuple(segmentation.digit(*run) for run in runs), priors, widths,
                      heights, segmentation.crossings, segmentation.one_group)


def run_prior(width: float, height: float, blank: float) -> float:
    """How plausible a run of pieces is as one digit by its shape alone (its width, height and the blank paper
    between its pieces, in digit heights), as a log-probability (≤ 0)."""
    return (-WIDTH_WEIGHT * max(0.0, width - WIDTH_FREE) ** 2 - HEIGHT_WEIGHT * max(0.0, HEIGHT_FREE - height)
            - BLANK_WEIGHT * blank)


def choose_runs(candidates: Candidates, probabilities: np.ndarray) -> list[int]:
    """The indices of the candidate runs that are the number's digits, left to right, given the network's (calibrated)
    probabilities for each run: the runs that cover every piece with the best total score (dynamic programming over
    the cut points). Every single piece is among the candidate runs, so there is always a way. A picture's only stroke
    group (`Candidates.one_group`) is read whole unless its split reads surely (ONE_GROUP_WHOLE, ONE_GROUP_PARTS)."""
    digits, confidences = probabilities.argmax(axis=1), probabilities.max(axis=1)
    index = {run: i for i, run in enumerate(candidates.runs)}
    scores = [math.log(max(float(confidence), EPSILON)) + prior
              - (UNEXPLAINED_ONE if unexplained_one(candidates, run, index, digits, confidences) else 0.0)
              for confidence, prior, run in zip(confidences, candidates.priors, candidates.runs)]
    chosen = best_cover(candidates.pieces, candidates.runs, scores, candidates.crossings)
    whole = index.get((0, candidates.pieces))
    if (candidates.one_group and len(chosen) > 1 and whole is not None
            and not (confidences[whole] < ONE_GROUP_WHOLE and min(confidences[i] for i in chosen) >= ONE_GROUP_PARTS)):
        return [whole]
    return chosen


def unexplained_one(candidates: Candidates, run: tuple[int, int], index: dict[tuple[int, int], int],
                    digits: np.ndarray, confidences: np.ndarray) -> bool:
    """Whether the run's first or last piece is a thin upright 1 that the run's reading does not explain: without it,
    the rest, a whole digit, reads as the same digit, and not much less surely (`index`: each candidate run's place
    in `candidates`, `digits` and `confidences`)."""
    start, stop = run
    if stop - start < 2:
        return False
    digit = digits[index[run]]
    for one, rest, cut in (((start, start + 1), (start + 1, stop), start), ((stop - 1, stop), (start, stop - 1), stop - 2)):
        if rest not in index or candidates.crossings[cut] > ONE_CROSSINGS:
            continue
        o, r = index[one], index[rest]
        if (digits[o] == 1 and confidences[o] >= ONE_CONFIDENCE and digits[r] == digit and confidences[r] >= REST_CONFIDENCE
                and candidates.widths[o] <= ONE_WIDTH and candidates.heights[o] >= ONE_HEIGHT
                and candidates.heights[r] >= REST_HEIGHT * candidates.heights[index[run]]
                and log_odds(confidences[index[run]]) - log_odds(confidences[r]) <= WHOLE_SURER):
            return True
    return False


def log_odds(confidence: float) -> float:
    """The log-odds of a confidence, clipped as a run's score is (EPSILON)."""
    p = min(max(float(confidence), EPSILON), 1.0 - EPSILON)
    return math.log(p / (1.0 - p))


def best_cover(pieces: int, runs: Sequence[tuple[int, int]], scores: Sequence[float], crossings: Sequence[float]) -> list[int]:
    """The indices of the runs that cover pieces 0..`pieces` left to right with the best total score, each cut
    costing CROSSING_WEIGHT per stroke it crosses (`crossings[i]`: between pieces i and i + 1)."""
    best = [0.0] + [-math.inf] * pieces
    last: list[int] = [-1] * (pieces + 1)  # the run ending at each cut point on its best way
    for index in sorted(range(len(runs)), key=lambda i: runs[i][1]):
        start, stop = runs[index]
        total = best[start] + scores[index] - (CROSSING_WEIGHT * crossings[start - 1] if start > 0 else 0.0)
        if total > best[stop]:
            best[stop], last[stop] = total, index
    chosen = []
    point = pieces
    while point > 0:
        chosen.append(last[point])
        point = runs[last[point]][0]
    return chosen[::-1]
