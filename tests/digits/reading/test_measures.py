"""The measures reading is built on, against their definitions: a colour channel's variance, Otsu's split, framing a
digit in 28×28, and the filters done by hand for speed against SciPy's."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageStat
from scipy import ndimage

from digits.reading import frame
from digits.reading.clutter import EIGHT_NEIGHBOURS, STROKE_COVERAGE, clutter_mask, within_reach
from digits.reading.coverage import STRONG_INK
from digits.reading.decode import ImageLimits, Picture, _variances
from digits.reading.measures import otsu, span
from digits.reading.segmentation import MNIST_SIZE, _stroke_width


@pytest.mark.parametrize("seed", range(3))
def test_the_channels_variances_are_imagestats_bit_for_bit(seed: int) -> None:
    """The colour channel read is the one ImageStat finds the most varied, ties included (a channel and its inverse)."""
    rng = np.random.default_rng(seed)
    grey = rng.integers(0, 256, (64, 48))
    pictures = [rng.integers(0, 256, (28, 28, 3)), np.stack([grey, grey // 2, 255 - grey], axis=-1),
                np.where(rng.random((64, 64, 3)) < 0.05, 30, 250), np.stack([grey] * 3, axis=-1)]
    for pixels in pictures:
        image = Image.fromarray(pixels.astype(np.uint8))
        assert _variances(image).tolist() == ImageStat.Stat(image).var


def otsu_by_definition(values: np.ndarray, bins: int = 64) -> float:
    """Otsu's threshold the long way: every split of the 64 bins tried, the first with the largest between-class
    variance kept (no split with both sides filled: the largest value)."""
    low, high = float(values.min()), float(values.max())
    if high <= low:
        return high
    step = (high - low) / bins
    bin_of = np.minimum(((values.astype(np.float64) - low) / step).astype(np.intp), bins - 1).ravel()
    centres = low + step * (np.arange(bins) + 0.5)
    best, threshold = 0.0, high
    for split in range(1, bins):
        below, above = centres[bin_of[bin_of < split]], centres[bin_of[bin_of >= split]]
        if below.size and above.size:
            between = below.size * above.size * (below.mean() - above.mean()) ** 2
            if between > best * (1 + 1e-9):
                best, threshold = between, low + step * split
    return threshold


@pytest.mark.parametrize("seed", range(6))
def test_otsu_is_the_best_split(seed: int) -> None:
    rng = np.random.default_rng(seed)
    pictures = [
        rng.random((28, 28)).astype(np.float32) * 255,  # noise
        np.where(rng.random((28, 28)) < 0.2, 200 + rng.random((28, 28)) * 55, rng.random((28, 28)) * 30).astype(np.float32),
        np.where(rng.random((20, 30)) < 0.05, 255, 0).astype(np.float32),  # two levels, one rare
    ]
    for values in pictures:
        assert otsu(values) == pytest.approx(otsu_by_definition(values), abs=1e-3)
    flat = np.full((5, 5), 7.0, np.float32)
    assert otsu(flat) == 7.0  # nothing to split


def pasted_by_pillow(digit: np.ndarray, left: int, top: int) -> np.ndarray:
    canvas = Image.new("L", (MNIST_SIZE, MNIST_SIZE))
    canvas.paste(Image.fromarray(digit), (left, top))
    return np.asarray(canvas)


@pytest.mark.parametrize("corner", [(0, 0), (0, -1), (-1, 0), (-1, -1)])
def test_a_digit_whose_mass_sits_at_its_edge_is_framed_and_clipped_as_pillow_pastes_it(corner: tuple[int, int]) -> None:
    """A heavy blob in one corner of a thin stroke puts the centre of mass near the box's edge: centred in 28×28, the
    box runs off the canvas, and what is left is what Pillow's paste of the same box keeps."""
    coverage = np.zeros((40, 40), np.float32)
    coverage[5:35, 19:21] = 0.3  # a faint upright stroke, 30 pixels tall
    row, column = (5 if corner[0] == 0 else 28), (12 if corner[1] == 0 else 22)
    coverage[row:row + 7, column:column + 6] = 1.0  # a blob at one of its ends, sideways
    digit = frame(coverage)
    # The same framing, with the box pasted by Pillow where the digit's centre of mass puts it.
    (ink_top, ink_bottom), (ink_left, ink_right) = span(coverage.sum(axis=1)), span(coverage.sum(axis=0))
    crop = coverage[ink_top:ink_bottom, ink_left:ink_right]
    size = (round(crop.shape[1] * 20 / max(crop.shape)), round(crop.shape[0] * 20 / max(crop.shape)))
    boxed = np.asarray(Image.fromarray(crop).resize(size, Image.Resampling.LANCZOS))
    box = np.clip(boxed * (255.0 / float(boxed.max())), 0.0, 255.0).round().astype(np.uint8)
    mass = box.astype(np.float32)
    centre_y = float(mass.sum(axis=1) @ np.arange(box.shape[0], dtype=np.float32)) / float(mass.sum())
    centre_x = float(mass.sum(axis=0) @ np.arange(box.shape[1], dtype=np.float32)) / float(mass.sum())
    left, top = round(14.0 - centre_x), round(14.0 - centre_y)
    assert top < 0 or top + box.shape[0] > MNIST_SIZE  # the box runs off the canvas: the case being tested
    np.testing.assert_array_equal(digit, pasted_by_pillow(box, left, top))


@pytest.mark.parametrize("seed", range(3))
def test_within_reach_is_scipys_maximum_filter_bit_for_bit(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(300):
        mask = rng.random(tuple(rng.integers(1, 40, 2))) < rng.random()
        reach = 2 * int(rng.integers(1, 12)) + 1  # wider than the mask too
        np.testing.assert_array_equal(within_reach(mask, reach), ndimage.maximum_filter(mask, size=reach))


@pytest.mark.parametrize("seed", range(3))
def test_clutter_after_the_faint_ink_rule_is_the_same_known_or_not(seed: int) -> None:
    """`clutter_mask(..., faint_reach)` skips looking for clutter among one stroke group: the same masks as without."""
    rng = np.random.default_rng(seed)
    shortcuts = 0
    for _ in range(400):
        shape = tuple(rng.integers(3, 70, 2))
        # Strokes, bars and specks of strong ink, with faint ink around (a soft edge) and scattered (grain).
        coverage = np.zeros(shape, np.float32)
        for _ in range(int(rng.integers(1, 4))):
            top, left = rng.integers(0, shape[0]), rng.integers(0, shape[1])
            coverage[top:top + rng.integers(1, 30), left:left + rng.integers(1, 30)] = rng.uniform(0.5, 1.0)
        faint = ndimage.uniform_filter(coverage, 3) * rng.random(shape).astype(np.float32)
        coverage = np.maximum(coverage, np.where(rng.random(shape) < 0.3, faint, rng.random(shape) * 0.3 * (rng.random(shape) < 0.05)))
        reach = 2 * int(rng.integers(1, 5)) + 1
        coverage[~within_reach(coverage >= STRONG_INK, reach)] = 0.0  # the faint ink rule
        shortcuts += ndimage.label(coverage > STROKE_COVERAGE, structure=EIGHT_NEIGHBOURS)[1] <= 1
        np.testing.assert_array_equal(clutter_mask(coverage, faint_reach=reach), clutter_mask(coverage))
    assert shortcuts > 50


@pytest.mark.parametrize("seed", range(3))
def test_the_stroke_width_is_the_whole_pictures_bit_for_bit(seed: int) -> None:
    """Measured within the strokes' box and a pixel around it: the depths of the whole picture's distance transform."""
    rng = np.random.default_rng(seed)
    for _ in range(200):
        strokes = rng.random(tuple(rng.integers(1, 60, 2))) < rng.random() * 0.1
        strokes = ndimage.binary_dilation(strokes, iterations=int(rng.integers(0, 4)))
        if np.any(strokes):
            whole = 2.0 * float(np.percentile(ndimage.distance_transform_edt(strokes)[strokes], 90))
            assert _stroke_width(strokes) == whole


@pytest.mark.parametrize("seed", range(3))
def test_a_colour_region_is_the_colour_channel_of_the_region_shrunk_in_rgb(seed: int) -> None:
    """A colour picture's signal, shrunk from its colour channel alone, is that channel of the region shrunk in RGB."""
    rng = np.random.default_rng(seed)
    for _ in range(40):
        height, width = (int(side) for side in rng.integers(8, 300, 2))
        pixels = (rng.random((height, width, 3)) * rng.random(3) * 255).astype(np.uint8)
        data = io.BytesIO()
        Image.fromarray(pixels, "RGB").save(data, format="PNG")
        picture = Picture(data.getvalue(), ImageLimits())
        left, top = rng.uniform(0, width - 1), rng.uniform(0, height - 1)
        box = (left, top, rng.uniform(left + 0.5, width), rng.uniform(top + 0.5, height))
        size = (int(rng.integers(1, 200)), int(rng.integers(1, 200)))
        in_rgb = picture._region_image(box, size).getchannel(picture._channel.index)
        np.testing.assert_array_equal(picture.signal(box, size), np.asarray(in_rgb, dtype=np.float32))
