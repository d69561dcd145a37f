"""Ink: a picture → ink coverage in [0, 1] of the region that holds the ink, read at its own scale; lighting,
polarity and clutter removed.

The whole picture is looked at small first (where the ink is and how large; closer when it is small), then the
ink's region is read with the ink about DIGIT_HEIGHT pixels high. Which side is ink is the side that stands out of
its surroundings; the background is what is left when everything thinner than the strokes is filled in (uneven
light, hard shadows, the table, the paper's edge stay background; a clean picture's background is its edge's one
level); faint ink counts only beside strong ink (not ruled or squared paper's lines); clutter is set aside
(`digits.reading.clutter`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image
from scipy import ndimage

from digits.reading.clutter import CLUTTER_EDGE_SHARE, clutter_regions, edge
from digits.reading.coverage import (BACKGROUND_SHARE, STRONG_INK, clean_level, coverage_of, ink_of, polarity_of, sides,
                                     whole_window)
from digits.reading.decode import ANALYSIS_SIZE, ImageError, Picture, fit
from digits.reading.measures import ink_box, median, resize


# The whole picture is first looked at this large (which side is ink, where the ink is and how large), and again
# this large when the ink is under SMALL_INK pixels high there, or not found (a number small in a big picture)...
FIRST_LOOK = 64
CLOSER_LOOK = 256
SMALL_INK = 6
# (The first look's ink along the picture's edge, kept, is a shadow beside such a number when the closer look finds
# the ink at most this share of its extent.)
FAR_SMALLER = 0.5
# ...then the ink is read on its own: its region, with room around it for the background, at the scale that makes it
# about this many pixels high (MNIST frames a digit in 20), at most ANALYSIS_SIZE a side and the picture's own pixels.
DIGIT_HEIGHT = 64
# Reading the ink's region, the background is what is left when everything thinner than this share of the ink's size
# is filled in (and than BACKGROUND_SHARE of the picture's longer side): room for its thickest strokes and blobs, and
# no more.
STROKE_ROOM = 0.45
# A region of what a look takes for ink that fills at least SURFACE_FILL of its box, is at least SURFACE_DEPTH of
# its longer side (and SURFACE_PIXELS pixels) deep, the writing on it filled in, lies whole in the picture and holds
# at least SURFACE_MASS of the ink is no stroke but a surface (a sticky note, a card, a page seen from afar, standing
# out of the desk or wall around it): the writing is on it, too small to see in that look. It is looked at on its
# own, CLOSER_LOOK large; what that finds stands when it is at most SURFACE_SHARE of the surface's height and covers
# at most SURFACE_WRITING of it, in strokes at most 2 * SURFACE_STROKE of its size thick (a digit written bold,
# seen as a blob, fills its own box; the paper inside its loops, found instead, is thick and more of it than writing
# on a note: the first look stands).
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
# The writing on a surface is read DIGIT_HEIGHT high even when that is sharper than the picture (digits a few pixels
# high on a note seen from afar): its region is read at the picture's own pixels and resampled up (bicubic), so that
# the split of ink from paper and the cuts between digits see strokes, not a few blurred pixels each. And when it
# rises or falls across the surface (a note turned, seen in perspective) by more than WRITING_TILT a pixel along it,
# and is at least WRITING_WIDE times as wide as high (a number, not one digit, whose own shape would tilt the fit),
# it is turned level: touching or blurred together, its digits make one stroke group, measured as a digit as tall as
# the whole tilted number.
WRITING_TILT = 0.05
WRITING_WIDE = 1.5


def isolate_ink(picture: Picture) -> np.ndarray:
    """Ink coverage in [0, 1] (1 = full stroke, 0 = background), lighting and polarity removed, of the region of the
    picture that holds the ink, read at the ink's own scale (about DIGIT_HEIGHT pixels high)."""
    closer = max(picture.size) > FIRST_LOOK
    beside_clutter = False
    try:
        look, level, polarity, coverage, cut, other = _look(picture, FIRST_LOOK)
        box = ink_box(coverage)
        if closer and box[1] - box[0] >= SMALL_INK:
            # Ink along the edge kept (setting it aside would leave too little, `clutter_mask`): a digit cropped
            # tight, or a shadow across the picture beside a number small in it. A closer look tells.
            along_edge = int(np.count_nonzero(edge(coverage))) >= CLUTTER_EDGE_SHARE * 2 * sum(coverage.shape)
            beside_clutter = closer = along_edge and bool(np.any(clutter_regions(coverage)))
    except ImageError:
        if not closer:
            raise
    if closer:
        # Little or nothing seen: perhaps a number small in a big picture. A closer look finds it.
        first = (look, level, polarity, coverage, cut, other) if beside_clutter else None
        try:
            look, level, polarity, coverage, cut, other = _look(picture, CLOSER_LOOK, rare=True)
            # Beside kept clutter, not far smaller seen closer (or nothing seen): the ink along the edge is the digit.
            # (Ink the first look saw cut by the edge and the closer one, sharper, sees whole within the picture: what
            # the first took for a digit cut by the edge was a shadow or light falling off along it, read as ink.)
            first_stands = first is not None and (
                _extent(ink_box(coverage)) * first[0].shape[0] >= FAR_SMALLER * _extent(box) * look.shape[0]) and (
                cut or not first[4])
        except ImageError:
            if first is None:
                raise
            first_stands = True
        if first is not None and first_stands:
            look, level, polarity, coverage, cut, other = first
            closer = False
    # Where the ink is, in the picture's pixels, with room around it for the background.
    x_scale, y_scale = picture.width / look.shape[1], picture.height / look.shape[0]
    found = box if not closer else ink_box(coverage)
    top, bottom, left, right = ((found[0] - 1) * y_scale, (found[1] + 1) * y_scale, (found[2] - 1) * x_scale,
                                (found[3] + 1) * x_scale)
    bounds = (0.0, 0.0, float(picture.width), float(picture.height))
    judge, rare = closer, closer
    written = surface = None
    # (A surface is looked at alone only when seen SURFACE_SHARPER times as sharp: never in a look at about the
    # picture's own pixels, a 28×28 digit's among them.)
    sharp = max(x_scale, y_scale) >= SURFACE_SHARPER
    small: list[np.ndarray] = []
    surfaces = _surfaces(coverage, small=small) if sharp else []
    decoded = picture.decoded()
    if not surfaces and level is None and sharp:
        # A note lighter than the desk beside darker objects (a keyboard, a phone, a mug): the objects won the
        # polarity and are the ink; the note stands out on the other side, away from that ink.
        surfaces = _surfaces_beyond(look, polarity, coverage, closer) if other >= SURFACE_OTHER else []
        if not surfaces and not closer and small:
            # A note or a page a few pixels across in the first look: too few to tell its shape. A closer look tells.
            try:
                seen, _, side, seen_coverage, _, seen_other = _look(picture, CLOSER_LOOK, rare=True)
                surfaces = _surfaces(seen_coverage) or (
                    _surfaces_beyond(seen, side, seen_coverage, True) if seen_other >= SURFACE_OTHER else [])
            except ImageError:
                pass
    for surface in surfaces:
        written = _on_surface(picture, surface)
        if written is not None:
            break
    if written is None:
        picture.read_as_decoded(decoded)  # nothing written on them: read exactly as if they had not been looked at
    if written is not None:
        # A note or a page seen from afar, taken for ink: the writing on it is read instead, within the surface, in
        # its brightness, with the polarity it has there, what lies beyond the surface evened out (the desk is no ink).
        bounds, (top, bottom, left, right), polarity = written
        level, cut, judge, rare = None, False, False, True
    window = min(BACKGROUND_SHARE * max(picture.size), STROKE_ROOM * max(bottom - top, right - left))
    region = (max(bounds[0], left - window), max(bounds[1], top - window), min(bounds[2], right + window),
              min(bounds[3], bottom + window))
    scale = min(1.0, DIGIT_HEIGHT / (bottom - top), ANALYSIS_SIZE / max(region[2] - region[0], region[3] - region[1]))
    size = (max(1, round((region[2] - region[0]) * scale)), max(1, round((region[3] - region[1]) * scale)))
    if size == (look.shape[1], look.shape[0]) and region == (0.0, 0.0, float(picture.width), float(picture.height)):
        return coverage  # read at the size it was looked at
    if written is not None and surface is not None:
        detail = picture.brightness(region, size)
        seen_at = (picture.width / surface.shape[1], picture.height / surface.shape[0])
        detail = _on_it(detail, _surface_at(surface, region, seen_at, detail.shape))
        sharper = min(DIGIT_HEIGHT / (bottom - top), ANALYSIS_SIZE / max(detail.shape))
        if sharper > 1.0:
            detail = resize(detail, (round(detail.shape[1] * sharper), round(detail.shape[0] * sharper)),
                            Image.Resampling.BICUBIC)
            scale *= detail.shape[0] / size[1]
    else:
        detail = picture.signal(region, size)
    window_pixels = max(3, round(window * scale))
    if level is not None:
        return coverage_of(polarity * (detail - level), window_pixels)
    if judge:
        # Ink small in the whole picture is judged where it is: its stand-out there is no longer lost in the paper.
        polarity = polarity_of(detail)
    # Around a number found small, the printed lines may still outnumber its ink.
    coverage = ink_of(detail, polarity, window_pixels, cut, rare=rare)
    return _level(coverage) if written is not None else coverage


def _level(coverage: np.ndarray) -> np.ndarray:
    """The writing on a surface turned level (see WRITING_TILT): the line fitted through the centre of its ink's rows
    in each column, made flat."""
    top, bottom, left, right = ink_box(coverage)
    mass = coverage.sum(axis=0)
    columns = np.flatnonzero(mass > 0.0)
    if right - left < WRITING_WIDE * (bottom - top) or columns.size < 3:
        return coverage
    rows = np.arange(coverage.shape[0], dtype=np.float64)
    centres = (coverage[:, columns] * rows[:, None]).sum(axis=0) / mass[columns]
    tilt = float(np.polyfit(columns.astype(np.float64), centres, 1, w=np.sqrt(mass[columns]))[0])
    if abs(tilt) < WRITING_TILT:
        return coverage
    turned = ndimage.rotate(coverage, np.degrees(np.arctan(tilt)), order=1, mode="constant", cval=0.0)
    return np.clip(turned, 0.0, 1.0, out=turned)


def _look(picture: Picture, limit: int, rare: bool = False
          ) -> tuple[np.ndarray, float | None, float, np.ndarray, bool, float]:
    """A look at the whole picture at most `limit` a side: its signal, a clean picture's background level (else
    None), which side is ink, the ink's coverage, whether the picture's edge cuts the ink (`rare`: the ink may be a
    few pixels of it, see `coverage_of`), and how much stands out on the other side, to what the ink's side does."""
    look = picture.signal(size=fit(picture.size, limit))
    level = clean_level(look)
    window = whole_window(look.shape)
    if level is not None:
        # A clean picture (a drawing app's export, MNIST itself): the background is its edge's one level, exactly.
        polarity = -1.0 if level == float(look.max()) else 1.0
        return look, level, polarity, coverage_of(polarity * (look - level), window, rare), False, 0.0
    polarity, dark, light = sides(look)
    other = (light if polarity < 0 else dark) / max(dark if polarity < 0 else light, 1e-9)
    # Fill in what is thinner than a good share of the picture.
    coverage = ink_of(look, polarity, window, cut=False, rare=rare)
    if np.any(edge(coverage)):
        # The digit runs off the picture (a tight crop): what the edge cuts is a stroke, with paper beyond.
        try:
            return look, level, polarity, ink_of(look, polarity, window, cut=True, rare=rare), True, other
        except ImageError:
            if not rare:
                raise
            # Ink rare in the picture is no digit cut by its edge: what reaches the edge is the paper's lines.
    return look, level, polarity, coverage, False, other


def _surfaces_beyond(look: np.ndarray, polarity: float, coverage: np.ndarray, rare: bool) -> list[np.ndarray]:
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

    return _surfaces(other, mass_share=0.0, keep=apart)


def _surfaces(coverage: np.ndarray, mass_share: float = SURFACE_MASS, keep: Callable[[np.ndarray], bool] | None = None,
              small: list[np.ndarray] | None = None) -> list[np.ndarray]:
    """The regions of `coverage` that are surfaces, not strokes (a note, a page: see SURFACE_FILL), whole in the
    picture, largest first, holes filled (the writing on them): masks. (`keep`: a further test of each one's mask,
    before its shape is judged. `small`, if given, gets the one that may be a surface too few pixels across to tell
    its shape, SMALL_SURFACE: its size, depth and squareness not judged.)"""
    solid = coverage > 0.0
    if np.count_nonzero(solid) < SURFACE_FILL * (SURFACE_PIXELS if small is not None else 2 * SURFACE_PIXELS) ** 2:
        return []
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
    if small is not None and not found and largest and max(tall[largest[0]], wide[largest[0]]) <= SMALL_SURFACE:
        small.append(labels == largest[0])
    return found


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


def _on_surface(picture: Picture, surface: np.ndarray
                ) -> tuple[tuple[float, float, float, float], tuple[float, float, float, float], float] | None:
    """The writing on a surface (`surface`: its mask in a look at the whole picture), looked at on its own, what lies
    beyond the surface evened out: the surface's box (left, top, right, bottom, in the picture's pixels), the
    writing's box (top, bottom, left, right, with a look's pixel of room), and which side is ink there; None when
    nothing small enough on it is found."""
    x_scale, y_scale = picture.width / surface.shape[1], picture.height / surface.shape[0]
    rows, columns = np.flatnonzero(surface.any(axis=1)), np.flatnonzero(surface.any(axis=0))
    region = (columns[0] * x_scale, rows[0] * y_scale, (columns[-1] + 1) * x_scale, (rows[-1] + 1) * y_scale)
    size = fit((region[2] - region[0], region[3] - region[1]), CLOSER_LOOK)
    # Looked at alone, the surface must be seen SURFACE_SHARPER times as sharp, or there is nothing more to see on it
    # (a bold digit in a low-resolution scan, seen whole in the first look).
    across = max(rows[-1] - rows[0], columns[-1] - columns[0]) + 1
    if min(max(size), max(region[2] - region[0], region[3] - region[1])) < SURFACE_SHARPER * across:
        return None
    # The writing is read in its brightness: a pen's is darker than the note (below), while in the channel that shows
    # the note best it may be lighter (blue ink on a yellow note, in blue) and blurred by a JPEG's coarser colour.
    seen = picture.brightness(region, size)
    paper = _surface_at(surface, region, (x_scale, y_scale), seen.shape)
    signal = _on_it(seen, paper)
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


def _surface_at(surface: np.ndarray, region: tuple[float, float, float, float], scales: tuple[float, float],
                shape: tuple[int, ...]) -> np.ndarray:
    """The surface (`surface`, its mask in a look `scales` picture pixels a pixel) in a signal of `region` (left, top,
    right, bottom in the picture's pixels) `shape` large, as the look saw it."""
    height, width = shape
    x = (region[0] + (np.arange(width) + 0.5) * ((region[2] - region[0]) / width)) / scales[0] - 0.5
    y = (region[1] + (np.arange(height) + 0.5) * ((region[3] - region[1]) / height)) / scales[1] - 0.5
    return ndimage.map_coordinates(surface.astype(np.float32), np.meshgrid(y, x, indexing="ij"), order=1,
                                   mode="constant", cval=0.0) >= 0.5


def _on_it(signal: np.ndarray, coarse: np.ndarray) -> np.ndarray:
    """`signal` with what lies beyond the surface set to the surface's own level. The surface (`coarse`: as the look
    saw it, `_surface_at` the signal's pixels) is found again at the signal's finer scale: the pixels on its side of
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


def _extent(box: tuple[int, int, int, int]) -> int:
    """The longer side of an ink box."""
    return max(box[1] - box[0], box[3] - box[2])
