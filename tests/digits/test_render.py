"""The pictures of what the model saw, drawn for replies."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from digits.render import grid_png


def test_the_grid_shows_each_example_with_its_caption() -> None:
    images = [np.eye(28, dtype=np.float32), np.full((28, 28), 255, np.uint8), np.zeros((28, 28), np.float32)]
    picture = Image.open(io.BytesIO(grid_png(images, ["#1 7 a", "#2 1 p", "#3 ? d"], columns=2)))
    assert picture.size == (2 * (84 + 6) + 6, 2 * (84 + 16 + 6) + 6)
    pixels = np.asarray(picture)
    assert pixels[6 + 3 * 27, 6 + 3 * 27] == 255 and pixels[6, 6 + 3 * 27] == 0  # the diagonal of the first
    assert (pixels[6:90, 96:180] == 255).all()  # the second, all ink
    assert Image.open(io.BytesIO(grid_png([], []))).size[0] > 0
