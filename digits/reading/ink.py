"""Ink: a picture → ink coverage in [0, 1] of the region that holds the ink, read at its own scale; lighting,
polarity and clutter removed.

The whole picture is looked at small first (`_look`: which side is ink, where the ink is and how large; closer when it
is small), then the ink's region is read with the ink about DIGIT_HEIGHT pixels high. How the ink is split from the
paper in each look is `digits.reading.coverage`'s; a sticky note or a page seen from afar, taken for ink in a look, is
looked at on its own (`digits.reading.surfaces`) and the writing on it read instead; clutter is set aside
(`digits.reading.clutter`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

from digits.reading.clutter import CLUTTER_EDGE_SHARE, clutter_regions, edge
from digits.reading.coverage import (BACKGROUND_SHARE, clean_level, coverage_of, ink_of, polarity_of, sides,
                                     whole_window)
from digits.reading.decode import ANALYSIS_SIZE, ImageError, Picture, fit
from digits.reading.measures import ink_box, resize
from digits.reading.surfaces import (SURFACE_OTHER, SURFACE_SHARPER, on_it, on_surface, surface_at, surfaces_beyond,
                                     surfaces_in)


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
        look = _look(picture, FIRST_LOOK)
        box = ink_box(look.coverage)
        if closer and box[1] - box[0] >= SMALL_INK:
            # Ink along the edge kept (setting it aside would leave too little, `clutter_mask`): a digit cropped
            # tight, or a shadow across the picture beside a number small in it. A closer look tells.
            along_edge = int(np.count_nonzero(edge(look.coverage))) >= CLUTTER_EDGE_SHARE * 2 * sum(look.coverage.shape)
            beside_clutter = closer = along_edge and bool(np.any(clutter_regions(look.coverage)))
    except ImageError:
        if not closer:
            raise
    if closer:
        # Little or nothing seen: perhaps a number small in a big picture. A closer look finds it.
        first = look if beside_clutter else None
        try:
            look = _look(picture, CLOSER_LOOK, rare=True)
            # Beside kept clutter, not far smaller seen closer (or nothing seen): the ink along the edge is the digit.
            # (Ink the first look saw cut by the edge and the closer one, sharper, sees whole within the picture: what
            # the first took for a digit cut by the edge was a shadow or light falling off along it, read as ink.)
            first_stands = first is not None and (
                _extent(ink_box(look.coverage)) * first.signal.shape[0]
                >= FAR_SMALLER * _extent(box) * look.signal.shape[0]) and (look.cut or not first.cut)
        except ImageError:
            if first is None:
                raise
            first_stands = True
        if first is not None and first_stands:
            look = first
            closer = False
    # (What the writing on a surface is read with instead, below.)
    level, polarity, cut = look.level, look.polarity, look.cut
    # Where the ink is, in the picture's pixels, with room around it for the background.
    x_scale, y_scale = picture.width / look.signal.shape[1], picture.height / look.signal.shape[0]
    found = box if not closer else ink_box(look.coverage)
    top, bottom, left, right = ((found[0] - 1) * y_scale, (found[1] + 1) * y_scale, (found[2] - 1) * x_scale,
                                (found[3] + 1) * x_scale)
    bounds = (0.0, 0.0, float(picture.width), float(picture.height))
    judge, rare = closer, closer
    written = surface = None
    # (A surface is looked at alone only when seen SURFACE_SHARPER times as sharp: never in a look at about the
    # picture's own pixels, a 28×28 digit's among them.)
    sharp = max(x_scale, y_scale) >= SURFACE_SHARPER
    surfaces, small = surfaces_in(look.coverage, small=True) if sharp else ([], None)
    decoded = picture.decoded()
    if not surfaces and level is None and sharp:
        # A note lighter than the desk beside darker objects (a keyboard, a phone, a mug): the objects won the
        # polarity and are the ink; the note stands out on the other side, away from that ink.
        surfaces = surfaces_beyond(look.signal, polarity, look.coverage, closer) if look.other >= SURFACE_OTHER else []
        if not surfaces and not closer and small is not None:
            # A note or a page a few pixels across in the first look: too few to tell its shape. A closer look tells.
            try:
                seen = _look(picture, CLOSER_LOOK, rare=True)
                surfaces = surfaces_in(seen.coverage)[0] or (
                    surfaces_beyond(seen.signal, seen.polarity, seen.coverage, True) if seen.other >= SURFACE_OTHER
                    else [])
            except ImageError:
                pass
    for surface in surfaces:
        written = on_surface(picture, surface, CLOSER_LOOK)
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
    if size == (look.signal.shape[1], look.signal.shape[0]) and region == (0.0, 0.0, float(picture.width),
                                                                            float(picture.height)):
        return look.coverage  # read at the size it was looked at
    if written is not None and surface is not None:
        detail = picture.brightness(region, size)
        seen_at = (picture.width / surface.shape[1], picture.height / surface.shape[0])
        detail = on_it(detail, surface_at(surface, region, seen_at, detail.shape))
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


@dataclass(frozen=True)
class Look:
    """A look at the whole picture (`_look`)."""

    signal: np.ndarray  # the picture, at most the look's size a side, in the channel the digit stands out in
    level: float | None  # a clean picture's background level (a drawing app's export, MNIST itself), else None
    polarity: float  # which side is ink: -1.0 dark ink on lighter paper, 1.0 light ink on darker
    coverage: np.ndarray  # the ink's coverage
    cut: bool  # whether the picture's edge cuts the ink (a tight crop)
    other: float  # how much stands out of the signal on the other side, to what does on the ink's side


def _look(picture: Picture, limit: int, rare: bool = False) -> Look:
    """A look at the whole picture at most `limit` a side (`rare`: the ink may be a few pixels of it, see
    `coverage_of`)."""
    look = picture.signal(size=fit(picture.size, limit))
    level = clean_level(look)
    window = whole_window(look.shape)
    if level is not None:
        # A clean picture (a drawing app's export, MNIST itself): the background is its edge's one level, exactly.
        polarity = -1.0 if level == float(look.max()) else 1.0
        return Look(look, level, polarity, coverage_of(polarity * (look - level), window, rare), False, 0.0)
    polarity, dark, light = sides(look)
    other = (light if polarity < 0 else dark) / max(dark if polarity < 0 else light, 1e-9)
    # Fill in what is thinner than a good share of the picture.
    coverage = ink_of(look, polarity, window, cut=False, rare=rare)
    if np.any(edge(coverage)):
        # The digit runs off the picture (a tight crop): what the edge cuts is a stroke, with paper beyond.
        try:
            return Look(look, level, polarity, ink_of(look, polarity, window, cut=True, rare=rare), True, other)
        except ImageError:
            if not rare:
                raise
            # Ink rare in the picture is no digit cut by its edge: what reaches the edge is the paper's lines.
    return Look(look, level, polarity, coverage, False, other)


def _extent(box: tuple[int, int, int, int]) -> int:
    """The longer side of an ink box."""
    return max(box[1] - box[0], box[3] - box[2])
