"""User-like pictures of real MNIST digits, for the tests and the benchmarks (never used by the bot).

Each `USER_IMAGE_STYLES` entry turns one raw MNIST digit (uint8 28×28, white on black) into the
encoded bytes of a picture as people post them: photos of ink on paper, drawing-app exports,
transparent canvases, odd modes and formats.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageFilter
from scipy import ndimage


# -- encoding -------------------------------------------------------------------------------------


def encode(image: Image.Image, format: str, **options: object) -> bytes:
    """The picture as a file; a PNG at zlib's fastest level unless told otherwise (the same pixels, in a sixth of the
    time, in a somewhat larger file)."""
    if format == "PNG":
        options.setdefault("compress_level", 1)
    buffer = io.BytesIO()
    image.save(buffer, format=format, **options)
    return buffer.getvalue()


def upscale(digit: np.ndarray, size: int) -> np.ndarray:
    """The digit's ink coverage in [0, 1], smoothly upscaled to size×size."""
    return np.asarray(Image.fromarray(digit).resize((size, size), Image.Resampling.BICUBIC), np.float32).clip(0, 255) / 255.0


def on_paper(
    ink: np.ndarray, rng: np.random.Generator, ink_colour=(25, 25, 35), paper=(235, 230, 220), gradient: float = 0.35, noise: float = 6.0
) -> np.ndarray:
    """Ink coverage as an RGB photo of ink on paper: lit unevenly from one corner, with sensor noise.

    Made a band of rows at a time, in place, which keeps the float64 arithmetic in the cache (a 1000×750 photo in 50 ms,
    not 85): the same pixels, bit for bit, as computing each array whole, the noise drawn in the same order."""
    height, width = ink.shape
    angle = rng.uniform(0, 2 * np.pi)
    across = np.cos(angle) * np.arange(width, dtype=np.float32) / width
    down = np.sin(angle) * np.arange(height, dtype=np.float32)[:, np.newaxis] / height
    # The light's ramp is across + down; rounding keeps order, so its least and greatest are the ends' sums.
    low, high = across.min() + down.min(), across.max() + down.max()
    spread = max(float(high - low), 1e-6)
    paper, ink_colour = np.asarray(paper, np.float32), np.asarray(ink_colour, np.float32)
    photo = np.empty((height, width, 3), np.uint8)
    rows = max(1, 32768 // width)
    for top in range(0, height, rows):
        band = slice(top, top + rows)
        light = across + down[band]
        light -= low
        light *= gradient
        light /= spread
        np.subtract(1.0, light, out=light)
        if paper.ndim == ink_colour.ndim == 1:
            # Two colours: mixed a channel at a time in whole rows (numpy's loops over a last axis of 3 beside one of 1
            # are slow), with the same float32 products and sums, lit in float64 as below: the same pixels, a
            # 420×360 photo in 0.76 of the time.
            cover = ink[band]
            uncovered = 1 - cover
            lit = np.empty((*cover.shape, 3), light.dtype)
            for channel in range(3):
                mixed = paper[channel] * uncovered
                mixed += ink_colour[channel] * cover
                np.multiply(mixed, light, out=lit[..., channel])
        else:
            cover = ink[band, :, np.newaxis]
            colour = (paper[band] if paper.ndim == 3 else paper) * (1 - cover)  # a colour, or a surface (printed paper)
            colour += (ink_colour[band] if ink_colour.ndim == 3 else ink_colour) * cover
            lit = np.multiply(colour, light[..., np.newaxis])
        lit += rng.normal(0, noise, (*ink[band].shape, 3)).astype(np.float32)
        photo[band] = lit.clip(0, 255, out=lit)
    return photo


def place(ink: np.ndarray, canvas: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Ink coverage pasted at a random spot of a larger empty canvas (height, width)."""
    out = np.zeros(canvas, np.float32)
    top = int(rng.integers(0, canvas[0] - ink.shape[0] + 1))
    left = int(rng.integers(0, canvas[1] - ink.shape[1] + 1))
    out[top : top + ink.shape[0], left : left + ink.shape[1]] = ink
    return out


def black_on_white(ink: np.ndarray) -> Image.Image:
    return Image.fromarray((255 - ink * 255).round().astype(np.uint8))


# -- the styles -----------------------------------------------------------------------------------


def phone_photo(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    ink = place(upscale(digit, 300), (420, 360), rng)
    return encode(Image.fromarray(on_paper(ink, rng)), "JPEG", quality=85)


def drawing_1000(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    return encode(black_on_white(upscale(digit, 1000)), "PNG")


def off_centre(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    return encode(black_on_white(place(upscale(digit, 140), (700, 900), rng)), "PNG")


def jpeg_q40(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    return encode(black_on_white(upscale(digit, 200)), "JPEG", quality=40)


def transparent_canvas(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    ink = upscale(digit, 280)
    rgba = np.zeros((*ink.shape, 4), np.uint8)
    rgba[..., :3] = rng.integers(0, 256, 3)  # any colour, black and white included
    rgba[..., 3] = (ink * 255).round()
    return encode(Image.fromarray(rgba, "RGBA"), "PNG")


def coloured_ink(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    colours = [(20, 40, 200), (200, 20, 20), (20, 140, 40), (120, 30, 160), (240, 140, 0), (230, 210, 0)]
    colour = colours[int(rng.integers(len(colours)))]
    ink = upscale(digit, 240)
    return encode(Image.fromarray(on_paper(ink, rng, ink_colour=colour, paper=(250, 250, 250), gradient=0.1, noise=3)), "PNG")


def thin_strokes(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    ink = ndimage.minimum_filter((upscale(digit, 280) * 255).astype(np.uint8), size=7, mode="nearest")
    return encode(black_on_white(ink.astype(np.float32) / 255), "PNG")


def thick_strokes(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    ink = ndimage.maximum_filter((upscale(digit, 280) * 255).astype(np.uint8), size=11, mode="nearest")
    return encode(black_on_white(ink.astype(np.float32) / 255), "PNG")


def tiny_mnist(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    return encode(Image.fromarray(digit), "PNG")


def tiny_inverted(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    return encode(Image.fromarray(255 - digit), "PNG")


def photo_4000x3000(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    """A 12-megapixel phone photo (made at 1000×750 and enlarged four times, each pixel to 4×4: noise at full size would
    take seconds per image, and a smooth enlargement a tenth of a second)."""
    ink = np.zeros((750, 1000), np.float32)
    ink[125:625, 250:750] = upscale(digit, 500)
    photo = Image.fromarray(on_paper(ink, rng, noise=4)).resize((4000, 3000), Image.Resampling.NEAREST)
    return encode(photo, "JPEG", quality=90)


def exif_rotated(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    photo = Image.fromarray(on_paper(upscale(digit, 300), rng))
    # A camera held sideways stores the pixels rotated and says how to turn them back (orientation 6: 90° clockwise).
    orientation = int(rng.choice([3, 6, 8]))
    stored = photo.transpose({3: Image.Transpose.ROTATE_180, 6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}[orientation])
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(stored, "JPEG", quality=90, exif=exif)


def gif_first_frame(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    first = black_on_white(upscale(digit, 112)).convert("P")
    second = Image.fromarray(rng.integers(0, 256, (112, 112), dtype=np.uint8)).convert("P")
    return encode(first, "GIF", save_all=True, append_images=[second], duration=100, loop=0)


def palette_png(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    image = Image.fromarray(on_paper(upscale(digit, 140), rng, gradient=0.1, noise=2))
    return encode(image.quantize(colors=16), "PNG")


def sixteen_bit(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    values = ((1 - upscale(digit, 140)) * 60000 + 2000).round().astype(np.uint16)
    return encode(Image.fromarray(values), "PNG")


def cmyk_tiff(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    rgb = Image.fromarray(on_paper(upscale(digit, 140), rng, ink_colour=(10, 30, 120), gradient=0.1, noise=2))
    return encode(rgb.convert("CMYK"), "TIFF")


def cmyk_jpeg(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    rgb = Image.fromarray(on_paper(upscale(digit, 140), rng, gradient=0.1, noise=2))
    return encode(rgb.convert("CMYK"), "JPEG", quality=90)


def grey_alpha(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    ink = upscale(digit, 140)
    la = np.stack([np.zeros_like(ink, np.uint8), (ink * 255).round().astype(np.uint8)], axis=-1)
    return encode(Image.fromarray(la, "LA"), "PNG")


def white_on_black_photo(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    ink = place(upscale(digit, 200), (300, 260), rng)
    return encode(Image.fromarray(on_paper(ink, rng, ink_colour=(240, 240, 240), paper=(30, 30, 40), gradient=0.3, noise=5)), "JPEG", quality=85)


def paper_on_table(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    """A phone photo of the paper with the dark table showing along one side (5–25 % of the picture)."""
    pad = [[0, 0], [0, 0]]
    side = int(rng.integers(4))
    pad[side // 2][side % 2] = int(rng.uniform(0.05, 0.25) * 320)
    ink = np.pad(place(upscale(digit, 240), (360, 320), rng), pad)
    table = np.pad(np.zeros((360, 320), bool), pad, constant_values=True)
    photo = on_paper(ink, rng).astype(np.float32)
    photo[table] = rng.uniform(40, 90, 3) + rng.normal(0, 6, (np.count_nonzero(table), 3))
    return encode(Image.fromarray(photo.clip(0, 255).astype(np.uint8)), "JPEG", quality=85)


def shadowed_corner(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    """A phone photo with the phone's hard-edged shadow across one corner."""
    ink = place(upscale(digit, 300), (420, 360), rng)
    photo = on_paper(ink, rng).astype(np.float32)
    y, x = np.ogrid[0:420, 0:360]
    x = 359 - x if rng.integers(2) else x
    y = 419 - y if rng.integers(2) else y
    photo[x + y < rng.uniform(100, 180)] *= 0.45
    return encode(Image.fromarray(photo.clip(0, 255).astype(np.uint8)), "JPEG", quality=85)


# -- photos of real desks: tight crops, tables, shadows, printed paper, pencil, clutter -------------
# Each picture draws its own camera, pen, paper and scene, so that a style covers many posts, not one.

PENS = ((25, 25, 35), (20, 30, 110), (40, 40, 45), (15, 25, 70), (60, 20, 30))  # black, blue, grey, navy, dark red


def pen_colour(rng: np.random.Generator) -> tuple[int, int, int]:
    return PENS[int(rng.integers(len(PENS)))]


def paper_colour(rng: np.random.Generator) -> np.ndarray:
    """White to cream paper, as a camera's white balance leaves it."""
    level = rng.uniform(200, 250)
    return np.array([level, level * rng.uniform(0.96, 1.0), level * rng.uniform(0.88, 1.0)], np.float32)


def camera(photo: np.ndarray, rng: np.random.Generator) -> bytes:
    """A photo as a phone stores it: JPEG at some quality."""
    return encode(Image.fromarray(photo.clip(0, 255).astype(np.uint8)), "JPEG", quality=int(rng.integers(70, 96)))


def snapshot(ink: np.ndarray, rng: np.random.Generator, paper: np.ndarray | None = None, ink_colour=None) -> np.ndarray:
    """`on_paper` with this picture's own paper, pen, lighting and sensor noise (float32 RGB)."""
    paper = paper_colour(rng) if paper is None else paper
    colour = pen_colour(rng) if ink_colour is None else ink_colour
    return on_paper(ink, rng, ink_colour=colour, paper=paper, gradient=rng.uniform(0.05, 0.4), noise=rng.uniform(2, 8)).astype(np.float32)


def smooth_noise(shape: tuple[int, int], rng: np.random.Generator, cells: int) -> np.ndarray:
    """Noise in [-1, 1] that varies smoothly over about `cells` cells a side."""
    coarse = rng.uniform(-1, 1, (cells, cells)).astype(np.float32)
    return np.asarray(Image.fromarray(coarse).resize(shape[::-1], Image.Resampling.BICUBIC)).clip(-1, 1)


def ink_box(ink: np.ndarray) -> tuple[int, int, int, int]:
    """Top, bottom, left, right (exclusive) of the visible ink."""
    rows, cols = np.flatnonzero(ink.max(axis=1) > 0.15), np.flatnonzero(ink.max(axis=0) > 0.15)
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def cropped_tight(digit: np.ndarray, scale: int, rng: np.random.Generator) -> np.ndarray:
    """The digit's ink at `scale` pixels per MNIST pixel, cropped to its bounding box give or take up to 3 MNIST pixels."""
    ink = upscale(digit, 28 * scale)
    top, bottom, left, right = ink_box(ink)
    margins = (rng.uniform(-0.5, 3.0, 4) * scale).round().astype(int)
    ink = np.pad(ink, 4 * scale)
    return ink[top + 4 * scale - margins[0] : bottom + 4 * scale + margins[1], left + 4 * scale - margins[2] : right + 4 * scale + margins[3]]


def line_coverage(position: np.ndarray, spacing: float, width: float, rng: np.random.Generator) -> np.ndarray:
    """Antialiased parallel lines `width` pixels wide every `spacing` pixels of `position`."""
    offset = (position - rng.uniform(0, spacing)) % spacing
    distance = np.minimum(offset, spacing - offset)
    return np.clip(width / 2 + 0.5 - distance, 0.0, 1.0)


def printed_paper(shape: tuple[int, int], digit_size: float, rng: np.random.Generator, squared: bool) -> np.ndarray:
    """Ruled (or squared) paper: light blue or grey lines a fraction of the digit's height apart, slightly askew."""
    y, x = np.indices(shape, dtype=np.float32)
    tilt = rng.uniform(-0.04, 0.04)
    spacing = digit_size * rng.uniform(0.22, 0.5 if squared else 0.7)
    width = rng.uniform(1.0, 3.0)
    lines = line_coverage(y + tilt * x, spacing, width, rng)
    if squared:
        lines = np.maximum(lines, line_coverage(x - tilt * y, spacing, width, rng))
    paper = paper_colour(rng)
    blue = rng.random() < 0.6
    line = np.array([rng.uniform(140, 190), rng.uniform(170, 205), rng.uniform(215, 245)] if blue else [rng.uniform(150, 200)] * 3, np.float32)
    surface = paper * (1 - lines[..., np.newaxis]) + line * lines[..., np.newaxis]
    if not squared and rng.random() < 0.3:
        # The red margin line of a school exercise book.
        column = rng.uniform(0.05, 0.25) * shape[1]
        red = np.clip(rng.uniform(1.5, 3.0) / 2 + 0.5 - np.abs(x - tilt * y - column), 0.0, 1.0)[..., np.newaxis]
        surface = surface * (1 - red) + np.array([220, 110, 120], np.float32) * red
    return surface


def table_surface(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A table: dark to light, grey or wood-coloured, often with wood grain."""
    hues = ((1.0, 0.78, 0.55), (1.0, 1.0, 1.0), (0.9, 0.92, 1.0), (1.0, 0.85, 0.7))
    colour = 235 * rng.uniform(0.15, 0.9) * np.array(hues[int(rng.integers(len(hues)))], np.float32)
    if rng.random() < 0.4:
        return np.broadcast_to(colour, (*shape, 3)).astype(np.float32)
    y, x = np.indices(shape, dtype=np.float32)
    angle = rng.uniform(-0.3, 0.3) + (np.pi / 2 if rng.random() < 0.5 else 0.0)
    across = x * np.cos(angle) + y * np.sin(angle)
    grain = 1 + rng.uniform(0.05, 0.2) * np.sin(2 * np.pi * across / rng.uniform(5, 20) + 3 * smooth_noise(shape, rng, 4))
    return colour * grain[..., np.newaxis]


def tight_crop_photo(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    """A phone photo cropped so tightly that the digit fills the frame."""
    return camera(snapshot(cropped_tight(digit, int(rng.integers(6, 13)), rng), rng), rng)


def tight_crop_drawing(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    """A drawing-app export trimmed to the strokes, in black or a colour."""
    ink = cropped_tight(digit, int(rng.integers(3, 17)), rng)[..., np.newaxis]
    colour = np.asarray(pen_colour(rng) if rng.random() < 0.5 else (0, 0, 0), np.float32)
    return encode(Image.fromarray((255 * (1 - ink) + colour * ink).round().astype(np.uint8)), "PNG")


def wide_table(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    """The paper on a table that covers up to 35 % of the picture on one or two sides, its edges slightly askew."""
    shape = (int(rng.integers(320, 420)), int(rng.integers(280, 380)))
    y, x = np.indices(shape, dtype=np.float32)
    paper = np.ones(shape, bool)
    inner = [0.0, float(shape[0]), 0.0, float(shape[1])]  # top, bottom, left, right of the paper's sure part
    for side in rng.choice(4, size=int(rng.integers(1, 3)), replace=False):
        length, across = (shape[1], shape[0]) if side < 2 else (shape[0], shape[1])
        depth = rng.uniform(0.05, 0.35) * across
        tilt = rng.uniform(-0.06, 0.06)
        along, inward = (x, y) if side < 2 else (y, x)
        if side % 2:
            inward = across - 1 - inward
        paper &= inward >= depth + tilt * (along - length / 2)
        reach = depth + abs(tilt) * length / 2
        inner[side] = reach if side % 2 == 0 else across - reach
    height, width = inner[1] - inner[0], inner[3] - inner[2]
    size = int(min(height, width) * rng.uniform(0.6, 0.95))
    ink = np.zeros(shape, np.float32)
    top = int(inner[0] + rng.uniform(0, height - size))
    left = int(inner[2] + rng.uniform(0, width - size))
    ink[top : top + size, left : left + size] = upscale(digit, size)
    photo = snapshot(ink, rng)
    photo[~paper] = (table_surface(shape, rng) + rng.normal(0, 4, (*shape, 3)).astype(np.float32))[~paper]
    return camera(photo, rng)


def shadow_across(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    """A hard-edged shadow (a hand, the phone) whose edge runs across the digit itself."""
    shape, size = (400, 360), int(rng.integers(180, 300))
    ink = place(upscale(digit, size), shape, rng)
    top, bottom, left, right = ink_box(ink)
    photo = snapshot(ink, rng)
    y, x = np.indices(shape, dtype=np.float32)
    centre_y = (top + bottom) / 2 + rng.uniform(-0.25, 0.25) * size
    centre_x = (left + right) / 2 + rng.uniform(-0.25, 0.25) * size
    angle = rng.uniform(0, 2 * np.pi)
    across = (x - centre_x) * np.cos(angle) + (y - centre_y) * np.sin(angle)
    along = -(x - centre_x) * np.sin(angle) + (y - centre_y) * np.cos(angle)
    across += rng.uniform(-1, 1) * along**2 / 1500  # a gently curved edge
    shade = 1 - rng.uniform(0.3, 0.65) * 0.5 * (1 + np.tanh(across / rng.uniform(1, 12)))
    return camera(photo * shade[..., np.newaxis], rng)


def _on_printed_paper(digit: np.ndarray, rng: np.random.Generator, squared: bool) -> bytes:
    shape, size = (400, 360), int(rng.integers(180, 320))
    ink = place(upscale(digit, size), shape, rng)
    return camera(snapshot(ink, rng, paper=printed_paper(shape, size * 0.7, rng, squared)), rng)


def ruled_paper(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    """Written on lined paper: light blue or grey lines, sometimes a red margin."""
    return _on_printed_paper(digit, rng, squared=False)


def squared_paper(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    """Written on squared (grid) paper."""
    return _on_printed_paper(digit, rng, squared=True)


def pencil(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    """Pencil: grey, low-contrast, grainy strokes."""
    shape, size = (400, 360), int(rng.integers(160, 320))
    ink = place(upscale(digit, size), shape, rng)
    if rng.random() < 0.5:
        ink = ndimage.minimum_filter(ink, size=5, mode="nearest")  # a finer lead
    ink = ink * np.clip(rng.normal(0.75, 0.25, shape), 0, 1).astype(np.float32)  # graphite on the paper's grain
    paper = paper_colour(rng)
    lead = float(paper.mean()) - rng.uniform(55, 130)
    return camera(snapshot(ink, rng, paper=paper, ink_colour=(lead, lead, lead + 6)), rng)


def second_object(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    """Something else in the frame beside the digit: a pen, a coin or a smudge."""
    shape, size = (400, 360), int(rng.integers(150, 230))
    ink = place(upscale(digit, size), shape, rng)
    top, bottom, left, right = ink_box(ink)
    photo = snapshot(ink, rng)
    y, x = np.indices(shape, dtype=np.float32)
    kind = int(rng.integers(3))
    if kind == 2:
        # A smudge: a faint blurred blob anywhere, the digit included.
        centre, spread = rng.uniform(0, 1, 2) * shape, rng.uniform(15, 45)
        blob = np.exp(-((y - centre[0]) ** 2 + (x - centre[1]) ** 2) / (2 * spread**2))
        return camera(photo * (1 - rng.uniform(0.05, 0.2) * blob)[..., np.newaxis], rng)
    # Put the object in the widest free band between the digit and the picture's edge.
    free = {"top": top, "bottom": shape[0] - bottom, "left": left, "right": shape[1] - right}
    side = max(free, key=lambda name: free[name])
    band = free[side]
    if kind == 0:
        # A pen lying roughly along that edge, partly out of the frame.
        radius = rng.uniform(6, 14)
        offset = rng.uniform(-radius, max(0.6 * band - radius, 0))
        horizontal = side in ("top", "bottom")
        length = (shape[1] if horizontal else shape[0]) * rng.uniform(0.5, 0.9)
        start = rng.uniform(-0.2, 0.5) * (shape[1] if horizontal else shape[0])
        axis_position = {"top": offset, "bottom": shape[0] - offset, "left": offset, "right": shape[1] - offset}[side]
        along, across = (x, y) if horizontal else (y, x)
        tilt = rng.uniform(-0.05, 0.05)
        distance = np.hypot(np.clip(along, start, start + length) - along, across - axis_position - tilt * (along - start))
        cover = np.clip(radius + 0.5 - distance, 0, 1)
        body = np.array(PENS[int(rng.integers(len(PENS)))], np.float32) * rng.uniform(0.8, 2.5)
    else:
        # A coin near the edge: metallic grey with a darker rim.
        radius = rng.uniform(15, 35)
        depth = rng.uniform(-0.3, 0.6) * max(band - 2 * radius, 0)
        lateral = rng.uniform(0.1, 0.9)
        middle = {"top": (depth + radius, lateral * shape[1]), "bottom": (shape[0] - depth - radius, lateral * shape[1]),
                  "left": (lateral * shape[0], depth + radius), "right": (lateral * shape[0], shape[1] - depth - radius)}[side]
        distance = np.hypot(y - middle[0], x - middle[1])
        cover = np.clip(radius + 0.5 - distance, 0, 1)
        body = rng.uniform(100, 190) * (1 - 0.3 * np.clip(distance / radius - 0.8, 0, 1))[..., np.newaxis] * np.array([1.0, 0.95, 0.8], np.float32)
    photo = photo * (1 - cover[..., np.newaxis]) + body * cover[..., np.newaxis]
    return camera(photo, rng)


def paper_edge(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    """The sheet's edge in the frame: beyond it a surface about as bright as the paper, along it a thin shadow."""
    shape, size = (400, 360), int(rng.integers(160, 260))
    y, x = np.indices(shape, dtype=np.float32)
    side = int(rng.integers(4))
    across = (y, shape[0] - 1 - y, x, shape[1] - 1 - x)[side]
    along = x if side < 2 else y
    edge = rng.uniform(0.04, 0.2) * (shape[0] if side < 2 else shape[1]) + rng.uniform(-0.08, 0.08) * (along - along.mean())
    # The digit goes somewhere on the sheet's side of the edge.
    margin = int(edge.max()) + 2
    window = (shape[0] - margin, shape[1]) if side < 2 else (shape[0], shape[1] - margin)
    ink = np.zeros(shape, np.float32)
    placed = place(upscale(digit, min(size, *window)), window, rng)
    if side % 2 == 0:
        ink[-window[0] :, -window[1] :] = placed
    else:
        ink[: window[0], : window[1]] = placed
    photo = snapshot(ink, rng)
    beyond = (across < edge)[..., np.newaxis]
    surface = table_surface(shape, rng) if rng.random() < 0.5 else np.broadcast_to(photo.mean(axis=(0, 1)) * rng.uniform(0.75, 1.08), photo.shape)
    photo = np.where(beyond, surface + rng.normal(0, 4, photo.shape).astype(np.float32), photo)
    shadow = np.clip(rng.uniform(1, 4) / 2 + 0.5 - np.abs(across - edge), 0, 1)[..., np.newaxis]
    return camera(photo * (1 - rng.uniform(0.2, 0.6) * shadow), rng)


Style = Callable[[np.ndarray, np.random.Generator], bytes]

# The photos of issue 24's photo mix: phone photos of paper, as they come (tables, shadows, printed paper, pencil).
PHOTO_STYLES: tuple[Style, ...] = (phone_photo, paper_on_table, shadowed_corner, tight_crop_photo, wide_table,
                                   shadow_across, ruled_paper, squared_paper, pencil, second_object, paper_edge,
                                   white_on_black_photo)


def phone_photo_mix(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    """One of the photo styles, as a phone sends it: a JPEG 160 to 1,200 pixels on its long side (issue 24's mix)."""
    photo = Image.open(io.BytesIO(PHOTO_STYLES[int(rng.integers(len(PHOTO_STYLES)))](digit, rng))).convert("RGB")
    scale = int(rng.integers(160, 1201)) / max(photo.size)
    photo = photo.resize((max(1, round(photo.width * scale)), max(1, round(photo.height * scale))), Image.Resampling.BICUBIC)
    return encode(photo, "JPEG", quality=int(rng.integers(75, 96)))

USER_IMAGE_STYLES: dict[str, Style] = {
    "phone_photo": phone_photo,
    "paper_on_table": paper_on_table,
    "shadowed_corner": shadowed_corner,
    "drawing_1000": drawing_1000,
    "off_centre": off_centre,
    "jpeg_q40": jpeg_q40,
    "transparent_canvas": transparent_canvas,
    "coloured_ink": coloured_ink,
    "thin_strokes": thin_strokes,
    "thick_strokes": thick_strokes,
    "tiny_mnist": tiny_mnist,
    "tiny_inverted": tiny_inverted,
    "exif_rotated": exif_rotated,
    "gif_first_frame": gif_first_frame,
    "palette_png": palette_png,
    "sixteen_bit": sixteen_bit,
    "cmyk_tiff": cmyk_tiff,
    "cmyk_jpeg": cmyk_jpeg,
    "grey_alpha": grey_alpha,
    "white_on_black_photo": white_on_black_photo,
    "tight_crop_photo": tight_crop_photo,
    "tight_crop_drawing": tight_crop_drawing,
    "wide_table": wide_table,
    "shadow_across": shadow_across,
    "ruled_paper": ruled_paper,
    "squared_paper": squared_paper,
    "pencil": pencil,
    "second_object": second_object,
    "paper_edge": paper_edge,
}


# -- numbers: several digits in one picture ---------------------------------------------------------


def number_ink(digits: list[np.ndarray], rng: np.random.Generator, height: int = 160,
               gaps: tuple[float, float] = (-0.02, 0.5), pen: float = 0.0,
               sizes: tuple[float, float] = (0.8, 1.15)) -> np.ndarray:
    """Ink coverage of MNIST digits written left to right, as a person would: size (shares of `height`), baseline
    and slant vary from digit to digit, and the gaps between them (shares of the height) run from touching to wide.
    A `pen` below 0 draws thinner strokes (-1: by a 40th of the height each side), above 0 thicker."""
    slant = rng.uniform(-0.25, 0.25)  # one writer, one slant: shared by the digits, with a little wobble
    pieces = []
    for digit in digits:
        size = int(height * rng.uniform(*sizes))
        ink = Image.fromarray(digit).resize((size, size), Image.Resampling.BICUBIC)
        if reach := round(abs(pen) * size / 40):
            extreme = ndimage.minimum_filter if pen < 0 else ndimage.maximum_filter
            ink = Image.fromarray(extreme(np.asarray(ink), size=2 * reach + 1, mode="nearest"))
        shear = slant + rng.uniform(-0.05, 0.05)
        ink = ink.transform(ink.size, Image.Transform.AFFINE, (1, shear, -shear * size / 2, 0, 1, 0), Image.Resampling.BILINEAR)
        coverage = np.asarray(ink, np.float32) / 255.0
        columns = np.flatnonzero(coverage.max(axis=0) > 0.1)
        pieces.append(coverage[:, columns[0]:columns[-1] + 1] if columns.size else coverage)
    canvas_height = int(height * 1.6)
    spaces = [int(height * rng.uniform(*gaps)) for _ in pieces]
    width = sum(p.shape[1] for p in pieces) + sum(max(0, gap) for gap in spaces) + height
    canvas = np.zeros((canvas_height, width), np.float32)
    left = height // 2
    for piece, gap in zip(pieces, spaces):
        top = int((canvas_height - piece.shape[0]) / 2 + rng.uniform(-0.08, 0.08) * height)
        region = canvas[top:top + piece.shape[0], left:left + piece.shape[1]]
        np.maximum(region, piece[: region.shape[0], : region.shape[1]], out=region)
        left += piece.shape[1] + gap
    return canvas[:, : left + height // 2 - max(spaces[-1], 0)]


def number_paper_photo(digits: list[np.ndarray], rng: np.random.Generator) -> bytes:
    ink = number_ink(digits, rng)
    frame = np.pad(ink, ((int(rng.integers(20, 80)),) * 2, (int(rng.integers(20, 80)),) * 2))
    return encode(Image.fromarray(on_paper(frame, rng)), "JPEG", quality=int(rng.integers(70, 92)))


def number_drawing(digits: list[np.ndarray], rng: np.random.Generator) -> bytes:
    return encode(black_on_white(number_ink(digits, rng, height=int(rng.integers(80, 240)))), "PNG")


def number_light_on_dark(digits: list[np.ndarray], rng: np.random.Generator) -> bytes:
    ink = np.pad(number_ink(digits, rng), 30)
    photo = on_paper(ink, rng, ink_colour=(235, 235, 230), paper=(35, 40, 50), gradient=0.25, noise=5)
    return encode(Image.fromarray(photo), "JPEG", quality=85)


NumberStyle = Callable[[list[np.ndarray], np.random.Generator], bytes]


# -- harder numbers, for tuning what a look at other hands found missing (issue 24): digits that vanish -----------


def _photo_or_drawing(ink: np.ndarray, rng: np.random.Generator) -> bytes:
    """The ink as one of the three number styles: a paper photo, a drawing-app export or light on dark."""
    kind = int(rng.integers(3))
    if kind == 0:
        frame = np.pad(ink, ((int(rng.integers(20, 80)),) * 2, (int(rng.integers(20, 80)),) * 2))
        return encode(Image.fromarray(on_paper(frame, rng)), "JPEG", quality=int(rng.integers(70, 92)))
    if kind == 1:
        return encode(black_on_white(np.pad(ink, 10)), "PNG")
    photo = on_paper(np.pad(ink, 30), rng, ink_colour=(235, 235, 230), paper=(35, 40, 50), gradient=0.25, noise=5)
    return encode(Image.fromarray(photo), "JPEG", quality=85)


def number_thin_pen(digits: list[np.ndarray], rng: np.random.Generator) -> bytes:
    """Written with a thin pen (strokes thinned by up to a 40th of the height each side), spacing as usual, sizes
    varying more (0.7 to 1.4 of the height: a 1 may stand well above its neighbours)."""
    return _photo_or_drawing(number_ink(digits, rng, height=int(rng.integers(80, 200)), pen=-rng.uniform(0.3, 0.7),
                                        sizes=(0.7, 1.4)), rng)


def number_touching(digits: list[np.ndarray], rng: np.random.Generator) -> bytes:
    """Digits written close: neighbours touching or overlapping by up to a tenth of the height."""
    return _photo_or_drawing(number_ink(digits, rng, height=int(rng.integers(80, 200)), gaps=(-0.1, 0.03),
                                        pen=rng.uniform(-0.5, 0.5)), rng)


def number_small_in_big(digits: list[np.ndarray], rng: np.random.Generator) -> bytes:
    """A number 25 to 110 pixels high somewhere in a picture 1,400 to 2,000 pixels long, wide or tall: a drawing-app
    canvas (PNG) or a paper photo (JPEG; ruled or squared paper in half of them, a little out of focus)."""
    height = int(rng.integers(25, 110))
    ink = number_ink(digits, rng, height=height, pen=rng.uniform(-0.5, 0.5))
    long_side, aspect = int(rng.integers(1400, 2001)), rng.uniform(1.3, 3.0)
    shape = (long_side, max(ink.shape[1] + 20, int(long_side / aspect)))
    if rng.random() < 0.5:
        shape = (max(ink.shape[0] + 20, shape[1]), shape[0])
    canvas = place(ink, shape, rng)
    if rng.random() < 0.5:
        return encode(black_on_white(canvas), "PNG")
    paper = printed_paper(shape, height, rng, squared=rng.random() < 0.4) if rng.random() < 0.5 else None
    photo = Image.fromarray(snapshot(canvas, rng, paper=paper).clip(0, 255).astype(np.uint8))
    return camera(np.asarray(photo.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.2))), np.float32), rng)


# Tuned on, like NUMBER_STYLES; their numbers have a lone one (`samples.numbers.numbers(lone_ones=True)`).
HARD_NUMBER_STYLES: dict[str, NumberStyle] = {
    "thin_pen": number_thin_pen,
    "touching": number_touching,
    "small_in_big": number_small_in_big,
}

NUMBER_STYLES: dict[str, NumberStyle] = {
    "paper_photo": number_paper_photo,
    "drawing": number_drawing,
    "light_on_dark": number_light_on_dark,
}


def number_photo_4000x3000(digits: list[np.ndarray], rng: np.random.Generator) -> bytes:
    """A 12-megapixel phone photo of a number, made like `photo_4000x3000`."""
    ink = number_ink(digits, rng, height=120)
    canvas = np.zeros((750, 1000), np.float32)
    height, width = min(ink.shape[0], 750), min(ink.shape[1], 1000)
    top, left = (750 - height) // 2, (1000 - width) // 2
    canvas[top:top + height, left:left + width] = ink[:height, :width]
    photo = Image.fromarray(on_paper(canvas, rng, noise=4)).resize((4000, 3000), Image.Resampling.NEAREST)
    return encode(photo, "JPEG", quality=90)
