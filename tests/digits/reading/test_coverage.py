"""The split of ink from paper: the background filled in as SciPy's filters would, the split's measures, ruled
paper's lines found and seen through."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from digits.reading.clutter import within_reach
from digits.reading.coverage import (FAINT_REACH, NOISE_SIGMAS, STRONG_INK, _background, _beyond_lines, _coverage_split,
                                     _median_filter, _ruling)
from digits.reading.decode import ImageError
from digits.reading.measures import median, otsu
from samples import pictures as styles


@pytest.mark.parametrize("seed", range(3))
def test_a_background_mostly_zero_has_level_and_noise_zero_as_its_medians(seed: int) -> None:
    """`_coverage_split` skips sorting a background mostly exactly 0 and none below: the same coverage as measured."""
    rng = np.random.default_rng(seed)
    for _ in range(200):
        shape = tuple(rng.integers(4, 40, 2))
        residual = np.where(rng.random(shape) < rng.uniform(0.3, 0.9), 0.0, rng.random(shape) * 20).astype(np.float32)
        residual[rng.random(shape) < 0.1] = rng.uniform(30, 255)
        if rng.random() < 0.3:
            residual[rng.random(shape) < 0.05] = -1.0  # some of it below: measured
        threshold = otsu(residual)
        background, ink = residual[residual <= threshold], residual[residual > threshold]
        if not ink.size or not background.size:
            continue
        level = median(background)
        floor = max(level + NOISE_SIGMAS * 1.4826 * median(np.abs(background - level)), 0.1 * median(ink))
        try:
            measured = np.clip((residual - floor) * (1.0 / (median(ink) - floor)), 0.0, 1.0)
            got = _coverage_split(residual, 5, threshold, clutter=False)
        except ImageError:
            continue
        expected = measured * within_reach(measured >= STRONG_INK, 2 * max(1, round(FAINT_REACH * 5)) + 1)
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("seed", range(3))
def test_the_median_filter_is_scipys_bit_for_bit(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(100):
        values = (rng.random(tuple(rng.integers(3, 50, 2))) * 255).astype(np.float32)
        values[rng.random(values.shape) < 0.3] = 128.0  # ties
        axis = int(rng.integers(0, 2))
        window = 2 * int(rng.integers(1, (values.shape[axis] - 1) // 2 + 1)) + 1
        size = (window, 1) if axis == 0 else (1, window)
        np.testing.assert_array_equal(_median_filter(values, window, axis), ndimage.median_filter(values, size=size))


@pytest.mark.parametrize("seed", range(3))
def test_the_background_is_scipys_grey_closing_and_opening_bit_for_bit(seed: int) -> None:
    """What `ink_of` fills in, against the padded SciPy filters it stands for: even and odd windows, windows wider than
    the picture, the edge's pixels or a level beyond it."""
    rng = np.random.default_rng(seed)
    for _ in range(200):
        values = (rng.random(tuple(rng.integers(1, 60, 2))) * 255).astype(np.float32)
        values[rng.random(values.shape) < 0.3] = 128.0  # ties
        size, closing, cut = int(rng.integers(3, 50)), bool(rng.integers(2)), bool(rng.integers(2))
        level = float(values.max()) if closing else float(values.min())
        pad = size // 2 + 1
        padded = np.pad(values, pad, mode="constant", constant_values=level) if cut else np.pad(values, pad, mode="edge")
        scipys = (ndimage.grey_closing if closing else ndimage.grey_opening)(padded, size=(size, size), mode="nearest")
        ours = _background(values, size, closing, level if cut else None)
        assert ours.dtype == values.dtype
        np.testing.assert_array_equal(ours, scipys[pad:-pad, pad:-pad])


def test_ruled_lines_converging_in_perspective_are_each_found_at_their_own_slope() -> None:
    # A page seen at an angle: its rules converge (here from level at the top to a slope of 0.12 at the bottom), and
    # no one slope fits them all; each is a line of the ruling. Before, only the lines near the one slope found were
    # (one of five), and one line alone with the others running to both sides was no ruling at all.
    ink = np.zeros((200, 256), bool)
    columns = np.arange(256)
    for index, row in enumerate((20, 60, 100, 140, 180)):
        ink[np.clip(np.rint(row - 0.03 * index * (columns - 128)).astype(int), 0, 199), columns] = True
    ink[70:130, 60:64] = ink[70:74, 100:140] = ink[126:130, 100:140] = ink[70:130, 136:140] = True  # a 1 and a 0
    ruling = _ruling(ink)
    assert ruling is not None
    assert np.count_nonzero(ruling & ink) >= 0.8 * 5 * 256
    assert ruling[100, 62] == ruling[110, 62] == ruling[110, 137] == False  # noqa: E712 (the digits' strokes stay)


def test_a_digits_own_bar_reaching_a_tight_crops_sides_is_not_a_printed_line(test_digits) -> None:
    # A 7's bar (or a 5's, a 4's) in a crop as tight as the digit reaches from side to side as a ruled line does;
    # it is one line, and the digit's other strokes reach as far as it does: no line of the paper.
    for label in (7, 5, 4, 2):
        for nth in range(5):
            images, labels = test_digits
            ink = styles.upscale(images[np.flatnonzero(labels == label)[nth]], 112) > 0.3
            rows, columns = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
            tight = ink[rows[0]:rows[-1] + 1, columns[0]:columns[-1] + 1]
            assert _ruling(tight) is None, (label, nth)


def test_a_pencil_stroke_lighter_than_a_ruled_line_runs_on_across_it() -> None:
    # Pencil lighter than the dark lines crossing it: a line set aside was paper, with the stroke where it crossed,
    # and a digit came apart at each line (its parts stretched, or read as other digits; on the ruled-paper probe,
    # pencil lighter than the rules: 5 of 40 numbers whole). A line set aside is seen through: what lies beyond its
    # two edges.
    residual = np.zeros((40, 60), np.float32)
    residual[18:21] = 110.0  # a line across, 3 pixels thick
    residual[5:35, 10:13] = 20.0  # a faint stroke across it
    residual[5:19, 40:43] = 20.0  # a stroke ending on it
    residual[:, 55:57] = 90.0  # an upright line (a margin) crossing it
    ruling = np.zeros(residual.shape, bool)
    ruling[17:22, :] = True  # the line with its soft edges
    ruling[:, 54:58] = True
    seen = np.zeros_like(residual)
    seen[ruling] = _beyond_lines(residual, ruling, paper=1.0)
    assert np.all(seen[17:22, 10:13] == 20.0)  # the stroke runs on across the line
    assert np.all(seen[17:22, 40:43] == 1.0) and np.all(seen[17:22, :8] == 1.0)  # paper beyond one edge is paper
    assert np.all(seen[:, 54:58] == 1.0)  # the margin is paper: nothing beyond it within reach


def test_a_margin_is_set_aside_without_ruled_lines_across() -> None:
    # A red margin as dark as the ink on paper whose rules are lighter (no ink): one thin upright line from edge to
    # edge, running on beyond the number at both ends. It was kept, and read as a 1 ("16959" as "116959"; on the
    # ruled-paper probe, 3 of 200 numbers at seed 1). The paper's grain (lone pixels) near the ends is not the number.
    ink = np.zeros((120, 200), bool)
    rows = np.arange(120)
    ink[rows, np.rint(30 + 0.03 * rows).astype(int)] = ink[rows, np.rint(31 + 0.03 * rows).astype(int)] = True
    ink[40:80, 80:84] = True  # a 1
    ink[40:44, 100:130] = ink[76:80, 100:130] = ink[40:80, 100:104] = ink[40:80, 126:130] = True  # a 0
    ink[3, 150] = ink[8, 170] = ink[112, 140] = ink[115, 60] = True  # grain
    ruling = _ruling(ink)
    assert ruling is not None
    assert np.count_nonzero(ruling & ink) >= 0.9 * 2 * 120
    assert not np.any(ruling[:, 60:]) and not np.any(ruling[:, :25])  # the digits and the grain stay
    # A 1 written tall in a number cropped tight is no margin: the other digits are nearly as tall.
    tight = np.zeros((120, 200), bool)
    tight[:, 40:43] = True
    tight[6:114, 80:84] = tight[6:114, 120:124] = tight[60:64, 80:124] = True  # a 4 (a 1 written tall beside it)
    assert _ruling(tight) is None
