"""Finding the ink: where it is in the picture, and how closely to look at it."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from digits.reading.decode import ImageLimits, decode
from digits.reading.coverage import _beyond_lines, _ruling
from digits.reading.ink import isolate_ink
from digits.reading.segmentation import segment
from digits.reading.surfaces import SURFACE_SQUARE, _squareness, surfaces_in
from samples import pictures as styles


def digit_of(test_digits: tuple[np.ndarray, np.ndarray], label: int, nth: int = 0) -> np.ndarray:
    images, labels = test_digits
    return images[np.flatnonzero(labels == label)[nth]]


def small_number_beside_a_shadow(digits: list[np.ndarray], shape: tuple[int, int], shadow: tuple[float, float],
                                 rng: np.random.Generator) -> bytes:
    """A number about 50 pixels high in a photo `shape` (height, width) large, whose columns from `shadow[0]` to
    `shadow[1]` of its width lie in a shadow (a quarter darker, with soft edges): a band reaching across the picture."""
    ink = styles.number_ink(digits, rng, height=50, gaps=(0.2, 0.3), sizes=(0.95, 1.05))
    canvas = np.zeros(shape, np.float32)
    top, left = round(shape[0] * 0.3), round(shape[1] * 0.55)
    canvas[top:top + ink.shape[0], left:left + ink.shape[1]] = ink[:, : shape[1] - left]
    photo = styles.on_paper(canvas, rng, gradient=0.1, noise=3.0).astype(np.float32)
    x = np.arange(shape[1], dtype=np.float32) / shape[1]
    inside = 1 / (1 + np.exp((x - shadow[1]) / 0.02)) / (1 + np.exp((shadow[0] - x) / 0.02))
    photo *= (1 - 0.25 * inside)[np.newaxis, :, np.newaxis]
    return styles.encode(Image.fromarray(photo.clip(0, 255).astype(np.uint8)), "JPEG", quality=85)


def test_a_number_small_in_a_big_photo_is_found_beside_a_shadow_across_it(test_digits) -> None:
    rng = np.random.default_rng(11)
    digits = [digit_of(test_digits, d) for d in (2, 4, 7, 1)]
    for shape, shadow in (((1700, 600), (0.2, 0.5)), ((1500, 1000), (0.3, 0.5)), ((700, 1800), (0.2, 0.45))):
        data = small_number_beside_a_shadow(digits, shape, shadow, rng)
        # The shadow is narrower than the background's window, and darker than the paper beside it: the first look
        # takes it for ink, reaching from edge to edge, and keeps it (setting it aside would leave too little).
        coverage = isolate_ink(decode(data, ImageLimits()))
        rows, columns = np.flatnonzero(coverage.any(axis=1)), np.flatnonzero(coverage.any(axis=0))
        # Read at the number's own scale: a row of digits, wider than tall, not the tall shadow.
        assert columns[-1] - columns[0] > 2 * (rows[-1] - rows[0]), (shape, shadow)
        assert len(segment(data).pieces) >= 4, (shape, shadow)


def number_on_a_note(digits: list[np.ndarray], note: tuple[int, int, int], desk: tuple[int, int, int], turn: float,
                     rng: np.random.Generator, height: int = 22, gaps: tuple[float, float] = (0.2, 0.3),
                     side: int = 200, phone: bool = False) -> bytes:
    """A photo (1200 × 900) of a desk with a sticky note of colour `note` on it, `side` pixels a side, turned by `turn`
    degrees, and a number about `height` pixels high written on the note in dark blue: seen from afar. (`phone`: a
    black phone lies on the desk beside the note.)"""
    ink = styles.number_ink(digits, rng, height=height, gaps=gaps, sizes=(0.95, 1.05))
    note_ink = np.zeros((side, side), np.float32)
    top, left = (side - ink.shape[0]) // 2, (side - ink.shape[1]) // 2
    note_ink[top:top + ink.shape[0], left:left + ink.shape[1]] = ink
    layer = np.empty((side, side, 4), np.uint8)
    layer[..., :3] = (np.asarray(note, np.float32) * (1 - note_ink[..., None])
                      + np.asarray((30, 45, 130), np.float32) * note_ink[..., None]).round().astype(np.uint8)
    layer[..., 3] = 255
    paper = Image.fromarray(layer, "RGBA").rotate(turn, Image.Resampling.BILINEAR, expand=True)
    photo = Image.new("RGB", (1200, 900), desk)
    photo.paste(paper, (520 - side // 2, 380 - side // 2), paper)
    if phone:
        ImageDraw.Draw(photo).rounded_rectangle((820, 500, 1120, 650), radius=20, fill=(22, 22, 26))
    pixels = np.asarray(photo, np.float32) + rng.normal(0, 3, (900, 1200, 3)).astype(np.float32)
    return styles.encode(Image.fromarray(pixels.clip(0, 255).astype(np.uint8)), "JPEG", quality=85)


def test_a_number_on_a_sticky_note_seen_from_afar_is_read_not_the_note(test_digits) -> None:
    rng = np.random.default_rng(5)
    digits = [digit_of(test_digits, d) for d in (3, 5, 0, 8)]
    for note, desk, turn in (((250, 160, 195), (150, 105, 70), 4.0),  # pink on wood: lighter than the desk
                             ((250, 232, 110), (235, 235, 230), -6.0),  # yellow on a white wall: darker (in blue)
                             ((140, 205, 240), (60, 60, 65), 0.0)):  # blue on a dark desk
        data = number_on_a_note(digits, note, desk, turn, rng)
        # At the first look the note is a solid square standing out of the desk, the number too small to see: it
        # was taken for the ink, one digit. The writing on it is read instead.
        coverage = isolate_ink(decode(data, ImageLimits()))
        rows, columns = np.flatnonzero(coverage.any(axis=1)), np.flatnonzero(coverage.any(axis=0))
        assert columns[-1] - columns[0] > 2.5 * (rows[-1] - rows[0]), (note, desk)
        # Read in its brightness, the blue writing on the yellow note is dark, not lighter than the note (as in the
        # blue channel, which shows the note on the wall best): four strokes, not their halos in pieces.
        assert len(segment(data).pieces) == 4, (note, desk)


def test_a_note_lighter_than_the_desk_beside_a_black_phone_is_found_and_its_number_read(test_digits) -> None:
    # The phone stands out of the desk more than the note does: the first look took it for the ink (dark on the
    # desk) and the note for desk; the phone was read, or the note's outline with it (main: 5 or 6 pieces, the ink
    # twice as wide as high). The note stands out on the other side, away from the phone: its writing is read.
    digits = [digit_of(test_digits, d) for d in (3, 5, 0, 8)]
    for note, desk, turn in (((250, 160, 195), (150, 105, 70), 4.0),  # pink on wood
                             ((250, 232, 110), (150, 105, 70), -7.0)):  # yellow on wood
        data = number_on_a_note(digits, note, desk, turn, np.random.default_rng(5), phone=True)
        coverage = isolate_ink(decode(data, ImageLimits()))
        rows, columns = np.flatnonzero(coverage.any(axis=1)), np.flatnonzero(coverage.any(axis=0))
        assert columns[-1] - columns[0] > 3 * (rows[-1] - rows[0]), (note, desk)
        assert len(segment(data).pieces) == 4, (note, desk)


def test_a_number_written_small_on_a_turned_note_is_read_level_its_digits_a_digit_high(test_digits) -> None:
    # Five digits 10-14 pixels high, close together, on a note turned by 8-12 degrees: blurred together, they are one
    # stroke group, which was measured as a digit as tall as the whole number rising across the note (the number 2.4
    # to 3.1 digit heights wide, its digits read as too few). Turned level, each digit is a digit high.
    digits = [digit_of(test_digits, d) for d in (5, 2, 8, 0, 6)]
    for turn, height in ((12.0, 10), (-12.0, 14), (8.0, 14)):
        rng = np.random.default_rng(3)
        data = number_on_a_note(digits, (250, 232, 110), (60, 60, 65), turn, rng, height=height, gaps=(0.0, 0.1))
        segmentation = segment(data)
        columns = np.flatnonzero(isolate_ink(decode(data, ImageLimits())).any(axis=0))
        assert (columns[-1] - columns[0]) / segmentation.digit_height > 3.5, (turn, height)


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


def test_a_bold_digit_seen_whole_is_read_not_the_paper_inside_its_loops(test_digits) -> None:
    # A bold 2 in a photo is a blob in the first look, as square as a note; looked at alone, the paper inside its
    # loop stands out of it, lighter: no pen writes so, and the digit is read (it was 18 pixels high of 64 before).
    for seed in (0, 2):
        rng = np.random.default_rng(seed)
        ink = styles.place(styles.upscale(digit_of(test_digits, 2, 18), 200), (400, 360), rng)
        data = styles.camera(styles.snapshot(ink, rng), rng)
        coverage = isolate_ink(decode(data, ImageLimits()))
        rows = np.flatnonzero(coverage.any(axis=1))
        assert rows[-1] - rows[0] > 48, seed


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


def number_on_ruled_paper(digits: list[np.ndarray], spacing: float, grey: float, width: float, tilt: float,
                          rng: np.random.Generator) -> bytes:
    """A number about 60 pixels high in a 520 × 360 photo of ruled paper whose lines are dark grey (`grey`, about as
    dark as the ink), `width` pixels thick, `spacing` apart, tilted by `tilt`, one of them about the number's
    baseline."""
    ink = styles.number_ink(digits, rng, height=60, gaps=(0.15, 0.3), sizes=(0.95, 1.05))
    canvas = np.zeros((360, 520), np.float32)
    top, left = 140, 100
    canvas[top:top + ink.shape[0], left:left + ink.shape[1]] = ink
    y, x = np.indices(canvas.shape, dtype=np.float32)
    offset = (y + tilt * (x - left) - (top + ink.shape[0] - 4)) % spacing
    lines = np.clip(width / 2 + 0.5 - np.minimum(offset, spacing - offset), 0.0, 1.0)[..., np.newaxis]
    paper = np.array([232, 230, 225], np.float32) * (1 - lines) + np.array([grey] * 3, np.float32) * lines
    photo = styles.snapshot(canvas, rng, paper=paper, ink_colour=(30, 35, 60))
    return styles.encode(Image.fromarray(photo.clip(0, 255).astype(np.uint8)), "JPEG", quality=85)


def test_the_dark_lines_of_ruled_paper_are_set_aside_and_the_number_read_at_its_own_scale(test_digits) -> None:
    # Lines about as dark as the ink run through the whole picture: they were ink, the ink's box was the whole
    # picture (the number read a few pixels high) or its region, crossed from edge to edge by the lines (0 of 3 before).
    rng = np.random.default_rng(5)
    for index, (number, spacing, grey, width, tilt) in enumerate(
            (("4172", 70, 90, 3.0, 0.03), ("385", 45, 110, 2.0, -0.05), ("2069", 80, 80, 4.0, 0.0))):
        data = number_on_ruled_paper([digit_of(test_digits, int(c), index) for c in number], spacing, grey, width,
                                     tilt, rng)
        coverage = isolate_ink(decode(data, ImageLimits()))
        rows, columns = np.flatnonzero(coverage.any(axis=1)), np.flatnonzero(coverage.any(axis=0))
        # The number alone, with room around it: a row of digits, not lines across the region.
        assert columns[-1] - columns[0] < 0.8 * coverage.shape[1], number
        assert columns[-1] - columns[0] > 2.5 * (rows[-1] - rows[0]), number


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
            ink = styles.upscale(digit_of(test_digits, label, nth), 112) > 0.3
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
