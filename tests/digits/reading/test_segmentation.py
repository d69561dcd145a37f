"""Segmentation: the slant the cuts between touching digits follow."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from digits.reading.clutter import STROKE_COVERAGE
from digits.reading.segmentation import _slant


def upright_number(text: str, pen: int) -> np.ndarray:
    """Ink coverage of `text` (0s and 7s) written upright, 40 pixels high, with a pen `pen` pixels wide at twice the
    size: a 0 a ring, a 7 a bar and a straight stem that leans as an upright 7's does (0.54 columns per row)."""
    image = Image.new("L", (40 + 90 * len(text), 120))
    draw = ImageDraw.Draw(image)
    for index, character in enumerate(text):
        left = 20 + 90 * index
        if character == "0":
            draw.ellipse((left, 20, left + 60, 100), outline=255, width=pen)
        else:
            draw.line((left, 22, left + 60, 22), fill=255, width=pen)
            draw.line((left + 60, 22, left + 18, 100), fill=255, width=pen)
    half = image.resize((image.width // 2, image.height // 2), Image.Resampling.BOX)  # antialiased
    return np.asarray(half, np.float32) / 255


@pytest.mark.parametrize("text", ["0007", "0070"])
@pytest.mark.parametrize("pen", [4, 8])
def test_one_long_straight_stroke_does_not_set_an_upright_numbers_slant(text: str, pen: int) -> None:
    # The slant was the shear under which the strokes stack up sharpest on a column profile: one long straight
    # stroke (a 7's stem, a 1 or a 4 written slanting) outweighed the round digits' upright sides and set the slant
    # to its own lean, -0.5 here, and the cuts between touching digits leaned through them. Measured on the edges of
    # the upright strokes, the rings' sides outnumber the stem's.
    coverage = upright_number(text, pen)
    assert abs(_slant(coverage, coverage > STROKE_COVERAGE)) <= 0.25
