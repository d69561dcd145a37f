"""Clutter: what a picture holds besides handwriting (a table or shadow along its edge, a pen, the paper's edge, a
coin), found in the ink's coverage so that it can be set aside; every digit of a number stays."""

from __future__ import annotations

import numpy as np
from scipy import ndimage



# Pixels at least this much ink make up the strokes (of digits, and of a bar or a blob).
STROKE_COVERAGE = 0.25
EIGHT_NEIGHBOURS = np.ones((3, 3))
# SciPy's default connectivity for `label`, given once (built on every call otherwise, a third of a small label's cost).
FOUR_NEIGHBOURS = ndimage.generate_binary_structure(2, 1)
# A region of ink covering this share of the picture's edge is the table, a shadow or the paper's edge...
CLUTTER_EDGE_SHARE = 0.05
# ...unless setting it aside leaves less than this share of the ink: a digit cropped tight touches the edge too.
MIN_DIGIT_SHARE = 0.05
# Pixels this close to such a region belong to it (its blurred or compressed fringe).
CLUTTER_MARGIN = 2
# Ink this close (this share of the picture's longer side) is one region when looking for clutter.
GROUP_GRID = 64
# A region this many times longer than it is thick is a bar: a 1, a pen, a line; it is a pen or the paper's edge
# when this many times longer than the digits are tall (digits of one number differ by less), or when cut by the
# picture's edge (it goes on beyond), this many times.
BAR_ELONGATION = 4.0
# A bar fills at least this share of the bar with its length and thickness (a pen, a line); a row of touching digits
# is as elongated but mostly paper.
BAR_FILL = 0.7
LONG_BAR = 1.6
LONG_BAR_AT_EDGE = 1.2
# Beside the digits (at most DIGIT_GAP digit heights from them, and IN_LINE of it within their line), an upright bar
# is a 1 written tall unless this many times longer than the digits are tall.
LONG_BAR_IN_NUMBER = 2.5
DIGIT_GAP = 0.6
IN_LINE = 0.5
# A bar lying flat (within 30° of the horizontal: spread this many times more across than up) is clutter from this
# many times the digits' height on; a 1 slants less than that.
FLAT = 3.0
LONG_FLAT_BAR = 0.8
# A region this many times thicker than the picture's typical stroke, and filled in to at least this share of its
# size from its edge, is a blob (a coin: 0.45-0.5), not a digit (a bold 6 or 8 with its loops filled in: about 0.3).
BLOB_DEPTH = 1.5
BLOB_SHAPE = 0.4
# Only a region filling at least this share of its box can be a blob (a disc fills 0.79; digits far less).
BLOB_FILL = 0.5
# A group with less than this share of the biggest group's ink, and under half its height, is a speck or dirt.
SPECK_SHARE = 0.08
# A group cut by the picture's edge with less than this share of the biggest group's ink is clutter, not a digit.
EDGE_REMNANT_SHARE = 0.5


def clutter_mask(coverage: np.ndarray, faint_reach: int = 0) -> np.ndarray:
    """What is in the picture besides handwriting, with its fringe: regions along the picture's edge (a table, a
    shadow) or cut by it beside a whole digit, straight bars much longer than the digits are tall (a pen, the
    paper's edge), blobs far thicker than the strokes (a coin); all of the digits of a number stay. Nothing is set
    aside when that leaves too little ink.

    `faint_reach` (odd), if given: every pixel of ink lies within a square that many pixels a side around a pixel of
    at least STRONG_INK (the faint ink rule, `coverage._coverage_split`)."""
    if faint_reach and faint_reach // 2 <= 2 * _gap(coverage.shape) + 1 and stroke_groups(coverage)[1] <= 1:
        # One stroke group (or none) is one region of ink to `clutter_regions`, which joins ink 2 × `_gap` + 1 pixels
        # apart: each pixel of ink is that close to a stroke (STRONG_INK is stroke). Whatever that region is, setting
        # it aside would leave no ink.
        return np.zeros(coverage.shape, bool)
    clutter = clutter_regions(coverage)
    if not clutter.any():  # (the array's own method: NumPy's function costs twice as much on a small picture)
        return clutter
    ink_mask = coverage > 0.0
    if np.count_nonzero(ink_mask & ~clutter) < MIN_DIGIT_SHARE * np.count_nonzero(ink_mask):
        return np.zeros_like(ink_mask)
    return ndimage.binary_dilation(clutter, iterations=CLUTTER_MARGIN)


def clutter_regions(coverage: np.ndarray) -> np.ndarray:
    """The regions of ink `clutter_mask` sets aside, without their fringe, however little ink they leave."""
    ink_mask = coverage > 0.0
    height, width = ink_mask.shape
    if (np.count_nonzero(edge(ink_mask)) < CLUTTER_EDGE_SHARE * 2 * (height + width)
            and ndimage.label(ink_mask, FOUR_NEIGHBOURS)[1] <= 1):
        return np.zeros_like(ink_mask)  # the usual case: one region away from the edge, settled without measuring it
    gap = _gap(ink_mask.shape)
    grouped, count = ndimage.label(within_reach(ink_mask, 2 * gap + 1), structure=EIGHT_NEIGHBOURS)
    labels = np.where(ink_mask, grouped, 0)
    index = np.arange(count + 1)
    rows, columns = np.nonzero(ink_mask)
    ids = labels[rows, columns]
    y, x = rows.astype(np.float64), columns.astype(np.float64)
    pixels = np.maximum(np.bincount(ids, minlength=count + 1), 1).astype(np.float64)
    mean_y, mean_x = np.bincount(ids, y, count + 1) / pixels, np.bincount(ids, x, count + 1) / pixels
    var_y = np.bincount(ids, y * y, count + 1) / pixels - mean_y**2
    var_x = np.bincount(ids, x * x, count + 1) / pixels - mean_x**2
    cov_xy = np.bincount(ids, x * y, count + 1) / pixels - mean_x * mean_y
    spread = np.sqrt(((var_x - var_y) / 2) ** 2 + cov_xy**2)
    # Length and thickness of each region, as those of the uniform bar with the same second moments.
    length = np.sqrt(12 * np.maximum((var_x + var_y) / 2 + spread, 0.0)) + 1
    thickness = np.sqrt(12 * np.maximum((var_x + var_y) / 2 - spread, 0.0)) + 1
    mass = np.bincount(ids, coverage[rows, columns], count + 1)
    boxes = [(slice(0, 0), slice(0, 0)), *ndimage.find_objects(labels, count)]
    tall = np.array([(box[0].stop - box[0].start) if box is not None else 0 for box in boxes], np.float64)
    wide = np.array([(box[1].stop - box[1].start) if box is not None else 0 for box in boxes], np.float64)
    contact = np.bincount(edge(labels), minlength=count + 1)
    contact[0] = 0
    # Cut by the picture's edge: reaching it, or nearly (its last pixels faded into the frame's border).
    cut = np.zeros(count + 1, bool)
    cut[np.concatenate([labels[:gap].ravel(), labels[-gap:].ravel(), labels[:, :gap].ravel(), labels[:, -gap:].ravel()])] = True
    cut[0] = False

    along_edge = contact >= CLUTTER_EDGE_SHARE * 2 * (height + width)
    bar = (length >= BAR_ELONGATION * thickness) & (pixels >= BAR_FILL * length * thickness)
    # A bar fading along its length (a pen's highlight) is as long as its box, whatever its moments say.
    length = np.maximum(length, np.maximum(tall, wide))
    # The digits: regions with a fair share of the ink that are neither along the edge nor bars; failing those,
    # the shortest bar of a fair size (a 1 beside a pen).
    fair = (mass >= SPECK_SHARE * mass.max()) & ~along_edge
    fair[0] = False
    digits = fair & ~bar
    reference = float(tall[digits].max()) if np.any(digits) else float(length[fair].min()) if np.any(fair) else 0.0
    # A bar lying flat is never a digit on its own; a 7's or a 5's detached bar is shorter, and near the rest.
    flat = var_x >= FLAT * var_y
    factor = np.where(flat, LONG_FLAT_BAR, np.where(cut, LONG_BAR_AT_EDGE, LONG_BAR))
    # Beside the digits, in their line and no farther from them than digits are apart, a bar is a 1 written tall,
    # unless it is far longer still.
    tops = np.array([box[0].start if box is not None else 0 for box in boxes])
    lefts = np.array([box[1].start if box is not None else 0 for box in boxes])
    in_number = ~flat & beside_digits(tops, tops + tall, lefts, lefts + wide, digits, reference)
    factor = np.where(in_number & ~cut, LONG_BAR_IN_NUMBER, factor)
    long = bar & (length >= factor * reference)
    # A coin or a thumb: a compact region, mostly filled in, whose strokes are far thicker than the others'.
    blob = fair & ~bar & (pixels >= BLOB_FILL * tall * wide)
    if np.any(blob[1:]):
        strokes = coverage > STROKE_COVERAGE
        depth = ndimage.distance_transform_edt(strokes)
        ridge = strokes & (depth >= ndimage.maximum_filter(depth, size=3))
        others = ridge & ~(along_edge | long)[labels]
        stroke = float(np.median(depth[others])) if np.any(others) else 0.0
        deepest = np.zeros(count + 1)
        deepest[1:] = ndimage.maximum(depth, labels, index[1:])
        blob &= (deepest >= BLOB_DEPTH * stroke) & (deepest >= BLOB_SHAPE * np.maximum(tall, wide))

    # A whole digit has no part cut by the picture's edge: a lighter region cut by it is a pen's or a coin's remnant.
    heaviest = int(np.argmax(mass))
    remnant = cut & ~cut[heaviest] & (mass < EDGE_REMNANT_SHARE * mass[heaviest])
    # ...unless it is in the line of a number's digits, beside them: a number written up to the picture's edge. (A
    # single digit is not a number: beside it, a pen's remnant is as likely as a 1. Digits a few pixels apart are one
    # region, wider than tall.)
    standing = digits & ~remnant
    remnant &= ~(in_number & (np.count_nonzero(standing) > 1 or bool(np.any(wide[standing] > tall[standing]))))

    candidates = along_edge | long | blob | remnant
    candidates[0] = False
    # A bar near other ink is a stroke of a digit (a 4 written in two strokes), not a pen.
    aside = candidates.copy()
    for region in np.flatnonzero(long & ~along_edge & candidates):
        reach = ndimage.binary_dilation(labels == region, iterations=max(1, round(float(thickness[region]))))
        if np.any(reach & ink_mask & ~candidates[labels]):
            aside[region] = False
    if not np.any(aside):
        return np.zeros_like(ink_mask)
    return aside[labels]


def _gap(shape: tuple[int, ...]) -> int:
    """How many pixels apart `clutter_regions` still takes regions of ink for one (a dashed line, a table's grain, a
    stroke broken by noise), and how near the edge a region is cut by it: a GROUP_GRID-th of the picture."""
    return max(1, round(max(shape) / GROUP_GRID))


def stroke_groups(coverage: np.ndarray) -> tuple[np.ndarray, int]:
    """The stroke groups of `coverage`: its pixels over STROKE_COVERAGE, eight-connected, labelled as `ndimage.label`
    numbers them, and their count."""
    return ndimage.label(coverage > STROKE_COVERAGE, structure=EIGHT_NEIGHBOURS)


def beside_digits(tops: np.ndarray, bottoms: np.ndarray, lefts: np.ndarray, rights: np.ndarray, digits: np.ndarray,
                  reference: float) -> np.ndarray:
    """Which regions (by their boxes) are in the line of the `digits` regions, IN_LINE of their own height within it,
    and no farther from them than DIGIT_GAP × `reference` (the digits' height): where a number's next digit would
    be."""
    if not np.any(digits):
        return np.zeros(len(tops), bool)
    line_top, line_bottom = tops[digits].min(), bottoms[digits].max()
    number_left, number_right = lefts[digits].min(), rights[digits].max()
    in_line = np.minimum(bottoms, line_bottom) - np.maximum(tops, line_top) >= IN_LINE * (bottoms - tops)
    near = np.maximum(number_left - rights, lefts - number_right) <= DIGIT_GAP * reference
    return in_line & near


def edge(values: np.ndarray) -> np.ndarray:
    """The values along the border of a 2-D array."""
    return np.concatenate([values[0], values[-1], values[1:-1, 0], values[1:-1, -1]])


def within_reach(mask: np.ndarray, reach: int) -> np.ndarray:
    """Where `mask` has a True within a square `reach` (odd) a side around: SciPy's `maximum_filter(mask, size=reach)`,
    bit for bit (its mirrored edges add nothing beyond the square), by shifted ORs at a fraction of its cost."""
    half = reach // 2
    rows = mask.copy()
    for step in range(1, half + 1):
        rows[step:] |= mask[:-step]
        rows[:-step] |= mask[step:]
    near = rows.copy()
    for step in range(1, half + 1):
        near[:, step:] |= rows[:, :-step]
        near[:, :-step] |= rows[:, step:]
    return near
