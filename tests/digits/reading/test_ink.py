"""Finding the ink: where it is in the picture, and how closely to look at it."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from digits.reading.decode import ImageLimits, decode
from digits.reading.ink import isolate_ink
from digits.reading.segmentation import segment
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
