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


# -- encoding -------------------------------------------------------------------------------------


def encode(image: Image.Image, format: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format, **options)
    return buffer.getvalue()


def upscale(digit: np.ndarray, size: int) -> np.ndarray:
    """The digit's ink coverage in [0, 1], smoothly upscaled to size×size."""
    return np.asarray(Image.fromarray(digit).resize((size, size), Image.Resampling.BICUBIC), np.float32).clip(0, 255) / 255.0


def on_paper(
    ink: np.ndarray, rng: np.random.Generator, ink_colour=(25, 25, 35), paper=(235, 230, 220), gradient: float = 0.35, noise: float = 6.0
) -> np.ndarray:
    """Ink coverage as an RGB photo of ink on paper: lit unevenly from one corner, with sensor noise."""
    height, width = ink.shape
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = (np.cos(angle) * x / width + np.sin(angle) * y / height)
    light = 1.0 - gradient * (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)
    cover = ink[..., np.newaxis]
    colour = np.asarray(paper, np.float32) * (1 - cover) + np.asarray(ink_colour, np.float32) * cover
    photo = colour * light[..., np.newaxis] + rng.normal(0, noise, colour.shape).astype(np.float32)
    return photo.clip(0, 255).astype(np.uint8)


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
    ink = Image.fromarray((upscale(digit, 280) * 255).astype(np.uint8)).filter(ImageFilter.MinFilter(7))
    return encode(black_on_white(np.asarray(ink, np.float32) / 255), "PNG")


def thick_strokes(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    ink = Image.fromarray((upscale(digit, 280) * 255).astype(np.uint8)).filter(ImageFilter.MaxFilter(11))
    return encode(black_on_white(np.asarray(ink, np.float32) / 255), "PNG")


def tiny_mnist(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    return encode(Image.fromarray(digit), "PNG")


def tiny_inverted(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    return encode(Image.fromarray(255 - digit), "PNG")


def photo_4000x3000(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    """A 12-megapixel phone photo (made at 1000×750 and enlarged: noise at full size would take seconds per image)."""
    ink = np.zeros((750, 1000), np.float32)
    ink[125:625, 250:750] = upscale(digit, 500)
    photo = Image.fromarray(on_paper(ink, rng, noise=4)).resize((4000, 3000), Image.Resampling.BILINEAR)
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
    y, x = np.mgrid[0:420, 0:360]
    x = 359 - x if rng.integers(2) else x
    y = 419 - y if rng.integers(2) else y
    photo[x + y < rng.uniform(100, 180)] *= 0.45
    return encode(Image.fromarray(photo.clip(0, 255).astype(np.uint8)), "JPEG", quality=85)


Style = Callable[[np.ndarray, np.random.Generator], bytes]

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
}


# -- numbers: several digits in one picture ---------------------------------------------------------


def number_ink(digits: list[np.ndarray], rng: np.random.Generator, height: int = 160) -> np.ndarray:
    """Ink coverage of MNIST digits written left to right, as a person would: size, baseline and slant vary
    from digit to digit, and the gaps between them run from touching to wide."""
    slant = rng.uniform(-0.25, 0.25)  # one writer, one slant: shared by the digits, with a little wobble
    pieces = []
    for digit in digits:
        size = int(height * rng.uniform(0.8, 1.15))
        ink = Image.fromarray(digit).resize((size, size), Image.Resampling.BICUBIC)
        shear = slant + rng.uniform(-0.05, 0.05)
        ink = ink.transform(ink.size, Image.Transform.AFFINE, (1, shear, -shear * size / 2, 0, 1, 0), Image.Resampling.BILINEAR)
        coverage = np.asarray(ink, np.float32) / 255.0
        columns = np.flatnonzero(coverage.max(axis=0) > 0.1)
        pieces.append(coverage[:, columns[0]:columns[-1] + 1] if columns.size else coverage)
    canvas_height = int(height * 1.6)
    gaps = [int(height * rng.uniform(-0.02, 0.5)) for _ in pieces]
    width = sum(p.shape[1] for p in pieces) + sum(gaps) + height
    canvas = np.zeros((canvas_height, width), np.float32)
    left = height // 2
    for piece, gap in zip(pieces, gaps):
        top = int((canvas_height - piece.shape[0]) / 2 + rng.uniform(-0.08, 0.08) * height)
        region = canvas[top:top + piece.shape[0], left:left + piece.shape[1]]
        np.maximum(region, piece[: region.shape[0], : region.shape[1]], out=region)
        left += piece.shape[1] + gap
    return canvas[:, : left + height // 2 - max(gaps[-1], 0)]


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
    photo = Image.fromarray(on_paper(canvas, rng, noise=4)).resize((4000, 3000), Image.Resampling.BILINEAR)
    return encode(photo, "JPEG", quality=90)
