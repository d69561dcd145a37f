"""Numbers in other hands: issue 24's independent yardstick until 2026-12-07, used only to *measure* reading until
then; since, a tuning generator (its failures looked at), and `samples.third_hands` the yardstick.

Written without looking at the first number generator (`samples.numbers`, `samples.pictures`) or at the reader's
thresholds, from what people post: paper photos, drawing-app exports, light on dark, a number small in a big
picture. `number_pictures(writers, style, length, count, seed)` is deterministic: picture i depends only on
(seed, style, length, i), not on `count`. About 20 ms a picture (more for the big ones).

How it differs, by design, from MNIST and from the first generator (MNIST test digits, as they are):
- Other writers, other pens: the digits are MNIST *training* digits (MNIST keeps their writers apart from the test
  set's, which the first generator and the project's tuning use), and never the trained-on images themselves. Only
  digits that other writers agree on are drawn (4 of their 5 nearest among 10,000 held-back training digits have the
  same label: people posting to a bot write to be read, and MNIST keeps some digits nobody could read). Each is
  skeletonized (scikit-image; a 0, 6, 8 or 9 whose loop the scan filled in is skipped, and specks are dropped) and
  re-stroked with a round pen of another width (radius 1.2-3 % of the digit's height for thin pens in 30 %, 3-6 % in
  45 %, thick markers of 6-12 % in 25 %; never under 1 px, 0.7 px in photos); its centre line bent by a smooth
  random warp (3 % of its height), made 0.85-1.15 as wide (±8 % more per digit), slanted (shear ~N(0.1, 0.1) within
  -0.15..0.35 per number, ±0.06 more per digit) and turned ±3°.
- Numbers as people write them: 2-6 digits; the first 1-9 by Benford's law (a 1 starts 30 % of them; never a
  leading 0); 35 % get a lone 1 or 7 beside a round digit (0, 6, 8, 9), 15 % end in a 1. Heights vary within a
  number (±15 %, ±30 % in a quarter), baselines wander (up to ±8 % of the height) and drift (the line tilts by
  up to 8 % a digit); spacing is per number: 20 % tight (neighbours touching, or overlapping by up to 6 % of the
  height), 55 % normal (3-30 %), 25 % wide (30-90 %).
- paper_photo: a JPEG (quality 55-92), 400-1,400 px on its long side (3:4, 9:16 or square, either way up),
  the number 15-60 % of the short side high and at most 40-90 % of the width: white to grey paper, uneven light
  (a smooth random field, a gradient, a soft shadow over one side in 30 %), ruled or squared paper in 45 %,
  ballpoint (black, blue) or pencil (grey, grainy: 15 %), the page turned ±7° about the number with slight
  perspective, out of focus (blur 0.3-1.3 px), white balance ±4 %, sensor noise.
- drawing_app: a PNG canvas of 280-1,200 px: white, or transparent in 40 % (RGBA, the ink only in alpha);
  black, blue or red ink, anti-aliased; a mouse's wobble in a third of them.
- light_on_dark: light ink on a dark ground, 280-1,280 px: half an app's dark mode (PNG, black or Discord-like
  greys), half a photo of a chalkboard (JPEG, green, slate or black board, grainy chalk, as paper_photo's camera).
- small_in_big: a picture of 1,400-2,000 px on its long side, wide or tall (1.3-3.3:1), the number only 2-6 % of
  the long side high (28-120 px) and somewhere off centre; half clean canvases (PNG), half paper photos (JPEG).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageChops, ImageDraw
from scipy import ndimage
from skimage.morphology import skeletonize

from digits.mnist import ensure_mnist, load_mnist
from digits.settings import Paths

STYLES = ("paper_photo", "drawing_app", "light_on_dark", "small_in_big")
LONG_SIDE = {"paper_photo": (400, 1400), "drawing_app": (280, 1200), "light_on_dark": (280, 1280),
             "small_in_big": (1400, 2000)}  # the pictures' long side, px: [low, high)
ROUND, LONE = (0, 6, 8, 9), (1, 1, 7)
BENFORD = np.log10(1 + 1 / np.arange(1, 10))
LOOPS = (1, 0, 0, 0, 0, 0, 1, 0, 2, 1)  # closed loops a digit must keep to stay itself
JUDGES = 10_000  # the last MNIST training digits: never drawn, they judge whether a digit is legible (`Writers`)
UPSCALE = 4  # skeletons are taken on MNIST digits drawn 4× larger, for smooth centre lines


@dataclass(frozen=True)
class NumberPicture:
    """One generated picture: its true number, the encoded file, and how it was made."""

    label: str
    data: bytes
    style: str
    size: tuple[int, int]  # width, height
    format: str  # "PNG" or "JPEG"


class Writers:
    """The digits to draw from: MNIST training images by label, re-stroked into centre-line segments on demand.

    The last `JUDGES` images are never drawn: they judge the others. A digit is drawn only if most of its 5
    nearest neighbours among them (14×14 pixels) are the same digit, i.e. other writers agree on what it is
    (people posting to a bot write to be read; MNIST keeps some digits nobody could read).
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray) -> None:
        self.images = images[:-JUDGES]
        self.by_label = [np.flatnonzero(labels[:-JUDGES] == d) for d in range(10)]
        self.judges, self.judge_labels = _coarse(images[-JUDGES:]), labels[-JUDGES:]
        self.judge_norms = (self.judges ** 2).sum(1)

    @classmethod
    def from_mnist(cls, paths: Paths | None = None) -> Writers:
        """The 60,000 MNIST training digits from `MNIST_DIR`, the cache or a fetch, verified (`digits.mnist`)."""
        paths = paths or Paths.from_env()
        mnist = load_mnist(ensure_mnist(paths.mnist_dir, paths.mnist_cache))
        return cls(mnist.train_images, mnist.train_labels)

    def legible(self, image: np.ndarray, digit: int) -> bool:
        """Whether at least 4 of the 5 judges nearest to `image` (28×28) are `digit`s."""
        distances = self.judge_norms - 2 * self.judges @ _coarse(image[None])[0]
        return int((self.judge_labels[np.argpartition(distances, 5)[:5]] == digit).sum()) >= 4

    def segments(self, digit: int, rng: np.random.Generator) -> np.ndarray:
        """A random writer's `digit` as centre-line segments (n, 2, 2) of (x, y), 1 high, centred on 0."""
        while True:  # a legible digit that keeps its loops (a 0, 6, 8 or 9 whose loop the scan filled in would lose it)
            image = self.images[rng.choice(self.by_label[digit])]
            ink = ndimage.zoom(image.astype(np.float32) / 255, UPSCALE, order=1) > 0.5
            if ndimage.label(~np.pad(ink, 1))[1] - 1 >= LOOPS[digit] and self.legible(image, digit):
                break
        skeleton = skeletonize(ink)
        parts, _ = ndimage.label(skeleton, np.ones((3, 3)))
        sizes = np.bincount(parts.ravel())[1:]
        skeleton = np.isin(parts, 1 + np.flatnonzero(sizes >= 0.1 * sizes.max()))  # no specks of the scan
        ys, xs = np.nonzero(skeleton)
        ends = [np.stack([xs, ys], 1)[:, None].repeat(2, 1)]  # every pixel as a dot, so none is lost
        padded = np.pad(skeleton, 1)
        for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1)):  # and every pair of neighbouring pixels as a segment
            y, x = np.nonzero(skeleton & padded[1 + dy: padded.shape[0] - 1 + dy, 1 + dx: padded.shape[1] - 1 + dx])
            ends.append(np.stack([np.stack([x, y], 1), np.stack([x + dx, y + dy], 1)], 1))
        segments = np.concatenate(ends).astype(np.float64)
        low, high = segments.reshape(-1, 2).min(0), segments.reshape(-1, 2).max(0)
        return (segments - (low + high) / 2) / max(high[1] - low[1], 1.0)


def _coarse(images: np.ndarray) -> np.ndarray:
    """28×28 digits as 14×14 (2×2 means), flattened, 0-1: what the judges compare."""
    return images.reshape(len(images), 14, 2, 14, 2).mean((2, 4)).reshape(len(images), -1).astype(np.float32) / 255


def number_pictures(writers: Writers, style: str, length: int, count: int, seed: int = 0) -> list[NumberPicture]:
    """`count` pictures of `length`-digit numbers in `style` (one of `STYLES`), deterministic from `seed`."""
    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}: one of {', '.join(STYLES)}")
    if length < 2:
        raise ValueError(f"numbers here have 2 digits or more, not {length}")
    key = [seed, STYLES.index(style), length]
    return [_picture(writers, style, length, np.random.default_rng([*key, i])) for i in range(count)]


def _label(rng: np.random.Generator, length: int) -> str:
    """A number as people write them, with the hard cases the module docstring lists."""
    digits = [int(rng.choice(9, p=BENFORD / BENFORD.sum())) + 1, *rng.integers(0, 10, length - 1).tolist()]
    if rng.random() < 0.35:  # a lone 1 or 7 beside a round digit
        at = int(rng.integers(length))
        beside = at + 1 if at == 0 or (at < length - 1 and rng.random() < 0.5) else at - 1
        digits[at] = int(rng.choice(LONE))
        digits[beside] = int(rng.choice(ROUND[1:] if beside == 0 else ROUND))
    if rng.random() < 0.15:
        digits[-1] = 1
    return "".join(map(str, digits))


def _layout(writers: Writers, label: str, rng: np.random.Generator) -> list[tuple[np.ndarray, float]]:
    """The number written by one hand at height 1: per digit, its segments and its pen's radius (as 1's share)."""
    slant, aspect = np.clip(rng.normal(0.1, 0.1), -0.15, 0.35), rng.uniform(0.85, 1.15)
    size_spread = 0.3 if rng.random() < 0.25 else 0.15
    gaps = [(-0.06, 0.04), (0.03, 0.3), (0.3, 0.9)][int(rng.choice(3, p=[0.2, 0.55, 0.25]))]
    drift, wander = rng.uniform(-0.08, 0.08), rng.uniform(0.0, 0.08)
    pen = rng.choice([rng.uniform(0.012, 0.03), rng.uniform(0.03, 0.06), rng.uniform(0.06, 0.12)], p=[0.3, 0.45, 0.25])
    right, digits = 0.0, []
    for i, char in enumerate(label):
        points = _warp(writers.segments(int(char), rng), rng, 0.03)
        height = 1 + rng.uniform(-size_spread, size_spread)
        turn = np.radians(rng.uniform(-3, 3))
        shear = slant + rng.uniform(-0.06, 0.06)
        matrix = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]]) @ np.array(
            [[aspect * rng.uniform(0.92, 1.08), -shear], [0, 1]]) * height
        points = points @ matrix.T
        radius = float(pen * rng.uniform(0.85, 1.15))
        left = points[..., 0].min() - radius
        points[..., 0] += right + (rng.uniform(*gaps) if i else 0) - left
        points[..., 1] += drift * i + rng.uniform(-wander, wander) - (height - 1) / 2  # on a shared baseline
        right = points[..., 0].max() + radius
        digits.append((points, radius))
    return digits


def _warp(points: np.ndarray, rng: np.random.Generator, amount: float) -> np.ndarray:
    """Bend a digit's centre line smoothly: two random plane waves of displacement per axis."""
    out = points.copy()
    for axis in (0, 1):
        for _ in range(2):
            frequency, phase = rng.normal(0, 4, 2), rng.uniform(0, 2 * np.pi)
            out[..., axis] += amount / 2 * np.sin(points @ frequency + phase)
    return out


def _render(digits: list[tuple[np.ndarray, float]], to_picture: np.ndarray, size: tuple[int, int],
            scale: float, min_radius: float, blur: float = 0.0) -> np.ndarray:
    """The ink's coverage (0-1, float32, height × width): each digit's segments mapped by the 3×3 homography
    `to_picture` (from number units), sampled every half pixel, inked with a round pen, anti-aliased, and blurred
    by a Gaussian of `blur` px (a camera out of focus)."""
    width, height = size
    ink = np.zeros((height, width), np.float32)
    for segments, radius in digits:
        r = max(radius * scale, min_radius)
        ends = _apply(to_picture, segments.reshape(-1, 2)).reshape(-1, 2, 2)
        steps = int(np.ceil(np.abs(ends[:, 1] - ends[:, 0]).max() * 2)) + 1
        t = np.linspace(0, 1, steps)[None, :, None]
        points = (ends[:, :1] + t * (ends[:, 1:] - ends[:, :1])).reshape(-1, 2)
        margin = r + 3 * blur + 2
        x0, y0 = np.maximum(np.floor(points.min(0) - margin).astype(int), 0)
        x1, y1 = np.minimum(np.ceil(points.max(0) + margin + 1).astype(int), (width, height))
        if x1 <= x0 or y1 <= y0:
            continue
        free = np.ones((y1 - y0, x1 - x0), bool)
        cells = np.round(points - (x0, y0)).astype(int)
        inside = (cells >= 0).all(1) & (cells[:, 0] < x1 - x0) & (cells[:, 1] < y1 - y0)
        free[cells[inside, 1], cells[inside, 0]] = False
        coverage = np.clip(r + 0.5 - ndimage.distance_transform_edt(free), 0, 1).astype(np.float32)
        if blur:
            coverage = ndimage.gaussian_filter(coverage, blur)
        np.maximum(ink[y0:y1, x0:x1], coverage, out=ink[y0:y1, x0:x1])
    return ink


def _apply(homography: np.ndarray, points: np.ndarray) -> np.ndarray:
    mapped = np.c_[points, np.ones(len(points))] @ homography.T
    return mapped[:, :2] / mapped[:, 2:]


def _placement(digits: list[tuple[np.ndarray, float]], size: tuple[int, int], height: float,
               fill: float, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """A homography putting the number (at most `fill` of the picture's width) somewhere inside the picture;
    and the number's height in pixels."""
    low, high = _extent(digits)
    height = min(height, fill * size[0] / (high[0] - low[0]), 0.8 * size[1] / (high[1] - low[1]))
    span = (high - low) * height
    corner = [rng.uniform(0.05 * side, max(0.05 * side, 0.95 * side - extent)) for side, extent in zip(size, span)]
    return np.array([[height, 0, corner[0] - low[0] * height], [0, height, corner[1] - low[1] * height], [0, 0, 1]]), height


def _extent(digits: list[tuple[np.ndarray, float]]) -> np.ndarray:
    """The number's lowest and highest (x, y), in its own units."""
    points = np.concatenate([segments.reshape(-1, 2) for segments, _ in digits])
    return np.stack([points.min(0), points.max(0)])


def _camera(centre: np.ndarray, size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A slight turn (±7°) and perspective of the page about `centre` (the number's, which stays in the picture)."""
    cx, cy = centre
    turn = np.radians(rng.uniform(-7, 7))
    tilt = rng.uniform(-0.25, 0.25, 2) / max(size)
    there, back = np.array([[1, 0, cx], [0, 1, cy], [0, 0, 1]]), np.array([[1, 0, -cx], [0, 1, -cy], [0, 0, 1]])
    rotate = np.array([[np.cos(turn), -np.sin(turn), 0], [np.sin(turn), np.cos(turn), 0], [tilt[0], tilt[1], 1]])
    return there @ rotate @ back


def _picture(writers: Writers, style: str, length: int, rng: np.random.Generator) -> NumberPicture:
    label = _label(rng, length)
    digits = _layout(writers, label, rng)
    long_side = int(rng.integers(*LONG_SIDE[style]))
    if style == "small_in_big":
        short = int(long_side / rng.uniform(1.3, 3.3))
        photo = rng.random() < 0.5
    else:
        short = int(long_side * rng.choice([0.5625, 0.75, 1.0]))
        photo = style == "paper_photo" or (style == "light_on_dark" and rng.random() < 0.5)
    size = (long_side, short) if rng.random() < 0.5 else (short, long_side)
    if style == "small_in_big":
        place, height = _placement(digits, size, rng.uniform(0.02, 0.06) * long_side, 0.5, rng)
    else:
        place, height = _placement(digits, size, rng.uniform(0.15, 0.6) * min(size), rng.uniform(0.4, 0.9), rng)
    if photo:
        return _photo(digits, label, style, size, place, height, rng)
    return _canvas(digits, label, style, size, place, height, rng)


def _photo(digits: list[tuple[np.ndarray, float]], label: str, style: str, size: tuple[int, int],
           place: np.ndarray, height: float, rng: np.random.Generator) -> NumberPicture:
    """A phone photo of paper (or of a chalkboard, for light_on_dark): JPEG."""
    width, tall = size
    camera = _camera(place[:2, 2] + place[0, 0] * _extent(digits).mean(0), size, rng)
    ink = _render(digits, camera @ place, size, height, 0.7, blur=rng.uniform(0.3, 1.3))
    balance = 1 + rng.uniform(-0.04, 0.04, 3)  # the camera's white balance
    if style == "light_on_dark":  # chalk: grainy light strokes on green or slate
        paper = rng.choice([[40, 62, 48], [46, 50, 56], [30, 32, 36]]) + rng.uniform(-6, 6)
        colour, grainy = rng.choice([[235, 235, 225], [240, 230, 170], [200, 225, 240]]), True
    else:  # white to grey paper; ballpoint (black, blue) or pencil (grey, grainy)
        paper = rng.uniform(200, 245) * (1 + rng.uniform(-0.03, 0.03, 3))
        grainy = rng.random() < 0.15
        colour = np.array([95, 95, 100]) if grainy else rng.choice([[25, 25, 35], [30, 45, 130], [20, 30, 90]])
    image = Image.new("RGB", size, _rgb(paper * balance))
    if style != "light_on_dark" and rng.random() < 0.45:  # ruled or squared paper
        image = Image.composite(Image.new("RGB", size, _rgb(np.array([150, 185, 225]) * balance)), image,
                                _rules(size, camera, height, rng))
    box = _box(ink)
    if grainy:
        ink[box] *= rng.uniform(0.5, 1.0, ink[box].shape).astype(np.float32)
    _ink(image, ink, box, colour * balance)
    field = Image.fromarray(rng.uniform(0.8, 1.0, (3, 3)).astype(np.float32), "F")
    light = np.asarray(field.resize(size, Image.Resampling.BILINEAR))
    light = light * np.linspace(1, rng.uniform(0.85, 1.0), width, dtype=np.float32)
    if rng.random() < 0.3:  # the phone's shadow over one side, with a soft edge
        edge = rng.uniform(0.2, 0.7) * width
        across = (np.arange(width, dtype=np.float32) - edge) / (0.02 * width)
        light *= 1 - rng.uniform(0.15, 0.35) / (1 + np.exp(across))
    image = ImageChops.multiply(image, Image.fromarray(np.round(light * 255).astype(np.uint8)).convert("RGB"))
    spread = int(rng.integers(2, 8))  # sensor noise, uniform in ±spread
    noise = Image.fromarray(rng.integers(128 - spread, 129 + spread, (tall, width), np.uint8)).convert("RGB")
    return _encode(ImageChops.add(image, noise, 1.0, -128), label, style, "JPEG", int(rng.integers(55, 93)))


def _rgb(colour: np.ndarray) -> tuple[int, int, int]:
    red, green, blue = np.clip(np.round(colour), 0, 255).astype(int).tolist()
    return red, green, blue


def _ink(image: Image.Image, ink: np.ndarray, box: tuple[slice, slice], colour: np.ndarray) -> None:
    """Lay ink of `colour` with coverage `ink` (0-1) on `image`, within `box`."""
    if box[0].stop > box[0].start:
        corner = (box[1].start, box[0].start)
        mask = Image.fromarray(np.round(ink[box] * 255).astype(np.uint8))
        image.paste(Image.new("RGB", mask.size, _rgb(colour)), corner, mask)


def _box(ink: np.ndarray) -> tuple[slice, slice]:
    """The rows and columns that hold ink (an empty box if none)."""
    rows, columns = np.flatnonzero(ink.any(1)), np.flatnonzero(ink.any(0))
    if not len(rows):
        return slice(0, 0), slice(0, 0)
    return slice(rows[0], rows[-1] + 1), slice(columns[0], columns[-1] + 1)


def _rules(size: tuple[int, int], camera: np.ndarray, height: float, rng: np.random.Generator) -> Image.Image:
    """Ruled lines (or squares) under the writing, in the camera's view: a mask, 60 % where a line is."""
    spacing = height * rng.uniform(1.2, 1.9) if rng.random() < 0.7 else height * rng.uniform(0.45, 0.7)
    squared = spacing < height
    layer = Image.new("L", size)
    draw = ImageDraw.Draw(layer)
    width, tall = size
    margin = max(size)
    ys = np.arange(rng.uniform(0, spacing) - margin, tall + margin, spacing)
    ends = [np.stack([np.full_like(ys, -margin), ys, np.full_like(ys, width + margin), ys], 1)]
    if squared:
        xs = np.arange(rng.uniform(0, spacing) - margin, width + margin, spacing)
        ends.append(np.stack([xs, np.full_like(xs, -margin), xs, np.full_like(xs, tall + margin)], 1))
    for line in _apply(camera, np.concatenate(ends).reshape(-1, 2)).reshape(-1, 4).tolist():
        draw.line(line, fill=153, width=max(1, round(height / 60)))
    return layer


def _canvas(digits: list[tuple[np.ndarray, float]], label: str, style: str, size: tuple[int, int],
            place: np.ndarray, height: float, rng: np.random.Generator) -> NumberPicture:
    """A drawing app's export: PNG, white or transparent canvas (dark for light_on_dark), antialiased pen."""
    if rng.random() < 0.33:  # drawn with a mouse: a jittery line
        digits = [(_warp(segments, rng, 0.015) + rng.normal(0, 0.004, segments.shape), r) for segments, r in digits]
    ink = _render(digits, place, size, height, 1.0)
    if style == "light_on_dark":
        canvas = rng.choice([[0, 0, 0], [49, 51, 56], [30, 31, 34], [18, 18, 28]])
        colour = rng.choice([[255, 255, 255], [230, 230, 230], [255, 235, 120]])
    else:
        canvas, colour = np.array([255, 255, 255]), rng.choice([[0, 0, 0], [0, 0, 0], [30, 30, 200], [200, 30, 30]])
    box = _box(ink)
    if style != "light_on_dark" and rng.random() < 0.4:  # transparent canvas: the ink is only in alpha
        rgba = np.zeros((*ink.shape, 4), np.uint8)
        rgba[..., :3] = colour
        rgba[..., 3][box] = np.round(ink[box] * 255)
        return _encode(Image.fromarray(rgba, "RGBA"), label, style, "PNG")
    image = Image.new("RGB", size, _rgb(canvas))
    _ink(image, ink, box, colour)
    return _encode(image, label, style, "PNG")


def _encode(image: Image.Image, label: str, style: str, format: str, quality: int = 90) -> NumberPicture:
    buffer = io.BytesIO()
    image.save(buffer, format, **({"quality": quality} if format == "JPEG" else {"compress_level": 1}))
    return NumberPicture(label, buffer.getvalue(), style, image.size, format)
