"""Surfaces: what a look at the whole picture takes for ink may be no stroke but a surface, a sticky note or a page
seen from afar, lighter or darker than the desk or wall around it, the number on it too small to see there.

A region filling its box, deep, a quadrilateral, solid, whole in the picture and holding most of the ink
(`surfaces_in`), or standing out on the other side than the ink, away from it (`surfaces_beyond`: a light note among
dark objects), is looked at on its own (`on_surface`), what lies beyond it evened out to its own level (`on_it`);
the writing found on it, small on it and darker than it, is what `digits.reading.ink` reads instead.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import ndimage

from digits.reading.clutter import edge
from digits.reading.coverage import STRONG_INK, ink_of, polarity_of, whole_window
from digits.reading.decode import ImageError, Picture, fit
from digits.reading.measures import ink_box, median


# A region of what a look takes for ink that fills at least SURFACE_FILL of its box, is at least SURFACE_DEPTH of
# its longer side (and SURFACE_PIXELS pixels) deep, the writing on it filled in, lies whole in the picture and holds
# at least SURFACE_MASS of the ink is no stroke but a surface (a sticky note, a card, a page seen from afar, standing
# out of the desk or wall around it): the writing is on it, too small to see in that look. It is looked at on its
# own, as large as a closer look (`ink.CLOSER_LOOK`); what that finds stands when it is at most SURFACE_SHARE of the
# surface's height and covers at most SURFACE_WRITING of it, in strokes at most 2 * SURFACE_STROKE of its size thick
# (a digit written bold, seen as a blob, fills its own box; the paper inside its loops, found instead, is thick and
# more of it than writing on a note: the first look stands).
SURFACE_FILL = 0.6
SURFACE_MASS = 0.6
SURFACE_WRITING = 0.12
SURFACE_STROKE = 0.09
SURFACES = 2  # at most this many surfaces are looked at, the largest first
SURFACE_DEPTH = 0.3
SURFACE_PIXELS = 3.0
SURFACE_SHARE = 0.75
# A surface is a quadrilateral (a note, a card, a page, at any turn and in perspective): the largest quadrilateral
# within its convex hull (its corners among SQUARE_VERTICES of the hull's) covers at least SURFACE_SQUARE of its
# pixels (a bold 0 or 8 seen as a blob, its loops filled, is an oval: 2 / pi; a blob of another digit less).
SURFACE_SQUARE = 0.9
SQUARE_VERTICES = 48
# The surface looked at alone is seen at least this many times as sharp (pixels across it) as in the look that found it.
SURFACE_SHARPER = 2.0
# What lies beyond the surface (the desk), and this many pixels of its edge, are evened out to the surface's level.
SURFACE_FRINGE = 2
# A surface taken for ink stands out of what lies beyond it as a whole, as strongly as ink: its mean coverage is at
# least SURFACE_SOLID. (A number seen closely, with the faint ink kept beside its strokes around it, is a faint
# rectangle of its own, mostly far below that: 0.1-0.45 against 0.55-0.9 for a note in the far probe.)
SURFACE_SOLID = 0.5
# A surface standing out on the other side than the look's ink (a light note among dark objects) is looked at when at
# most this share of that ink lies on it: the ink is the objects beyond it, not writing on it.
SURFACE_APART = 0.05
# It is looked for only where what stands out of the look on that side is at least SURFACE_OTHER of what does on the
# ink's side (a note beside a phone in the far probe: 0.15-3.6; a digit on paper, in the speed benchmark's photo mix:
# median 0.02, 1 photo in 11 from 0.2): on other photos it costs nothing.
SURFACE_OTHER = 0.2
# It stands out of what lies around it (within SURFACE_RING of the look's longer side, the ink aside) by at least
# SURFACE_STANDS of the ink's contrast against it: a note on a desk by 0.2-1, a stretch of a page beside a digit,
# bounded by the digit, by at most 0.07 (it is the page).
SURFACE_RING = 1 / 32
SURFACE_STANDS = 0.1
# A region of the first look's ink that may be a surface (solid, filling its box, whole, holding most of the ink) but
# is at most SMALL_SURFACE pixels across is too small there to tell its shape: a closer look tells.
SMALL_SURFACE = 9


def surfaces_beyond(look: np.ndarray, polarity: float, coverage: np.ndarray, rare: bool) -> list[np.ndarray]:
    """Surfaces standing out of `look` on the other side than its ink (`coverage`, with `polarity`), away from that
    ink (at most SURFACE_APART of it on them) and standing out of what lies around them: a light note among dark
    objects on a desk."""
    strong = coverage >= STRONG_INK
    if not np.any(strong):
        return []
    window = whole_window(look.shape)
    try:
        # (What would be clutter among strokes, a blob, is what is looked for here.)
        other = ink_of(look, -polarity, window, cut=False, rare=rare, clutter=False)
    except ImageError:
        return []
    total = float(coverage.sum())
    ink_level = median(look[strong])
    reach = max(1, round(SURFACE_RING * max(look.shape)))

    def apart(mask: np.ndarray) -> bool:
        if float(coverage[mask].sum()) > SURFACE_APART * total:
            return False
        # It stands out of what lies around it (the ink aside), not only of the ink: a stretch of the paper beside a
        # digit, bounded by it, is as light as the paper beyond.
        rows, columns = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        near = (slice(max(0, rows[0] - reach), rows[-1] + reach + 1),
                slice(max(0, columns[0] - reach), columns[-1] + reach + 1))
        around = ndimage.binary_dilation(mask[near], iterations=reach) & ~mask[near] & (coverage[near] == 0.0)
        if not np.any(around):
            return False
        level = median(look[mask])
        return abs(level - median(look[near][around])) >= SURFACE_STANDS * abs(level - ink_level)

    return surfaces_in(other, mass_share=0.0, keep=apart)[0]


def surfaces_in(coverage: np.ndarray, mass_share: float = SURFACE_MASS,
                keep: Callable[[np.ndarray], bool] | None = None, small: bool = False
                ) -> tuple[list[np.ndarray], np.ndarray | None]:
    """The regions of `coverage` that are surfaces, not strokes (a note, a page: see SURFACE_FILL), whole in the
    picture, largest first, holes filled (the writing on them): masks; and, with `small`, when none is found, the one
    that may be a surface too few pixels across to tell its shape (SMALL_SURFACE: its size, depth and squareness not
    judged), else None. (`keep`: a further test of each one's mask, before its shape is judged.)"""
    solid = coverage > 0.0
    if np.count_nonzero(solid) < SURFACE_FILL * (SURFACE_PIXELS if small else 2 * SURFACE_PIXELS) ** 2:
        return [], None
    labels, count = ndimage.label(solid, structure=np.ones((3, 3)))
    pixels = np.bincount(labels.ravel(), minlength=count + 1)
    boxes = ndimage.find_objects(labels)
    tall = np.array([0, *(down.stop - down.start for down, _ in boxes)])
    wide = np.array([0, *(across.stop - across.start for _, across in boxes)])
    candidates = (pixels >= SURFACE_FILL * tall * wide) & (np.minimum(tall, wide) >= SURFACE_PIXELS)
    candidates[0] = False
    # The surface is what the look sees (a note alone on a desk), not one of a row of digits seen coarsely.
    mass = np.bincount(labels.ravel(), coverage.ravel(), minlength=count + 1)
    candidates &= mass >= mass_share * float(coverage.sum())
    candidates &= mass >= SURFACE_SOLID * pixels  # solid ink, not a number's faint fringe
    candidates[edge(labels)] = False  # a note or a page seen from afar lies whole in the picture (not light or shade)
    found: list[np.ndarray] = []
    largest = sorted(np.flatnonzero(candidates), key=lambda index: -pixels[index])
    for index in largest:
        if min(tall[index], wide[index]) < 2 * SURFACE_PIXELS:
            continue
        down, across = boxes[index - 1]
        # How deep it is, the writing on it filled in (a row of digits across a note leaves it shallow otherwise).
        filled = ndimage.binary_fill_holes(labels[down, across] == index)
        mask = np.zeros_like(solid)
        mask[down, across] = filled
        if keep is not None and not keep(mask):
            continue
        deepest = _depth(filled)
        if (deepest >= SURFACE_PIXELS and deepest >= SURFACE_DEPTH * max(tall[index], wide[index])
                and _squareness(filled) >= SURFACE_SQUARE):
            found.append(mask)
            if len(found) == SURFACES:
                break
    if small and not found and largest and max(tall[largest[0]], wide[largest[0]]) <= SMALL_SURFACE:
        return found, labels == largest[0]
    return found, None


def _squareness(mask: np.ndarray) -> float:
    """How much of `mask`'s pixels the largest quadrilateral within their convex hull covers: about 1 for a note or
    a page, at any turn and in any perspective; 2 / pi for an oval (a bold 0 or 8, its loops filled)."""
    # Imported here: scipy.spatial takes a tenth of a second to import, a one-image `python -m bot predict` start's
    # sixth, and a picture seldom holds a region that may be a surface.
    from scipy.spatial import ConvexHull, QhullError

    rim = mask & ~ndimage.binary_erosion(mask)
    down, across = np.nonzero(rim)
    # The corners of the rim's pixels: the hull of a rectangle of pixels is that rectangle.
    corners = np.array([[-0.5, -0.5], [0.5, -0.5], [-0.5, 0.5], [0.5, 0.5]])
    points = (np.column_stack([across, down])[:, None, :] + corners[None, :, :]).reshape(-1, 2)
    try:
        hull = points[ConvexHull(points).vertices]
    except QhullError:
        return 0.0
    if len(hull) > SQUARE_VERTICES:
        hull = hull[np.linspace(0, len(hull), SQUARE_VERTICES, endpoint=False).astype(int)]
    # Each diagonal (i, j): the quadrilateral's area is the two largest triangles on it, one on each side.
    side = hull[None, :, :] - hull[:, None, :]  # [i, j] = p_j - p_i
    triangles = side[:, :, None, 0] * side[:, None, :, 1] - side[:, :, None, 1] * side[:, None, :, 0]
    quad = float((triangles.max(axis=2) - triangles.min(axis=2)).max()) / 2
    return quad / float(np.count_nonzero(mask))


def _depth(mask: np.ndarray) -> float:
    """How far `mask`'s inmost pixel lies from its edge (or the array's), in pixels: half its thickest part."""
    return float(ndimage.distance_transform_edt(np.pad(mask, 1)).max())


def on_surface(picture: Picture, surface: np.ndarray, limit: int
               ) -> tuple[tuple[float, float, float, float], tuple[float, float, float, float], float] | None:
    """The writing on a surface (`surface`: its mask in a look at the whole picture), looked at on its own at most
    `limit` a side, what lies beyond the surface evened out: the surface's box (left, top, right, bottom, in the
    picture's pixels), the writing's box (top, bottom, left, right, with a look's pixel of room), and which side is
    ink there; None when nothing small enough on it is found."""
    x_scale, y_scale = picture.width / surface.shape[1], picture.height / surface.shape[0]
    rows, columns = np.flatnonzero(surface.any(axis=1)), np.flatnonzero(surface.any(axis=0))
    region = (columns[0] * x_scale, rows[0] * y_scale, (columns[-1] + 1) * x_scale, (rows[-1] + 1) * y_scale)
    size = fit((region[2] - region[0], region[3] - region[1]), limit)
    # Looked at alone, the surface must be seen SURFACE_SHARPER times as sharp, or there is nothing more to see on it
    # (a bold digit in a low-resolution scan, seen whole in the first look).
    across = max(rows[-1] - rows[0], columns[-1] - columns[0]) + 1
    if min(max(size), max(region[2] - region[0], region[3] - region[1])) < SURFACE_SHARPER * across:
        return None
    # The writing is read in its brightness: a pen's is darker than the note (below), while in the channel that shows
    # the note best it may be lighter (blue ink on a yellow note, in blue) and blurred by a JPEG's coarser colour.
    seen = picture.brightness(region, size)
    paper = surface_at(surface, region, (x_scale, y_scale), seen.shape)
    signal = on_it(seen, paper)
    window = whole_window(signal.shape)
    polarity = polarity_of(signal)
    try:
        coverage = ink_of(signal, polarity, window, cut=False, rare=True)
        top, bottom, left, right = ink_box(coverage)
    except ImageError:
        return None
    if (bottom - top > SURFACE_SHARE * signal.shape[0] or float(coverage.mean()) > SURFACE_WRITING
            or _depth(coverage >= STRONG_INK) > SURFACE_STROKE * max(signal.shape)):
        return None
    # Writing on a note or a page is a pen's: darker than the surface. Lighter "writing" on a dark blob is the paper
    # inside a bold digit's loop (a bold 2 large in a photo): the first look stands.
    writing = coverage >= STRONG_INK
    if not np.any(writing) or median(seen[writing]) >= median(seen[paper]):
        return None
    x_step, y_step = (region[2] - region[0]) / signal.shape[1], (region[3] - region[1]) / signal.shape[0]
    return region, (region[1] + (top - 1) * y_step, region[1] + (bottom + 1) * y_step,
                    region[0] + (left - 1) * x_step, region[0] + (right + 1) * x_step), polarity


def surface_at(surface: np.ndarray, region: tuple[float, float, float, float], scales: tuple[float, float],
                shape: tuple[int, ...]) -> np.ndarray:
    """The surface (`surface`, its mask in a look `scales` picture pixels a pixel) in a signal of `region` (left, top,
    right, bottom in the picture's pixels) `shape` large, as the look saw it."""
    height, width = shape
    x = (region[0] + (np.arange(width) + 0.5) * ((region[2] - region[0]) / width)) / scales[0] - 0.5
    y = (region[1] + (np.arange(height) + 0.5) * ((region[3] - region[1]) / height)) / scales[1] - 0.5
    return ndimage.map_coordinates(surface.astype(np.float32), np.meshgrid(y, x, indexing="ij"), order=1,
                                   mode="constant", cval=0.0) >= 0.5


def on_it(signal: np.ndarray, coarse: np.ndarray) -> np.ndarray:
    """`signal` with what lies beyond the surface set to the surface's own level. The surface (`coarse`: as the look
    saw it, `surface_at` the signal's pixels) is found again at the signal's finer scale: the pixels on its side of
    the level halfway to what lies beyond, joined to it, with what they enclose (the writing), less SURFACE_FRINGE
    pixels at its edge."""
    if np.all(coarse) or not np.any(coarse):
        return signal
    level = median(signal[coarse])
    beyond = median(signal[~coarse])
    like = (signal - (level + beyond) / 2) * (1.0 if level > beyond else -1.0) > 0
    labels, _ = ndimage.label(like)
    overlap = np.bincount(labels[coarse], minlength=labels.max() + 1)
    overlap[0] = 0
    inside = ndimage.binary_fill_holes(labels == int(overlap.argmax()))
    inside = ndimage.binary_erosion(inside, iterations=SURFACE_FRINGE)
    if not np.any(inside):
        return signal
    out = signal.copy()
    out[~inside] = level
    return out
