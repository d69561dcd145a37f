"""`samples.pen_skip`: deterministic from its seed, one gap that parts each digit's stroke, the same digits at every
radius."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from samples import pictures
from samples.pen_skip import CORE, RADII, SIZE, pen_skip_pictures, pieces, skip_points, with_skip


def test_skip_points_depend_only_on_the_seed_and_the_digits_place(test_digits) -> None:
    digits = test_digits[0][:20]
    points = skip_points(digits, seed=7)
    assert np.array_equal(skip_points(digits[:5], seed=7), points[:5])  # the same points, whatever the count
    assert not np.array_equal(skip_points(digits, seed=8), points)
    pixels = np.floor(points + 0.5).astype(int)  # the pixel each point lies in
    assert all(digit[row, column] >= CORE for digit, (row, column) in zip(digits, pixels))  # on the stroke's core
    assert not np.array_equal(pixels, points)  # anywhere in the pixel, not at its centre


def test_a_skip_wipes_out_the_ink_within_its_radius_and_nothing_else(test_digits) -> None:
    digits = test_digits[0][:20]
    rows, columns = np.mgrid[0:28, 0:28]
    wiped: dict[float, list[np.ndarray]] = {radius: [] for radius in RADII}
    for digit, point in zip(digits, skip_points(digits, seed=7)):
        for radius in RADII:
            within = (rows - point[0]) ** 2 + (columns - point[1]) ** 2 <= radius ** 2 if radius else np.zeros((28, 28), bool)
            skipped = with_skip(digit, point, radius)
            assert not skipped[within].any() and np.array_equal(skipped[~within], digit[~within])
            wiped[radius].append(within)
    # Narrower and narrower gaps in the same places; 1.0 and 1.3 wipe out different pixels (they would not, centred).
    for narrower, wider in zip(RADII[1:], RADII):
        assert all((small <= large).all() for small, large in zip(wiped[narrower], wiped[wider]))
    assert sum(big.sum() for big in wiped[1.3]) > sum(small.sum() for small in wiped[1.0])


def test_the_widest_gap_parts_the_stroke_where_one_can(test_digits) -> None:
    # A gap at a random point of the core parts the ink of 23 of the first 100 digits (the faint edge of a stroke
    # wider than the gap still joins its two sides); the points are chosen where it does: 98 of them. The other two
    # (a 3 and an 8) have no such point on their core.
    images, labels = test_digits
    digits = images[:100]
    parted = [pieces(with_skip(digit, point, RADII[0])) > pieces(digit) for digit, point in zip(digits, skip_points(digits, 7))]
    assert sum(parted) >= 90
    assert all(parted[i] for i in np.flatnonzero(labels[:100] == 1))  # every 1 in two halves
    assert all(pieces(with_skip(digit, point, 0.0)) == pieces(digit) for digit, point in zip(digits, skip_points(digits, 7)))


def test_pictures_are_the_skipped_digits_black_on_white_at_200_px(test_digits) -> None:
    digits = test_digits[0][:3]
    points = skip_points(digits, seed=7)
    for radius in RADII:
        for data, digit, point in zip(pen_skip_pictures(digits, points, radius), digits, points):
            image = Image.open(io.BytesIO(data))
            assert (image.format, image.size, image.mode) == ("PNG", (SIZE, SIZE), "L")
            expected = np.asarray(pictures.black_on_white(pictures.upscale(with_skip(digit, point, radius), SIZE)))
            assert np.array_equal(np.asarray(image), expected)
