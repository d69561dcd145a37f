"""Surfaces: what a look takes for ink that is a sticky note or a page seen from afar, not a stroke."""

from __future__ import annotations

import numpy as np

from digits.reading.surfaces import SURFACE_SQUARE, _squareness, surfaces_in


def test_a_surface_is_solid_ink_a_numbers_faint_fringe_is_not() -> None:
    """A note taken for ink is ink through and through (the writing on it left out); a number seen closely, the faint
    ink kept beside its strokes around it (a photo's shade, noise), makes a rectangle as square, but a faint one."""
    note, fringe = np.zeros((256, 132), np.float32), np.zeros((256, 132), np.float32)
    note[200:240, 30:90] = 0.9
    fringe[200:240, 30:90] = 0.12
    for left in range(36, 86, 10):
        note[208:232, left:left + 2] = 0.0  # the writing on the note: paper to this look
        fringe[208:232, left:left + 2] = 1.0  # the number's strokes
    assert len(surfaces_in(note)[0]) == 1
    assert surfaces_in(fringe)[0] == []


def test_a_surface_is_a_quadrilateral_a_bold_oval_is_not() -> None:
    """A note at a turn and in perspective passes as a surface; a bold 0 seen as a blob (an oval) does not."""
    y, x = np.mgrid[:60, :60].astype(np.float64)
    oval = ((x - 30) / 14) ** 2 + ((y - 30) / 20) ** 2 <= 1
    corners = np.array([[8, 12], [50, 6], [54, 48], [12, 52]], dtype=np.float64)  # a trapezoid, turned
    inside = np.ones_like(oval)
    for (x0, y0), (x1, y1) in zip(corners, np.roll(corners, -1, axis=0)):
        inside &= (x1 - x0) * (y - y0) - (y1 - y0) * (x - x0) >= 0
    assert _squareness(inside) >= SURFACE_SQUARE
    assert _squareness(oval) < 0.75
