"""Single digits whose stroke came apart: MNIST digits, each with one pen skip (a gap in the stroke), as 200 px PNGs.

A pen that skips breaks a digit into stroke groups: a 4's bar apart from its stem, a 6's stem apart from its loop, a
1 in two halves. Each digit gets one skip: its ink within `radius` pixels (at 28×28) of a point is wiped out. The
point lies on the stroke's core (in a pixel at least half inked; anywhere in it, not at its centre, else the radii
1.0 and 1.3 would wipe out the same 5 pixels), where a gap of the widest radius parts the ink: the first such point
in a random order (94 % of MNIST's first 1,000 test digits have one; on the others, a lone loop or a thick stroke, the
gap only narrows the stroke). The point depends only on the seed and the digit's place, not on the radius: the radii
(`RADII`, 0 is no skip) are the same digits with narrower and narrower gaps.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from samples import pictures

RADII = (1.6, 1.3, 1.0, 0.0)  # px at 28×28; 1.6 is the set docs/reading.md quotes, 0 the digits as they are
SIZE = 200  # px a side of the pictures
CORE = 128  # a pixel at least this inked (of 255) is on the stroke's core
EIGHT_NEIGHBOURS = np.ones((3, 3), bool)


def pieces(digit: np.ndarray) -> int:
    """How many pieces the digit's ink is in (pixels touching by a side or a corner are one piece)."""
    return int(ndimage.label(digit > 0, EIGHT_NEIGHBOURS)[1])


def skip_points(digits: np.ndarray, seed: int) -> np.ndarray:
    """Where each digit's pen skips (row, column): drawn digit by digit, in order, so the first digits' points are the
    same whatever the count."""
    rng = np.random.default_rng(seed)
    points = np.zeros((len(digits), 2))
    for i, digit in enumerate(digits):
        core = np.argwhere(digit >= CORE)
        tries = core[rng.permutation(len(core))] + rng.uniform(-0.5, 0.5, core.shape)
        whole = pieces(digit)
        points[i] = next((point for point in tries if pieces(with_skip(digit, point, RADII[0])) > whole), tries[0])
    return points


def with_skip(digit: np.ndarray, point: np.ndarray, radius: float) -> np.ndarray:
    """The digit (uint8 28×28, white on black) with its ink wiped out within `radius` of `point` (none at 0)."""
    if radius <= 0:
        return digit
    rows, columns = np.mgrid[0:digit.shape[0], 0:digit.shape[1]]
    skipped = digit.copy()
    skipped[(rows - point[0]) ** 2 + (columns - point[1]) ** 2 <= radius ** 2] = 0
    return skipped


def pen_skip_pictures(digits: np.ndarray, points: np.ndarray, radius: float) -> list[bytes]:
    """Each digit with its pen skip (`skip_points`) of `radius` (0: none), drawn black on white as a SIZE×SIZE PNG."""
    return [pictures.encode(pictures.black_on_white(pictures.upscale(with_skip(digit, point, radius), SIZE)), "PNG")
            for digit, point in zip(digits, points)]
