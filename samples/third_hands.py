"""A third generator of handwritten numbers, written apart from the others, used only to *measure* the reader.

Numbers of 2 to 6 digits are made of MNIST *training* digits (other writers than the test digits the network is
scored on). Each digit's shape is re-drawn, not pasted: the digit is warped by its writer (one slant for the whole
number, a small turn and an elastic wobble per digit), thinned to its centre line, and traced again with the
writer's pen (a round nib whose width swells and shrinks with pressure). Along a number the size and the baseline
drift, the baseline may climb or sink, and each writer keeps their own spacing: some crowd the digits until they
touch, some leave wide gaps. About a third of the numbers hold a lone 1 or 7 beside a round digit (0, 6, 8, 9);
none starts with a 0.

The styles (`STYLES`, each a `NumberStyle`: 28×28 MNIST digits, white on black, and a generator in; a file out):

    ruled_photo     a phone photo of a ballpoint, gel-pen or pencil number on ruled or squared paper (the number
                    sitting on a rule), lit unevenly with a soft shadow, sensor noise, a little blur; JPEG
    marker_canvas   a drawing-app export: a felt-tip or app brush on a white, tinted or transparent canvas (a
                    transparent one holds the ink in alpha only); PNG
    dark_ground     light ink on a dark ground: chalk on a green or grey board (grainy strokes, smears of old
                    chalk; a JPEG photo) or a light pen on a dark-mode screen (PNG)
    sticky_far      a number small in a big picture: written on a yellow or pink sticky note lying on a desk,
                    photographed from afar (JPEG), or pencilled small on a big scanned page (PNG or JPEG)

Every picture is meant to be a number a person reads right: a round digit whose loop its writer squashed shut is
not used, a pen too broad for a small loop is narrowed, a loop its writer filled in stays filled, and a crowding
writer's digits meet but never swallow each other. Nothing here was chosen by looking at how the bot reads.
`number_pictures` draws pictures deterministically from a seed, each from its own place (style, length, index).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter
from scipy import ndimage

from digits.mnist import ensure_mnist, load_mnist
from digits.settings import Paths

NumberStyle = Callable[[list[np.ndarray], np.random.Generator], bytes]
ROUND = (0, 6, 8, 9)
LONE = (1, 7)
LONE_SHARE = 0.35  # the share of numbers holding a lone 1 or 7 beside a round digit


# -- writers and pens -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Hand:
    """How one writer writes a number: all lengths in pixels of the final picture."""

    height: float  # the first digit's ink height
    slant: float  # shear, x shift per unit of height upwards (positive leans right)
    drift: float  # relative change of height from the first digit to the last
    climb: float  # baseline slope (positive: the number climbs to the right)
    gap: float  # space between digits' ink where they come closest, a share of height (about 0: they touch)
    jitter: float  # per-digit randomness of size, baseline and gap (share of height)
    wobble: float  # elastic wobble, in source (28 px) pixels
    turn: float  # per-digit rotation jitter (radians)


def random_hand(rng: np.random.Generator, height: float) -> Hand:
    spacing = rng.choice(3, p=[0.25, 0.5, 0.25])  # crowding, ordinary, airy
    gap = (rng.uniform(-0.01, 0.02), rng.uniform(0.06, 0.25), rng.uniform(0.3, 0.6))[spacing]
    return Hand(height=height, slant=float(rng.uniform(-0.15, 0.4)), drift=float(rng.uniform(-0.18, 0.18)),
                climb=float(rng.normal(0, 0.04)), gap=float(gap), jitter=float(rng.uniform(0.02, 0.07)),
                wobble=float(rng.uniform(0.3, 1.0)), turn=float(rng.uniform(0.0, 0.08)))


@dataclass(frozen=True)
class Pen:
    """A round nib: its radius in pixels and how much pressure changes it (a share of the radius)."""

    radius: float
    pressure: float


# -- drawing a digit --------------------------------------------------------------------------------------------

def thin(mask: np.ndarray) -> np.ndarray:
    """The centre line of a binary shape, one pixel wide (Zhang and Suen's thinning, vectorized)."""
    image = np.pad(mask.astype(np.uint8), 1)
    while True:
        changed = False
        for step in (0, 1):
            p = image
            n = [p[:-2, 1:-1], p[:-2, 2:], p[1:-1, 2:], p[2:, 2:], p[2:, 1:-1], p[2:, :-2], p[1:-1, :-2], p[:-2, :-2]]
            b = sum(x.astype(np.int32) for x in n)
            a = sum(((n[i] == 0) & (n[(i + 1) % 8] == 1)).astype(np.int32) for i in range(8))
            p2, p4, p6, p8 = n[0], n[2], n[4], n[6]
            if step == 0:
                side = (p2 * p4 * p6 == 0) & (p4 * p6 * p8 == 0)
            else:
                side = (p2 * p4 * p8 == 0) & (p2 * p6 * p8 == 0)
            remove = (p[1:-1, 1:-1] == 1) & (b >= 2) & (b <= 6) & (a == 1) & side
            if remove.any():
                image[1:-1, 1:-1][remove] = 0
                changed = True
        if not changed:
            return image[1:-1, 1:-1].astype(bool)


def ends(line: np.ndarray, alone: bool = False) -> np.ndarray:
    """The pixels of a one-pixel line with exactly one neighbour (or none too, with `alone`)."""
    neighbours = ndimage.convolve(line.astype(np.int32), np.array([[1, 1, 1], [1, 0, 1], [1, 1, 1]]), mode="constant")
    return line & ((neighbours <= 1) if alone else (neighbours == 1))


def prune(line: np.ndarray, length: int) -> np.ndarray:
    """The line without the short spurs thinning leaves at a thick stroke's corners: branches of up to `length`
    pixels ending free are cut, the free ends of the strokes themselves grown back."""
    pruned = line.copy()
    for _ in range(length):
        pruned &= ~ends(pruned)
    grown = ends(pruned, alone=True)  # a short stroke of its own (a 7's bar) worn down to a dot grows back whole
    for _ in range(length):
        grown = ndimage.binary_dilation(grown, np.ones((3, 3), bool)) & line
    return pruned | grown if pruned.any() else line


def smooth_noise(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    """Noise of about unit spread, smooth over `sigma` pixels."""
    step = max(1, int(sigma / 3))  # drawn coarse and enlarged: the same look, far cheaper on big pictures
    coarse = (shape[0] // step + 2, shape[1] // step + 2)
    field = ndimage.gaussian_filter(rng.standard_normal(coarse, dtype=np.float32), sigma / step, mode="wrap")
    if step > 1:
        field = ndimage.zoom(field, step, order=1)
    field = field[:shape[0], :shape[1]]
    return field / max(float(field.std()), 1e-6)


def holes(mask: np.ndarray, least: float = 1.0) -> int:
    """How many enclosed holes of at least `least` pixels a binary shape has (background regions off the border)."""
    regions, count = ndimage.label(~mask)
    border = set(np.concatenate([regions[0], regions[-1], regions[:, 0], regions[:, -1]]).tolist())
    areas = np.bincount(regions.ravel(), minlength=count + 1)
    return sum(1 for region in range(1, count + 1) if region not in border and areas[region] >= least)


def draw_digit(digit: np.ndarray, height: float, hand: Hand, pen: Pen, rng: np.random.Generator) -> np.ndarray:
    """The digit re-drawn by `hand` with `pen`: ink coverage in [0, 1], cropped to its ink with a pen's margin."""
    source = digit.astype(np.float32) / 255.0
    rows, cols = np.nonzero(source > 0.25)
    top, bottom, left, right = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    scale = height / max(bottom - top, 4)
    angle = float(rng.normal(0, hand.turn))
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    shear = np.array([[1.0, 0.0], [-hand.slant, 1.0]])  # (y, x): x moves right as y goes up
    forward = shear @ rotation * scale
    inverse = np.linalg.inv(forward)
    centre = np.array([(top + bottom) / 2, (left + right) / 2])
    corners = np.array([[top, left], [top, right], [bottom, left], [bottom, right]]) - centre
    placed = corners @ forward.T
    margin = int(np.ceil(pen.radius * (1 + pen.pressure) + 3))
    low = np.floor(placed.min(0)) - margin
    size = (np.ceil(placed.max(0)) + margin - low).astype(int) + 1
    grid = np.indices(tuple(size)).reshape(2, -1).T.astype(np.float64) + low
    src = grid @ inverse.T + centre
    # the writer's elastic wobble: a smooth displacement of the source, a pixel or so
    wobble = [ndimage.map_coordinates(smooth_noise(rng, (28, 28), 4.0) * hand.wobble, src.T, order=1, mode="nearest")
              for _ in range(2)]
    src = src + np.stack(wobble, 1)
    warped = ndimage.map_coordinates(source, src.T, order=1, mode="constant").reshape(tuple(size))
    # the level that shows the writer's loops best: a small loop a thick source stroke nearly closed still counts
    least = 0.002 * height ** 2
    levels = [(holes(warped > level, least), -level) for level in (0.42, 0.55, 0.7, 0.85)]
    loops, level = max(levels)
    shape = warped > -level
    line = thin(shape) if shape.any() else shape
    depth = ndimage.distance_transform_edt(shape)
    stroke = float(np.median(depth[line])) if line.any() else 1.0
    line = prune(line, int(1.2 * stroke) + 1)
    pieces, count = ndimage.label(line, np.ones((3, 3), bool))
    if count > 1:  # a speck apart from the strokes would be a dot, not part of the digit
        lengths = np.bincount(pieces.ravel(), minlength=count + 1)
        lengths[0] = 0
        line = (lengths >= min(0.12 * height, lengths.max()))[pieces]
    distance = ndimage.distance_transform_edt(~line)
    radius = pen.radius * (1 + pen.pressure * smooth_noise(rng, tuple(size), max(height / 5, 2.0)).clip(-1.5, 1.5))
    for thinner in (1.0, 0.6, 0.35):  # a pen too broad for a small loop would close it: a finer stroke keeps it
        ink = np.clip(radius * thinner + 0.5 - distance, 0, 1)
        if holes(ink > 0.5, least) >= loops:
            break
    else:  # no stroke keeps the loop: the writer's own shape, as written
        ink = ndimage.gaussian_filter(shape.astype(np.float32), 0.7)
    # A loop its writer filled in (a blob far thicker than the stroke) stays filled: its centre line alone would
    # turn a 6 into an L.
    blobs = depth > 2.5 * stroke
    if blobs.any():
        filled = shape & (ndimage.distance_transform_edt(~blobs) <= 1.6 * stroke)
        regions, count = ndimage.label(filled)
        areas = np.bincount(regions.ravel(), minlength=count + 1)
        filled = (areas >= 0.01 * height ** 2)[regions] & filled  # a filled loop, not a dot of pooled ink
        ink = np.maximum(ink, ndimage.gaussian_filter(filled.astype(np.float32), 0.7))
    return ink.astype(np.float32)


def write_number(digits: list[np.ndarray], hand: Hand, pen: Pen, rng: np.random.Generator) -> np.ndarray:
    """The digits written side by side on a baseline by one hand: ink coverage in [0, 1], a little margin around.
    Each digit is set `gap` from its neighbour's ink where they come closest (as a hand spaces them, not boxes)."""
    glyphs: list[np.ndarray] = []
    tops: list[tuple[int, int]] = []
    n = len(digits)
    for i, digit in enumerate(digits):
        along = i / max(n - 1, 1)
        height = hand.height * (1 + hand.drift * along) * (1 + rng.normal(0, hand.jitter))
        glyph = draw_digit(digit, height, hand, pen, rng)
        rows, cols = np.nonzero(glyph > 0.3)
        glyphs.append(glyph[rows.min():rows.max() + 1, cols.min():cols.max() + 1])
    pad = int(2 + hand.height * 0.1)
    span = int(sum(g.shape[1] for g in glyphs) + hand.height * (max(hand.gap, 0) + 0.3) * n) + 2 * pad + 1
    baseline = 2 * hand.height + abs(hand.climb) * span + pad
    size = (int(2 * baseline + 1), span)
    canvas = np.zeros(size, np.float32)
    right = np.full(size[0], -np.inf)  # the rightmost ink in each row so far
    for i, glyph in enumerate(glyphs):
        gap = hand.gap + rng.normal(0, hand.jitter)
        gap = min(max(gap, -0.01), 0.03) if hand.gap < 0.03 else max(gap, 0.05)  # crowded: meeting, barely crossing
        h, w = glyph.shape
        top = int(round(baseline - hand.climb * (tops[-1][1] if tops else 0) + rng.normal(0, hand.jitter) * hand.height
                        - h))
        if i == 0:
            left = pad
        else:
            inked = glyph > 0.3
            first = np.where(inked.any(1), inked.argmax(1), np.inf)  # the leftmost ink of each of its rows
            reach = right[top:top + h] - first + 1  # where its left must be to clear each row
            reach = np.maximum(reach.max(), max(right[np.isfinite(right)].max() - w * 0.3, 0))  # no tucking under
            left = int(round(reach + gap * hand.height))
        left = max(0, min(left, size[1] - w))
        region = canvas[top:top + h, left:left + w]
        np.maximum(region, glyph, out=region)
        inked = glyph > 0.3
        last = np.where(inked.any(1), w - 1 - inked[:, ::-1].argmax(1), -np.inf) + left
        right[top:top + h] = np.maximum(right[top:top + h], last)
        tops.append((top, left))
    rows, cols = np.nonzero(canvas > 0.05)
    return np.pad(canvas[rows.min():rows.max() + 1, cols.min():cols.max() + 1], pad)


# -- surfaces ---------------------------------------------------------------------------------------------------

def jpeg(rgb: np.ndarray, rng: np.random.Generator, low: int = 55, high: int = 92) -> bytes:
    return save(Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB"), "JPEG",
                quality=int(rng.integers(low, high)))


def save(image: Image.Image, format: str, **options: object) -> bytes:
    if format == "PNG":
        options.setdefault("compress_level", 1)
    buffer = io.BytesIO()
    image.save(buffer, format=format, **options)
    return buffer.getvalue()


def place(ink: np.ndarray, size: tuple[int, int], rng: np.random.Generator,
          where: tuple[float, float] | None = None) -> np.ndarray:
    """The number's ink on an empty (height, width) canvas, at a random place (or centred on `where`, shares)."""
    canvas = np.zeros(size, np.float32)
    h, w = min(ink.shape[0], size[0]), min(ink.shape[1], size[1])
    if where is None:
        r = int(rng.integers(0, size[0] - h + 1))
        c = int(rng.integers(0, size[1] - w + 1))
    else:
        r = int(np.clip(where[0] * size[0] - h / 2, 0, size[0] - h))
        c = int(np.clip(where[1] * size[1] - w / 2, 0, size[1] - w))
    canvas[r:r + h, c:c + w] = ink[:h, :w]
    return canvas


def lighting(shape: tuple[int, int], rng: np.random.Generator, strength: float) -> np.ndarray:
    """Uneven light over a photo: a slope from one side, a soft vignette and maybe a soft shadow, about 1."""
    rows, cols = np.indices(shape, np.float32)
    y, x = rows / np.float32(shape[0]) - np.float32(0.5), cols / np.float32(shape[1]) - np.float32(0.5)
    angle = rng.uniform(0, 2 * np.pi)
    light = 1 + strength * (np.cos(angle) * x + np.sin(angle) * y) - 0.25 * strength * (x ** 2 + y ** 2)
    if rng.random() < 0.4:  # the phone's or a hand's shadow across a corner
        edge = np.cos(angle + 1.3) * x + np.sin(angle + 1.3) * y - rng.uniform(0.1, 0.35)
        light = light * (1 - rng.uniform(0.15, 0.3) / (1 + np.exp(-edge * 25)))
    return light[..., None]


def photo_finish(rgb: np.ndarray, rng: np.random.Generator, noise: float) -> np.ndarray:
    """A phone camera's touch: a little blur and sensor noise."""
    blur = float(rng.uniform(0.3, 1.0))
    image = Image.fromarray(np.clip(rgb + 0.5, 0, 255).astype(np.uint8), "RGB").filter(ImageFilter.GaussianBlur(blur))
    grain = rng.standard_normal(rgb.shape[:2], dtype=np.float32)[..., None] * np.float32(noise)  # luminance noise
    return np.asarray(image, np.float32) + grain


def paint(ground: np.ndarray, ink: np.ndarray, colour: Sequence[float] | np.ndarray) -> np.ndarray:
    """Ink of `colour` laid over an RGB ground with coverage `ink`."""
    a = ink[..., None]
    return ground * (1 - a) + np.asarray(colour, np.float32) * a


def pencil_grain(ink: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    grain = ndimage.gaussian_filter(rng.random(ink.shape).astype(np.float32), 0.6)
    return ink * np.clip(0.45 + 1.2 * (grain - 0.5) + 0.35, 0.35, 1.0)


def long_side_shape(long_side: int, aspect: float) -> tuple[int, int]:
    """(height, width) of a picture with that long side; aspect is width / height."""
    if aspect >= 1:
        return int(long_side / aspect), long_side
    return long_side, int(long_side * aspect)


# -- the styles -------------------------------------------------------------------------------------------------

def ruled_photo(digits: list[np.ndarray], rng: np.random.Generator) -> bytes:
    """A ballpoint, gel-pen or pencil number on ruled or squared paper, photographed by a phone."""
    long_side = int(rng.integers(420, 1200))
    shape = long_side_shape(long_side, float(rng.choice([4 / 3, 3 / 4, 16 / 9, 1.0])))
    height = rng.uniform(0.07, 0.16) * long_side
    height = min(height, 0.85 * shape[1] / (len(digits) * 0.9 + 0.6))  # the number fits across the page
    kind = rng.choice(["ballpoint", "gel", "pencil"], p=[0.5, 0.25, 0.25])
    radius = {"ballpoint": rng.uniform(0.7, 1.2), "gel": rng.uniform(1.1, 1.8), "pencil": rng.uniform(0.8, 1.4)}[kind]
    radius *= max(1.0, height / 70)
    ink = write_number(digits, random_hand(rng, height), Pen(float(radius), float(rng.uniform(0.1, 0.35))), rng)
    if kind == "pencil":
        ink = pencil_grain(ink, rng)
        colour: tuple[float, float, float] = (80, 80, 88)
    elif rng.random() < 0.55:
        colour = (25, 45, 140) if kind == "ballpoint" else (20, 20, 30)
    else:
        colour = (30, 30, 35)
    h, w = shape
    paper = np.asarray(rng.uniform([228, 222, 205], [250, 248, 240]), np.float32)
    ground = np.broadcast_to(paper, (h, w, 3)).copy()
    pitch = rng.uniform(0.9, 1.5) * height * (1.1 if rng.random() < 0.6 else 0.6)
    offset = rng.uniform(0, pitch)
    line_colour = np.asarray(rng.choice([[150, 180, 220], [170, 170, 175], [160, 200, 190]]), np.float32)
    y = np.arange(h)[:, None].astype(np.float32)
    # rules at offset + k·pitch, a pixel or so wide
    rules = np.clip(1.2 - np.minimum((y - offset) % pitch, pitch - (y - offset) % pitch), 0, 1) * np.ones((1, w))
    squared = rng.random() < 0.35
    if squared:
        x = np.arange(w)[None, :].astype(np.float32)
        cols = np.clip(1.2 - np.minimum((x - offset) % pitch, pitch - (x - offset) % pitch), 0, 1)
        rules = np.maximum(rules, cols * np.ones((h, 1)))
    ground = paint(ground, rules * 0.7, tuple(line_colour))
    if not squared and rng.random() < 0.5:  # a red margin
        margin = int(rng.uniform(0.06, 0.15) * w)
        ground[:, margin:margin + 2] = ground[:, margin:margin + 2] * 0.4 + np.array([220, 110, 110]) * 0.6
    # the number sits on a rule: its bottom pad just above the rule nearest a random place
    r0 = rng.uniform(0.25, 0.8) * h
    rule = offset + pitch * np.round((r0 - offset) / pitch)
    if rule + 2 > h or rule - ink.shape[0] < 0:
        rule = (h + ink.shape[0]) / 2
    left = rng.uniform(0.03, 0.97) * max(w - ink.shape[1], 0)
    number = np.zeros((h, w), np.float32)
    r = int(np.clip(rule - ink.shape[0] + 0.1 * height, 0, h - min(ink.shape[0], h)))
    hh, ww = min(ink.shape[0], h - r), min(ink.shape[1], w - int(left))
    number[r:r + hh, int(left):int(left) + ww] = ink[:hh, :ww]
    rgb = paint(ground, number * rng.uniform(0.8, 0.97), colour) * lighting(shape, rng, rng.uniform(0.15, 0.5))
    return jpeg(photo_finish(rgb, rng, rng.uniform(2, 7)), rng)


def marker_canvas(digits: list[np.ndarray], rng: np.random.Generator) -> bytes:
    """A felt-tip or app brush number exported from a drawing app: PNG, sometimes a transparent canvas."""
    long_side = int(rng.integers(280, 1100))
    shape = long_side_shape(long_side, float(rng.choice([1.0, 4 / 3, 16 / 9, 3 / 4])))
    height = rng.uniform(0.25, 0.55) * min(shape)
    height = min(height, 0.9 * shape[1] / (len(digits) * 0.95 + 0.8))
    radius = rng.uniform(0.035, 0.08) * height + 1.0
    ink = write_number(digits, random_hand(rng, height), Pen(float(radius), float(rng.uniform(0.0, 0.15))), rng)
    number = place(ink, shape, rng, (rng.uniform(0.35, 0.65), rng.uniform(0.4, 0.6)))
    kind = rng.choice(["white", "tinted", "transparent"], p=[0.5, 0.25, 0.25])
    colour = tuple(float(c) for c in rng.choice([[0, 0, 0], [20, 20, 20], [200, 30, 40], [30, 60, 200], [20, 110, 50]]))
    if kind == "transparent":
        alpha = np.clip(number * 255, 0, 255).astype(np.uint8)
        rgba = np.zeros(shape + (4,), np.uint8)
        rgba[..., :3] = np.asarray(colour, np.uint8)
        rgba[..., 3] = alpha
        return save(Image.fromarray(rgba, "RGBA"), "PNG")
    ground_colour = (255.0, 255.0, 255.0) if kind == "white" else tuple(rng.uniform(215, 250, 3))
    ground = np.broadcast_to(np.asarray(ground_colour, np.float32), shape + (3,))
    rgb = paint(ground, number, colour)
    return save(Image.fromarray(np.clip(rgb + 0.5, 0, 255).astype(np.uint8), "RGB"), "PNG")


def dark_ground(digits: list[np.ndarray], rng: np.random.Generator) -> bytes:
    """Chalk on a board (a JPEG photo) or a light pen on a dark-mode screen (PNG)."""
    chalk = rng.random() < 0.55
    long_side = int(rng.integers(360, 1300))
    shape = long_side_shape(long_side, float(rng.choice([4 / 3, 16 / 9, 1.0])))
    height = rng.uniform(0.15, 0.4) * min(shape)
    height = min(height, 0.88 * shape[1] / (len(digits) * 0.95 + 0.8))
    h, w = shape
    if chalk:
        radius = rng.uniform(0.04, 0.07) * height + 1.0
        ink = write_number(digits, random_hand(rng, height), Pen(float(radius), float(rng.uniform(0.1, 0.3))), rng)
        number = place(ink, shape, rng, (rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.7)))
        grain = ndimage.gaussian_filter(rng.random(shape).astype(np.float32), 0.8)
        number = number * np.clip(0.5 + 2.0 * (grain - 0.5) + 0.3, 0.3, 1.0)
        board = np.asarray(rng.choice([[35, 60, 48], [45, 48, 50], [25, 28, 30]]), np.float32)
        ground = np.broadcast_to(board, shape + (3,)).copy()
        smear = np.clip(smooth_noise(rng, (h // 4 + 1, w // 4 + 1), 6), 0, None)
        smear = ndimage.zoom(smear, (h / smear.shape[0], w / smear.shape[1]), order=1)[:h, :w]
        ground = paint(ground, np.clip(smear * 0.04, 0, 0.1), (200, 205, 200))
        colour = tuple(float(c) for c in rng.choice([[235, 235, 225], [240, 235, 170], [235, 240, 240]]))
        rgb = paint(ground, number * 0.92, colour) * lighting(shape, rng, rng.uniform(0.1, 0.35))
        return jpeg(photo_finish(rgb, rng, rng.uniform(2, 6)), rng, 60, 92)
    radius = rng.uniform(0.02, 0.06) * height + 0.8
    ink = write_number(digits, random_hand(rng, height), Pen(float(radius), float(rng.uniform(0.0, 0.1))), rng)
    number = place(ink, shape, rng, (rng.uniform(0.35, 0.65), rng.uniform(0.35, 0.65)))
    screen = np.asarray(rng.choice([[18, 18, 20], [30, 33, 40], [0, 0, 0], [40, 38, 45]]), np.float32)
    colour = tuple(float(c) for c in rng.choice([[250, 250, 250], [255, 220, 90], [120, 220, 255], [200, 255, 180]]))
    rgb = paint(np.broadcast_to(screen, shape + (3,)), number, colour)
    return save(Image.fromarray(np.clip(rgb + 0.5, 0, 255).astype(np.uint8), "RGB"), "PNG")


def sticky_far(digits: list[np.ndarray], rng: np.random.Generator) -> bytes:
    """A number small in a big picture: on a sticky note on a desk, or pencilled small on a big scanned page."""
    if rng.random() < 0.55:
        long_side = int(rng.integers(1000, 1900))
        shape = long_side_shape(long_side, float(rng.choice([4 / 3, 3 / 4, 16 / 9])))
        h, w = shape
        note = int(rng.uniform(0.22, 0.35) * min(shape) + 0.0)
        note = max(note, int(28 * (len(digits) * 0.95 + 0.8) / 0.9 / 0.9))  # room for digits ≥ about 28 px high
        note = min(note, int(0.9 * min(shape)))
        height = min(rng.uniform(0.25, 0.38) * note, 0.82 * note / (len(digits) * 0.95 + 0.6))
        pen = Pen(float(rng.uniform(0.04, 0.07) * height + 0.8), float(rng.uniform(0.05, 0.25)))
        ink = write_number(digits, random_hand(rng, height), pen, rng)
        paper = rng.choice([[250, 235, 120], [250, 190, 200], [190, 235, 250], [200, 240, 170]])
        note_ink = place(ink, (note, note), rng, (rng.uniform(0.4, 0.6), 0.5))
        note_rgb = paint(np.broadcast_to(np.asarray(paper, np.float32), (note, note, 3)), note_ink,
                         tuple(float(c) for c in rng.choice([[20, 20, 30], [25, 40, 130]])))
        desk = np.asarray(rng.choice([[150, 115, 80], [200, 200, 195], [90, 90, 95], [225, 220, 210]]), np.float32)
        ground = np.broadcast_to(desk, shape + (3,)).copy()
        ground *= 1 + 0.015 * smooth_noise(rng, shape, 60)[..., None]
        r = int(rng.integers(int(0.05 * h), max(int(0.95 * h) - note, int(0.05 * h) + 1)))
        c = int(rng.integers(int(0.05 * w), max(int(0.95 * w) - note, int(0.05 * w) + 1)))
        r, c = min(r, h - note), min(c, w - note)
        shadow = np.zeros(shape, np.float32)
        shadow[r + 4:r + note + 6, c + 3:c + note + 5] = 0.35
        ground *= 1 - ndimage.gaussian_filter(shadow, 5)[..., None]
        ground[r:r + note, c:c + note] = note_rgb
        rgb = ground * lighting(shape, rng, rng.uniform(0.1, 0.4))
        return jpeg(photo_finish(rgb, rng, rng.uniform(2, 6)), rng, 65, 93)
    long_side = int(rng.integers(1300, 2200))
    shape = long_side_shape(long_side, float(rng.choice([1 / 1.414, 1.414])))
    height = rng.uniform(0.025, 0.045) * long_side
    height = max(height, 30.0)
    pen = Pen(float(rng.uniform(0.9, 1.5) * max(1.0, height / 50)), float(rng.uniform(0.1, 0.3)))
    ink = pencil_grain(write_number(digits, random_hand(rng, height), pen, rng), rng)
    number = place(ink, shape, rng)
    paper = np.asarray(rng.uniform([238, 236, 228], [255, 253, 250]), np.float32)
    rgb = paint(np.broadcast_to(paper, shape + (3,)), number * rng.uniform(0.75, 0.95), (70, 70, 78))
    rgb = rgb + rng.normal(0, 1.5, rgb.shape).astype(np.float32)
    if rng.random() < 0.5:
        return jpeg(rgb, rng, 70, 95)
    return save(Image.fromarray(np.clip(rgb + 0.5, 0, 255).astype(np.uint8), "RGB"), "PNG")


STYLES: dict[str, NumberStyle] = {"ruled_photo": ruled_photo, "marker_canvas": marker_canvas,
                                  "dark_ground": dark_ground, "sticky_far": sticky_far}


# -- numbers ----------------------------------------------------------------------------------------------------

def has_loop(digit: np.ndarray) -> bool:
    """Whether a 28×28 digit shows an open loop (a hole of a few pixels at three times its size)."""
    large = ndimage.zoom(digit.astype(np.float32) / 255.0, 3, order=1)
    return holes(large > 0.5, 6.0) >= 1


@dataclass(frozen=True)
class Writers:
    """MNIST's 60,000 *training* digits (uint8 28×28, white on black) and their labels: the hands drawn from.
    A round digit (0, 6, 8, 9) is drawn only if its loop is open: a 6 whose loop its writer squashed shut reads as
    an L to a person too, and these pictures are meant to be legible."""

    images: np.ndarray
    labels: np.ndarray

    def __post_init__(self) -> None:
        object.__setattr__(self, "_pools", {label: np.flatnonzero(self.labels == label) for label in range(10)})

    @classmethod
    def from_mnist(cls, paths: Paths) -> Writers:
        mnist = load_mnist(ensure_mnist(paths.mnist_dir, paths.mnist_cache))
        return cls(mnist.train_images, mnist.train_labels)

    def of(self, label: int, rng: np.random.Generator) -> int:
        """A random usable training digit of `label`: its index (a round digit with its loop shut is drawn again)."""
        pool: np.ndarray = getattr(self, "_pools")[label]
        while True:
            index = int(pool[rng.integers(len(pool))])
            if label not in ROUND or has_loop(self.images[index]):
                return index


@dataclass(frozen=True)
class NumberPicture:
    """One picture: its encoded bytes, the number it shows, and the training digits it was drawn from."""

    data: bytes
    label: str
    style: str
    size: tuple[int, int]  # (width, height)
    format: str  # "JPEG" or "PNG"
    indices: tuple[int, ...]  # the MNIST training digits used, in order


def number_labels(length: int, rng: np.random.Generator) -> list[int]:
    """A number's digits as people write them: never a leading 0; sometimes a lone 1 or 7 beside a round digit."""
    labels = [int(rng.integers(1, 10))] + [int(d) for d in rng.integers(0, 10, length - 1)]
    if rng.random() < LONE_SHARE:
        at = int(rng.choice([0, length - 1, int(rng.integers(0, length))]))  # first, last, or anywhere
        labels[at] = int(rng.choice(LONE))
        beside = at + 1 if at == 0 or (at < length - 1 and rng.random() < 0.5) else at - 1
        labels[beside] = int(rng.choice(ROUND[1:] if beside == 0 else ROUND))
    return labels


def number_pictures(writers: Writers, style: str, length: int, count: int, seed: int = 0) -> list[NumberPicture]:
    """`count` pictures of `length`-digit numbers in `style`; picture i depends only on (seed, style, length, i)."""
    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}; the styles: {', '.join(STYLES)}")
    if length < 2:
        raise ValueError("numbers here have 2 digits or more")
    draw, code = STYLES[style], list(STYLES).index(style)
    pictures = []
    for index in range(count):
        rng = np.random.default_rng([seed, 3, code, length, index])
        labels = number_labels(length, rng)
        indices = tuple(writers.of(label, rng) for label in labels)
        data = draw([writers.images[i] for i in indices], rng)
        with Image.open(io.BytesIO(data)) as image:
            size, format = image.size, str(image.format)
        pictures.append(NumberPicture(data, "".join(map(str, labels)), style, size, format, indices))
    return pictures
