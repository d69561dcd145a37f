"""What reading one picture costs in memory: the worst pictures under the limits, measured in a fresh process each."""

from __future__ import annotations

import math
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from digits.reading import ImageLimits
from samples import pictures as styles
from tests.fixtures.hostile import png_of_zeros, tall_png
from tests.fixtures.mnist import REPO

pytestmark = pytest.mark.timeout(300)

# What one picture may cost over the baseline: the decoding budget, and a few MB of tiles and decoder state.
MAX_COST_MB = ImageLimits().max_decoded_bytes / 2**20 + 8
MEGAPIXELS_40 = (6320, 6320)  # just under the 40-megapixel limit
MNIST_ONE = np.zeros((28, 28), np.uint8)
MNIST_ONE[4:24, 12:16] = 255

# Linux keeps ru_maxrss across exec (the child would start at this process's peak), so the child reads the peak
# of its own memory map, VmHWM, which writing 5 to clear_refs resets to the resident size.
MEASURE = """
import io, sys
from pathlib import Path
from PIL import Image, ImageDraw
from digits.reading import ImageError, to_mnist

def status(field):
    line = next(l for l in Path("/proc/self/status").read_text().splitlines() if l.startswith(field + ":"))
    return int(line.split()[1]) / 1024

warm = Image.new("L", (300, 300), 255)
ImageDraw.Draw(warm).line([(150, 60), (150, 240)], fill=0, width=20)
buffer = io.BytesIO()
warm.save(buffer, "PNG")
to_mnist(buffer.getvalue())  # every import and cache in place before measuring
data = Path(sys.argv[1]).read_bytes()
Path("/proc/self/clear_refs").write_text("5")
before = status("VmRSS")
try:
    to_mnist(data)
    outcome = "read"
except ImageError as error:
    outcome = str(error)
print(status("VmHWM") - before, outcome)
"""


def digit(size: tuple[int, int]) -> Image.Image:
    """A '1' drawn black on white."""
    image = Image.new("L", size, 255)
    ImageDraw.Draw(image).line([(size[0] // 2, size[1] // 5), (size[0] // 2, 4 * size[1] // 5)], fill=0, width=size[0] // 20)
    return image


def largest(bytes_per_pixel: int) -> tuple[int, int]:
    """The largest square the decoding budget admits at this cost per pixel, and Pillow's pointer per row."""
    side = math.isqrt(ImageLimits().max_decoded_bytes // bytes_per_pixel)
    while side * side * bytes_per_pixel + 8 * side > ImageLimits().max_decoded_bytes:
        side -= 1
    return side, side


def rle8_bmp(size: tuple[int, int]) -> bytes:
    """An 8-bit run-length-encoded BMP of one grey: a few bytes a row, whatever its width."""
    width, height = size
    row = bytes([255, 200]) * (width // 255) + bytes([width % 255, 200]) + b"\0\0"
    pixels = row * height + b"\0\1"
    palette = b"".join(bytes([i, i, i, 0]) for i in range(256))
    offset = 14 + 40 + len(palette)
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 8, 1, len(pixels), 2835, 2835, 256, 0)
    return b"BM" + struct.pack("<IHHI", offset + len(pixels), 0, 0, offset) + info + palette + pixels


def rotated_palette_png(size: tuple[int, int]) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to view
    return styles.encode(digit(size).convert("P"), "PNG", exif=exif)


CASES: dict[str, tuple[Callable[[], bytes], bool]] = {
    # name: (the picture's bytes, whether it is read (else refused before decoding))
    "lossless WebP, 40 MP": (lambda: styles.encode(digit(MEGAPIXELS_40).convert("RGB"), "WEBP", lossless=True), False),
    "lossless WebP, largest": (lambda: styles.encode(digit(largest(16)).convert("RGB"), "WEBP", lossless=True), True),
    "RGBA PNG, largest": (lambda: styles.encode(digit(largest(4)).convert("RGBA"), "PNG"), True),
    "16-bit RGBA PNG, 40 MP": (lambda: png_of_zeros(MEGAPIXELS_40, 16, 6, 4), False),
    "16-bit grey PNG, 40 MP": (lambda: styles.encode(digit(MEGAPIXELS_40).convert("I").convert("I;16"), "PNG"), True),
    "palette PNG turned by EXIF, 40 MP": (lambda: rotated_palette_png(MEGAPIXELS_40), True),
    "one-strip float TIFF, largest": (  # 4 bytes a pixel of picture, 8 of libtiff's strip
        lambda: styles.encode(digit(largest(12)).convert("F"), "TIFF", compression="tiff_adobe_deflate", strip_size=2**40), True),
    "progressive CMYK JPEG, 40 MP": (lambda: styles.encode(digit(MEGAPIXELS_40).convert("CMYK"), "JPEG", progressive=True), False),
    "progressive JPEG, largest": (  # 6 bytes a pixel of coefficients, and the picture drafted to 1/64
        lambda: styles.encode(digit(largest(2 * 3 + 1)).convert("RGB"), "JPEG", progressive=True, subsampling=0), True),
    "RLE BMP, 40 MP": (lambda: rle8_bmp(MEGAPIXELS_40), False),
    # Pillow keeps a pointer to each row: 39 million rows cost 312 MB beside 39 MB of pixels (issue 25 item 3).
    "PNG 1 pixel wide, 39 M rows": (tall_png, False),
    "PNG 1 pixel wide, largest": (lambda: png_of_zeros((1, ImageLimits().max_decoded_bytes // 9), 8, 0, 1), True),
    "RLE BMP, largest": (lambda: rle8_bmp(largest(3)), True),
    "4000×3000 JPEG photo": (lambda: styles.photo_4000x3000(MNIST_ONE, np.random.default_rng(0)), True),
}


@pytest.mark.parametrize("name", CASES)
def test_one_picture_costs_at_most_the_decoding_budget(name: str, tmp_path: Path) -> None:
    make, read = CASES[name]
    picture = tmp_path / "picture"
    picture.write_bytes(make())
    assert picture.stat().st_size <= ImageLimits().max_bytes
    result = subprocess.run([sys.executable, "-c", MEASURE, str(picture)],
                            capture_output=True, text=True, cwd=REPO, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    cost, outcome = result.stdout.strip().split(" ", 1)
    assert float(cost) <= MAX_COST_MB, f"+{float(cost):.0f} MB: {outcome}"
    assert outcome.startswith("the image is too large to decode") != read, outcome
