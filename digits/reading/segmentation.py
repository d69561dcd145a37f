"""Segmentation: ink coverage → pieces, left to right, and any run of pieces framed as an MNIST digit.

MNIST digits are white on black, scaled to fit a 20×20 box keeping their aspect ratio, and placed in 28×28 so that
their centre of mass sits at the centre (`frame`). A number's ink is cut into pieces: stroke groups (strokes of one
digit joined, specks and edge clutter dropped), and wide groups cut again where they may hold touching digits, along
the least-ink path near the number's slant. Which runs of pieces are the digits is decided with the network's
readings (`digits.reading.splitting`). A picture of one digit is one piece, framed exactly as a single digit is.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import ArrayLike
from scipy import ndimage

from digits.reading.clutter import (EDGE_REMNANT_SHARE, EIGHT_NEIGHBOURS, SPECK_SHARE, STROKE_COVERAGE, beside_digits,
                                    stroke_groups)
from digits.reading.decode import ImageError, ImageLimits, decode
from digits.reading.ink import isolate_ink
from digits.reading.measures import resize, span


MNIST_SIZE = 28
BOX_SIZE = 20
# MNIST's digits have their centre of mass at (14, 14) in pixel indices (mean over the test set: 13.99, 14.01).
MNIST_CENTRE = 14.0
# A number has at most this many digits, each a run of at most MAX_RUN pieces (`digits.reading.splitting`): a picture
# cut into more than MAX_RUN × MAX_DIGITS pieces is refused before they are read.
MAX_DIGITS = 12
MAX_RUN = 5
# Strokes closer than this many stroke widths belong to one digit (a 4 or 5 in two strokes, a broken 0)...
JOIN_STROKES = 0.5
# ...as do strokes above one another, sharing this share of the narrower one's columns (a 5's flag, a 7's bar).
# Only a part clearly shorter than the other is a flag, a bar or a dot (two whole digits never nest); a part
# under half the other's height joins it if they share a column at all.
JOIN_OVERLAP = 0.5
JOIN_PART_HEIGHT = 0.75
JOIN_SMALL_PART_HEIGHT = 0.5
# Ink in at most this many stroke groups, no wider than tall, may be one digit whose strokes came apart (a pen
# skip): its digit height is its tallest part's, not the median's (`_digit_height`).
FEW_GROUPS = 3
# A digit is written in at most this many parts that are not specks (a 4 or a 5 in two, a broken 0 in three): a
# picture with more than MAX_DIGITS times as many is refused before they are compared.
MAX_PARTS = 4
# Among several digits, a group wider than this many times their height may hold touching digits and is cut at
# its ink minima (the network then says which cuts were right); a picture's only group must be wider still, as a
# broad 0 or 2 on its own is common, unless it is strokes joined for being close (a 1 close beside a round digit
# makes a group about as wide as it is tall).
CUT_ASPECT = 0.5
CUT_ASPECT_ALONE = 1.0
CUT_ASPECT_ALONE_JOINED = 0.6
# A picture's only stroke group at least CUT_ASPECT_ONE_GROUP as wide as tall, but no wider, may still be two
# touching digits ("19", "81"): it is read whole, as a single digit is, and only if that reading is unsure is it cut
# from this width too (`segment(..., cut_one_group=True)`), its whole kept as the answer unless the split reads
# surely (`digits.reading.splitting.ONE_GROUP_PARTS`).
CUT_ASPECT_ONE_GROUP = 0.6
# Cut pieces are at least this many digit heights wide (a 1 is about 0.1 to 0.2: a cut closer to the ink's end
# than 0.15 is where a thin 1 touches its neighbour).
MIN_PIECE = 0.1
# Touching digits are cut through at most this many strokes (a cut through more is inside a digit).
MAX_CROSSINGS = 2.5
# Next to a cut through touching digits, a bit of stroke with less than this share of the digit's biggest stroke's
# ink is the neighbour's, cut off with it.
FRAGMENT_SHARE = 0.15
# A cut between touching digits follows the least ink within PATH_REACH digit heights of its slanted line, each
# column away from the line costing PATH_DRIFT (in coverage) per row.
PATH_REACH = 0.5
PATH_DRIFT = 0.01
# Touching digits leave a valley in the ink's upper or lower outline where they meet: the outline reaches at least
# VALLEY_DEPTH digit heights into the ink (below the upper outline's highest point, above the lower outline's
# lowest) within VALLEY_WINDOW digit heights on either side. In a group
# wider than VALLEY_GROUP_WIDTH digit heights (two digits at least: a 4 written wide has valleys of its own, its
# open top and the notch under its bar), a cut also runs through each valley that no profile minimum is near,
# along the least ink: where digits overlap (a 4's stem into a 0) the column profile often has no minimum there.
VALLEY_DEPTH = 0.15
VALLEY_WINDOW = 0.4
VALLEY_GROUP_WIDTH = 1.5
# The slants a number may have (columns moved per row down). It is measured on the edges of its strokes that run
# within STEEP_EDGE of upright (rows per column of the edge's normal: 0.7, 35 degrees), at least EDGE_SHARPNESS as
# sharp as the sharpest (an edge, not the soft inside of a stroke).
SLANTS = tuple(np.linspace(-0.6, 0.6, 13).tolist())
STEEP_EDGE = 0.7
EDGE_SHARPNESS = 0.05
EDGE_BLUR = 1.5  # pixels
# A digit's ink reaches this many pixels beyond its strokes (their soft, antialiased edge).
REGION_MARGIN = 2


def to_mnist(data: bytes, limits: ImageLimits = ImageLimits()) -> np.ndarray:
    """The digit in an encoded image as a 28×28 uint8 MNIST image (white digit on black); ImageError if none."""
    return frame(isolate_ink(decode(data, limits)))


def segment(data: bytes, limits: ImageLimits = ImageLimits(), cut_one_group: bool = False) -> Segmentation:
    """The ink of an encoded image cut into pieces for reading it as a number; ImageError if there is none. With
    `cut_one_group`, a picture's only stroke group no wider than tall is cut too (`CUT_ASPECT_ONE_GROUP`)."""
    return segment_ink(isolate_ink(decode(data, limits)), cut_one_group)


def frame(coverage: np.ndarray) -> np.ndarray:
    """Ink coverage (2-D, any size, 0 = none) framed as MNIST did: the ink cropped, fitted into a 20×20 box keeping its
    aspect ratio, its centre of mass at the centre of 28×28 (uint8, white on black)."""
    coverage = np.asarray(coverage, np.float32)
    top, bottom = span(coverage.sum(axis=1))
    left, right = span(coverage.sum(axis=0))
    crop = coverage[top:bottom, left:right]
    height, width = crop.shape
    scale = BOX_SIZE / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    boxed = resize(crop, size, Image.Resampling.LANCZOS)
    peak = float(boxed.max())
    if peak <= 0.0:
        raise ImageError("no digit found: the image looks empty")
    # Strokes much thinner than a pixel of the box come out grey: bring the strongest back to full white.
    digit = np.clip(boxed * (255.0 / peak), 0.0, 255.0).round().astype(np.uint8)

    mass = digit.astype(np.float32)
    total = float(mass.sum())
    centre_y = float(mass.sum(axis=1) @ np.arange(digit.shape[0], dtype=np.float32)) / total
    centre_x = float(mass.sum(axis=0) @ np.arange(digit.shape[1], dtype=np.float32)) / total
    # Pasted into 28×28 with NumPy (a third of Pillow's cost on a picture this small), clipped at the canvas's edge.
    canvas = np.zeros((MNIST_SIZE, MNIST_SIZE), np.uint8)
    x, y = round(MNIST_CENTRE - centre_x), round(MNIST_CENTRE - centre_y)
    height, width = digit.shape
    canvas[max(0, y):max(0, y + height), max(0, x):max(0, x + width)] = \
        digit[max(0, -y):max(0, MNIST_SIZE - y), max(0, -x):max(0, MNIST_SIZE - x)]
    return canvas


@dataclass(frozen=True)
class Piece:
    """Part of a number's ink: `ink` is a crop of the coverage whose top-left pixel is (`top`, `left`) in it.

    `rows` is the ink's extent down the picture; `columns` its extent across, measured upright (the number's
    slant taken out), both in the picture's pixels.
    """

    top: int
    left: int
    ink: np.ndarray
    rows: tuple[int, int]
    columns: tuple[float, float]


@dataclass(frozen=True)
class Segmentation:
    """A picture's ink cut into pieces, left to right: each digit is a run of one or more consecutive pieces.

    The pieces are over-segmented on purpose (stroke groups, cut again where a group might hold touching digits):
    which runs are digits is for the network to say (`digits.reading.splitting`). `crossings[i]` is how many strokes the
    cut between pieces i and i + 1 goes through (0 where they do not touch); `digit_height` is the height of the
    number's digits in pixels. When the ink is one stroke group, `whole` is the picture's whole coverage, and all
    the pieces together are read from it: a picture of one digit reads exactly as `to_mnist` reads it.

    `one_group`: the ink is one stroke group at least CUT_ASPECT_ONE_GROUP as wide as tall and no wider, which may be
    two touching digits. Read whole (one piece), it is worth cutting if that reading is unsure; cut (with
    `cut_one_group`), its whole is the answer unless the split reads surely.
    """

    pieces: tuple[Piece, ...]
    crossings: tuple[float, ...]
    digit_height: float
    whole: np.ndarray | None = None
    one_group: bool = False

    def digit(self, start: int, stop: int) -> np.ndarray:
        """Pieces `start` to `stop` (exclusive) framed as one MNIST digit (28×28 uint8)."""
        if self.whole is not None and (start, stop) == (0, len(self.pieces)):
            return frame(self.whole)
        run = self.pieces[start:stop]
        cut = (start > 0 and self.crossings[start - 1] > 0) or (stop < len(self.pieces) and self.crossings[stop - 1] > 0)
        if len(run) == 1 and not cut:
            return frame(run[0].ink)
        top, left = min(p.top for p in run), min(p.left for p in run)
        bottom, right = max(p.top + p.ink.shape[0] for p in run), max(p.left + p.ink.shape[1] for p in run)
        canvas = np.zeros((bottom - top, right - left), np.float32)
        for piece in run:
            area = canvas[piece.top - top:piece.top - top + piece.ink.shape[0], piece.left - left:piece.left - left + piece.ink.shape[1]]
            np.maximum(area, piece.ink, out=area)
        return frame(_without_fragments(canvas) if cut else canvas)

    def width(self, start: int, stop: int) -> float:
        """The upright width of pieces `start` to `stop` together, in digit heights."""
        run = self.pieces[start:stop]
        return (max(p.columns[1] for p in run) - min(p.columns[0] for p in run)) / self.digit_height

    def blank(self, start: int, stop: int) -> float:
        """The blank paper between pieces `start` to `stop` where they do not touch, in digit heights."""
        return sum(max(0.0, self.pieces[i + 1].columns[0] - self.pieces[i].columns[1]) for i in range(start, stop - 1)
                   if self.crossings[i] == 0) / self.digit_height

    def height(self, start: int, stop: int) -> float:
        """The height of pieces `start` to `stop` together, in digit heights."""
        run = self.pieces[start:stop]
        return (max(p.rows[1] for p in run) - min(p.rows[0] for p in run)) / self.digit_height


def too_many_digits(count: int) -> ImageError:
    """The refusal of a picture that seems to hold `count` digits, over MAX_DIGITS."""
    return ImageError(f"I can read up to {MAX_DIGITS} digits; this picture seems to hold {count}")


def segment_ink(coverage: np.ndarray, cut_one_group: bool = False) -> Segmentation:
    """Stroke groups (strokes of one digit joined, specks and edge clutter dropped), wide ones cut again at ink minima.
    With `cut_one_group`, a picture's only group no wider than tall is cut from CUT_ASPECT_ONE_GROUP of its height."""
    labels, count = stroke_groups(coverage)
    strokes = labels > 0
    if count == 0:
        return _whole(coverage)
    one_group = False
    if count == 1:  # the common case, settled without measuring the groups
        rows, columns = ndimage.find_objects(labels)[0]
        width, height = columns.stop - columns.start, rows.stop - rows.start
        if width <= CUT_ASPECT_ALONE * height:
            one_group = width >= CUT_ASPECT_ONE_GROUP * height
            if not (one_group and cut_one_group):
                return _whole(coverage, one_group)
    stroke_width = _stroke_width(strokes)
    groups = _join_strokes(coverage, strokes, stroke_width) if count > 1 else labels
    boxes = ndimage.find_objects(groups)
    masses = np.asarray(ndimage.sum_labels(coverage, groups, index=np.arange(1, len(boxes) + 1)))
    heights = np.array([box[0].stop - box[0].start for box in boxes])
    if len(boxes) == 1 and boxes[0][1].stop - boxes[0][1].start <= CUT_ASPECT_ALONE_JOINED * heights[0]:
        return _whole(coverage)  # the strokes of one digit
    # Specks and dirt: little ink, and much shorter than the biggest group; and the remnants of clutter at the
    # picture's edge (a table, a shadow): groups cut by the edge with far less ink than the biggest, when the biggest
    # is whole in the picture (as `clutter.clutter_regions` has it). When the edge cuts the biggest too, the picture
    # is cropped tight around the writing (a drawing app's canvas, a screenshot cut to the number): the lighter
    # groups it cuts are digits as well ("27" with the 7 a pixel from the edge, a thin 3 beside a bold "1177").
    height, width = coverage.shape
    at_edge = np.array([box[0].start == 0 or box[1].start == 0 or box[0].stop == height or box[1].stop == width
                        for box in boxes])
    specks = _specks(masses, heights)
    remnant = at_edge & ~at_edge[int(np.argmax(masses))] & (masses < EDGE_REMNANT_SHARE * masses.max())
    # ...but not a digit of a number written up to the edge: in the line of its other digits (two or more), beside
    # them (`clutter.beside_digits`).
    others = ~specks & ~remnant
    if np.count_nonzero(others) > 1:
        tops, bottoms = np.array([box[0].start for box in boxes]), np.array([box[0].stop for box in boxes])
        lefts, rights = np.array([box[1].start for box in boxes]), np.array([box[1].stop for box in boxes])
        remnant &= ~beside_digits(tops, bottoms, lefts, rights, others, float(heights[others].max()))
    kept = [index for index in range(len(boxes)) if not specks[index] and not remnant[index]]
    if len(kept) > MAX_DIGITS:
        raise too_many_digits(len(kept))
    digit_height = _digit_height([boxes[index] for index in kept])
    slant = _slant(coverage, strokes)
    middle = height / 2
    # Left to right by the groups' centres of mass, upright.
    centres = ndimage.center_of_mass(coverage, groups, [i + 1 for i in kept])
    upright = {i: x - slant * (y - middle) for i, (y, x) in zip(kept, centres)}
    cut_width = (CUT_ASPECT if len(kept) > 1 else CUT_ASPECT_ONE_GROUP if one_group
                 else CUT_ASPECT_ALONE if count == 1 else CUT_ASPECT_ALONE_JOINED) * digit_height
    pieces: list[Piece] = []
    crossings: list[float] = []
    for index in sorted(kept, key=upright.__getitem__):
        rows, columns = (slice(max(0, box.start - REGION_MARGIN), box.stop + REGION_MARGIN) for box in boxes[index])
        mask = ndimage.binary_dilation(groups[rows, columns] == index + 1, iterations=REGION_MARGIN)
        ink = coverage[rows, columns] * mask
        if pieces:
            crossings.append(0.0)
        group_pieces, group_crossings = _cut(ink, rows.start, columns.start, slant, middle, digit_height, cut_width,
                                             stroke_width, MAX_RUN * MAX_DIGITS - len(pieces))
        pieces += group_pieces
        crossings += group_crossings
    return Segmentation(tuple(pieces), tuple(crossings), digit_height, coverage if len(boxes) == 1 else None,
                        one_group and len(kept) == 1)


def _digit_height(boxes: Sequence[tuple[slice, slice]]) -> float:
    """The height of a number's digits, in pixels, from its stroke groups' boxes (rows, columns): the median group's.

    But ink in at most FEW_GROUPS groups, together no wider than tall, may be one digit whose strokes came apart (a
    pen skip: a 6's stem apart from its loop, a 4's bar from its stem, a 1 in two halves one above the other). Its
    parts would pull the median down to a part's height, so that each part looked like a whole digit and the digit
    whole like two side by side. Its digit height is then its tallest part's, with the parts above or below it
    (sharing at least JOIN_OVERLAP of the narrower's columns) counted in.
    """
    top, bottom = min(rows.start for rows, _ in boxes), max(rows.stop for rows, _ in boxes)
    left, right = min(columns.start for _, columns in boxes), max(columns.stop for _, columns in boxes)
    if len(boxes) > FEW_GROUPS or right - left > CUT_ASPECT_ALONE * (bottom - top):
        return float(np.median([rows.stop - rows.start for rows, _ in boxes]))

    def height_with_parts_above_or_below(part: slice) -> int:
        spans = [rows for rows, columns in boxes if _stacked(columns.start, columns.stop, part.start, part.stop)]
        return max(rows.stop for rows in spans) - min(rows.start for rows in spans)

    return float(max(height_with_parts_above_or_below(columns) for _, columns in boxes))


def _stacked(left_a: ArrayLike, right_a: ArrayLike, left_b: ArrayLike, right_b: ArrayLike) -> np.ndarray:
    """Whether groups spanning columns [left_a, right_a) and [left_b, right_b) (broadcast) share at least JOIN_OVERLAP
    of the narrower one's columns, as parts of one digit above one another do."""
    overlap = np.minimum(right_a, right_b) - np.maximum(left_a, left_b)
    return np.asarray(overlap >= JOIN_OVERLAP * np.minimum(np.subtract(right_a, left_a), np.subtract(right_b, left_b)))


def _without_fragments(ink: np.ndarray) -> np.ndarray:
    """The ink less the small bits of strokes a cut through touching digits leaves beside the digit (a neighbour's tip)."""
    labels, count = ndimage.label(ink > 0.0, structure=EIGHT_NEIGHBOURS)
    if count < 2:
        return ink
    masses = np.bincount(labels.ravel(), weights=ink.ravel())
    masses[0] = 0.0
    small = masses < FRAGMENT_SHARE * masses.max()
    small[0] = False
    return ink * ~small[labels] if np.any(small) else ink


def _whole(coverage: np.ndarray, one_group: bool = False) -> Segmentation:
    """One piece: the whole coverage (a single digit; `one_group`: perhaps two touching digits, `Segmentation`)."""
    height, width = coverage.shape
    return Segmentation((Piece(0, 0, coverage, (0, height), (0.0, float(width))),), (), float(height), coverage,
                        one_group)


def _slant(coverage: np.ndarray, strokes: np.ndarray) -> float:
    """The number's slant (columns moved per row down): how its upright strokes lean, the median lean of the edges of
    its strokes that run within STEEP_EDGE of upright (weighted by how sharp each edge is), to the nearest of SLANTS.

    Not the shear under which the strokes stack up sharpest on a column profile: the sum of the profile's squares is
    ruled by a number's longest straight stroke (four upright 0s and a 7 came out leaning as the 7's stem does), and
    the cuts between crowded digits leaned through them."""
    rows, columns = np.nonzero(strokes)
    box = coverage[max(0, rows.min() - 4):rows.max() + 5, max(0, columns.min() - 4):columns.max() + 5]
    # Smoothed first: a hard-edged stroke's pixel steps would make most of a leaning edge's normals level.
    box = ndimage.gaussian_filter(box.astype(np.float32), EDGE_BLUR)
    across, down = ndimage.sobel(box, axis=1), ndimage.sobel(box, axis=0)
    sharp = across * across + down * down
    edges = (sharp > EDGE_SHARPNESS * sharp.max()) & (np.abs(down) < 2 * STEEP_EDGE * np.abs(across))
    if not np.any(edges):
        return 0.0
    lean = -down[edges] / across[edges]  # along each edge: columns moved per row down
    weight = sharp[edges]
    median = 0.0
    for _ in range(2):  # about upright, then about the lean found: a window about 0 would pull a lean towards 0
        near = np.abs(lean - median) < STEEP_EDGE
        if not np.any(near):
            break
        order = np.argsort(lean[near])
        cumulative = np.cumsum(weight[near][order])
        median = float(lean[near][order][np.searchsorted(cumulative, cumulative[-1] / 2)])
    return min(SLANTS, key=lambda slant: abs(slant - median))


def _cut(ink: np.ndarray, top: int, left: int, slant: float, middle: float, digit_height: float, cut_width: float,
         stroke_width: float, room: int) -> tuple[list[Piece], list[float]]:
    """A group's ink as pieces, cut where its upright ink profile has minima when it is wide enough to hold
    touching digits, and at the valleys of its outline when it is wider still; with the strokes each cut crosses.
    Each cut runs top to bottom along the path through the least ink near the slanted line at its minimum or valley
    (touching digits rarely meet along a straight line), through the valley itself. More than `room` pieces are
    refused before any path is traced."""
    y, x = np.mgrid[top:top + ink.shape[0], left:left + ink.shape[1]]
    upright = x - slant * (y - middle)
    origin = float(upright.min())
    bins = np.floor(upright - origin).astype(np.intp)
    profile = np.bincount(bins.ravel(), weights=ink.ravel())
    first, last = span(profile)
    smooth = np.convolve(profile, np.ones(3) / 3, mode="same")
    cuts: list[int] = []
    through: dict[int, int] = {}  # the cuts at a valley of the outline: the row each one's path goes through
    if last - first > cut_width:
        margin = max(1, round(MIN_PIECE * digit_height))
        inside = range(first + margin, last - margin)
        minima = [i for i in inside if smooth[i] <= smooth[i - 1] and smooth[i] <= smooth[i + 1]
                  and smooth[i] <= MAX_CROSSINGS * stroke_width]
        cuts = _spaced(sorted(minima, key=lambda i: smooth[i]), margin)
        if last - first > VALLEY_GROUP_WIDTH * digit_height:
            valleys = _valleys(ink, bins, len(profile), digit_height, inside, margin)
            through = {valley: valleys[valley] for valley in _spaced(valleys, margin, cuts)}
        cuts = sorted([*cuts, *through])
    if len(cuts) >= room:
        raise too_many_digits(math.ceil((MAX_RUN * MAX_DIGITS - room + len(cuts) + 1) / MAX_RUN))
    if not cuts:
        return [_piece(ink, top, left, upright)], []
    # Each cut's path: row by row, the first column of the piece right of it (paths that cross are kept in order).
    reach = max(1, round(PATH_REACH * digit_height))
    lines = [origin + cut + slant * (np.arange(top, top + ink.shape[0]) - middle) - left for cut in cuts]
    paths = [_least_ink_path(ink, line, reach, through.get(cut)) for cut, line in zip(cuts, lines)]
    for earlier, later in zip(paths, paths[1:]):
        np.maximum(later, earlier, out=later)
    columns = np.arange(ink.shape[1])
    bounds = [np.zeros(ink.shape[0], np.intp), *paths, np.full(ink.shape[0], ink.shape[1], np.intp)]
    pieces: list[Piece] = []
    crossings: list[float] = []
    crossing = 0.0  # of the cut before the next piece
    for index, (start, stop) in enumerate(zip(bounds, bounds[1:])):
        if index > 0:
            crossing = max(crossing, _path_ink(ink, start) / stroke_width)
        part = ink * ((columns >= start[:, None]) & (columns < stop[:, None]))
        if not np.any(part > STROKE_COVERAGE):
            continue  # nothing but a sliver between two cuts: the cuts around it are one
        if pieces:
            crossings.append(crossing)
        crossing = 0.0
        pieces.append(_piece(part, top, left, upright))
    return pieces, crossings


def _piece(part: np.ndarray, top: int, left: int, upright: np.ndarray) -> Piece:
    """A Piece of the ink `part`, which holds some stroke (a crop whose top-left pixel is (`top`, `left`); `upright`
    its pixels' upright columns)."""
    strokes = part > STROKE_COVERAGE
    ink_rows = np.flatnonzero(strokes.any(axis=1))
    upright_ink = upright[strokes]
    return Piece(top, left, part, (top + int(ink_rows[0]), top + int(ink_rows[-1]) + 1),
                 (float(upright_ink.min()), float(upright_ink.max()) + 1.0))


def _spaced(ranked: Iterable[int], margin: int, taken: Sequence[int] = ()) -> list[int]:
    """The places of `ranked` (best first) at least `margin` from every better one kept and from each of `taken`."""
    kept: list[int] = []
    for place in ranked:
        if all(abs(place - other) >= margin for other in (*taken, *kept)):
            kept.append(place)
    return kept


def _valleys(ink: np.ndarray, bins: np.ndarray, count: int, digit_height: float, inside: range,
             margin: int) -> dict[int, int]:
    """The valleys of the ink's upper and lower outline at the upright columns `inside` (`bins`: each pixel's upright
    column, `count` of them), deepest first and at least `margin` apart: upright column → row of the outline there."""
    strokes = ink > STROKE_COVERAGE
    rows = np.nonzero(strokes)[0]
    columns = bins[strokes]
    top = np.full(count, np.inf)
    np.minimum.at(top, columns, rows)
    bottom = np.full(count, np.inf)  # measured upwards, as minus the row: a valley is then a peak, as above
    np.minimum.at(bottom, columns, -rows)
    window = max(2, round(VALLEY_WINDOW * digit_height))
    columns_inside = np.asarray(inside)
    candidates: list[tuple[float, int, int]] = []  # (depth, upright column, row)
    for outline, sign in ((top, 1), (bottom, -1)):
        # The outline's extreme (its highest point above, its lowest below) within `window` columns on each side.
        around = sliding_window_view(np.pad(outline, window, constant_values=np.inf), window).min(axis=1)
        with np.errstate(invalid="ignore"):  # a column without ink beside one without: inf - inf, no valley
            depth = np.minimum(outline[columns_inside] - around[columns_inside],
                               outline[columns_inside] - around[columns_inside + window + 1])
        depth[~np.isfinite(depth)] = -np.inf
        deep = depth >= VALLEY_DEPTH * digit_height
        candidates += [(float(d), int(i), sign * int(outline[i])) for d, i in zip(depth[deep], columns_inside[deep])]
    ranked = sorted(candidates, reverse=True)
    outline_rows: dict[int, int] = {}
    for _, column, row in ranked:
        outline_rows.setdefault(column, row)  # a column's deepest valley, above or below
    return {column: outline_rows[column] for column in _spaced((column for _, column, _ in ranked), margin)}


def _least_ink_path(ink: np.ndarray, line: np.ndarray, reach: int, through: int | None = None) -> np.ndarray:
    """The column, in each row, of the top-to-bottom path through the least ink that stays within `reach` columns
    of `line` (a column per row) and moves at most one column a row: the cut falls left of that column. With
    `through`, the path goes through `line` at that row."""
    rows, width = ink.shape
    offsets = np.arange(-reach, reach + 1)
    columns = np.clip(np.rint(line).astype(np.intp)[:, None] + offsets, 0, width - 1)
    # A faint preference for the straight line settles paths through blank paper.
    cost = ink[np.arange(rows)[:, None], columns] + PATH_DRIFT * np.abs(offsets)
    if through is not None:
        cost[through, np.arange(offsets.size) != reach] = np.inf
    # The least ink of a path from the top to each place, each row walled in by inf on both sides.
    walled = np.full((rows, offsets.size + 2), np.inf, cost.dtype)
    totals = walled[:, 1:-1]
    totals[0] = cost[0]
    for above, here, row_cost in zip(walled, totals[1:], cost[1:]):
        np.minimum(above[:-2], above[2:], out=here)
        np.minimum(here, above[1:-1], out=here)
        here += row_cost
    path = np.empty(rows, np.intp)
    step = int(totals[-1].argmin())
    for row in range(rows - 1, -1, -1):
        path[row] = columns[row, step]
        if row > 0:
            low = max(0, step - 1)
            step = low + int(totals[row - 1, low:step + 2].argmin())
    return path


def _path_ink(ink: np.ndarray, path: np.ndarray) -> float:
    """The ink a cut along `path` (a column per row) goes through."""
    return float(ink[np.arange(ink.shape[0]), np.minimum(path, ink.shape[1] - 1)].sum())


def _stroke_width(strokes: np.ndarray) -> float:
    """How wide the strokes are, in pixels (twice the depth of their thickest parts)."""
    # Measured within the strokes' box and a pixel of paper around it (where the picture has one): the paper nearest
    # each stroke pixel lies within it, so the depths are the whole picture's, at a fraction of the cost.
    rows, columns = np.flatnonzero(strokes.any(axis=1)), np.flatnonzero(strokes.any(axis=0))
    if rows.size:
        strokes = strokes[max(0, rows[0] - 1):rows[-1] + 2, max(0, columns[0] - 1):columns[-1] + 2]
    return 2.0 * float(np.percentile(ndimage.distance_transform_edt(strokes)[strokes], 90))


def _join_strokes(coverage: np.ndarray, strokes: np.ndarray, stroke_width: float) -> np.ndarray:
    """Label image of digit candidates: strokes closer than about a stroke's width, or above one another, are one.

    Near-linear in the picture's pixels: the groups of strokes are counted and sized first, and a picture with more
    parts than MAX_DIGITS digits could be written with is refused before any two are compared (a grid of dots).
    """
    radius = max(1, round(JOIN_STROKES * stroke_width / 2))
    near, count = ndimage.label(ndimage.binary_dilation(strokes, iterations=radius), structure=EIGHT_NEIGHBOURS)
    near[~strokes] = 0  # each stroke joins the group its grown copy fell into...
    boxes = ndimage.find_objects(near)
    top, bottom = np.array([box[0].start for box in boxes]), np.array([box[0].stop for box in boxes])
    left, right = np.array([box[1].start for box in boxes]), np.array([box[1].stop for box in boxes])
    specks = _specks(np.asarray(ndimage.sum_labels(coverage, near, index=np.arange(1, count + 1))), bottom - top)
    parts, dirt = np.flatnonzero(~specks), np.flatnonzero(specks)
    if parts.size > MAX_PARTS * MAX_DIGITS:
        raise too_many_digits(parts.size)

    def above_one_another(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Whether groups a and b (broadcast) are parts of one digit above one another (a 5's flag, a 7's bar)."""
        overlap = np.minimum(right[a], right[b]) - np.maximum(left[a], left[b])
        shorter = np.minimum(bottom[a] - top[a], bottom[b] - top[b])
        taller = np.maximum(bottom[a] - top[a], bottom[b] - top[b])
        return (_stacked(left[a], right[a], left[b], right[b]) & (shorter < JOIN_PART_HEIGHT * taller)
                | (overlap > 0) & (shorter < JOIN_SMALL_PART_HEIGHT * taller))

    # ...and so do parts above one another, and a speck with the parts above or below it (which it links); two
    # specks are not compared, so the pairs are at most (MAX_PARTS · MAX_DIGITS)² whatever the dirt.
    first, second = np.triu_indices(parts.size, 1)
    pairs = [np.stack([first, second], 1)[above_one_another(parts[first], parts[second])]]
    touched = above_one_another(dirt[:, None], parts[None, :])  # speck × part
    owner = np.argmax(touched, axis=1)  # the first part each speck touches
    linked, other = np.nonzero(touched)
    pairs.append(np.unique(np.stack([owner[linked], other], 1), axis=0))
    root = np.arange(parts.size)  # union-find over the parts: each part's representative
    for x, y in np.concatenate(pairs).tolist():
        while root[x] != x:
            x = root[x]
        while root[y] != y:
            y = root[y]
        root[max(x, y)] = min(x, y)
    for index in range(parts.size):  # increasing: each representative is final before the parts that point to it
        root[index] = root[root[index]]
    label = np.arange(count + 1)
    label[parts + 1] = parts[root] + 1
    joined = touched.any(axis=1)
    label[dirt[joined] + 1] = label[parts[owner[joined]] + 1]
    _, numbered = np.unique(label, return_inverse=True)  # 1, 2, … in the order of each group's first part
    return numbered[near]


def _specks(masses: np.ndarray, heights: np.ndarray) -> np.ndarray:
    """Which groups are specks or dirt: little ink, and much shorter than the tallest group."""
    return (masses < SPECK_SHARE * masses.max()) & (heights < 0.5 * heights.max())
