"""Image decoding and the MNIST framing: limits, bad input, modes, and the shape of what comes out."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from digits.reading import ImageError, ImageLimits, to_mnist
from samples import pictures as styles


@pytest.fixture(scope="module")
def digits(test_digits: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    images, labels = test_digits
    return images[:50], labels[:50]


def png(image: Image.Image) -> bytes:
    return styles.encode(image, "PNG")


def huge_png_header(width: int, height: int) -> bytes:
    """A PNG that declares width×height pixels but holds only a few bytes of them."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 100)) + chunk(b"IEND", b"")


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    mass = image.astype(np.float64)
    rows, cols = np.indices(image.shape)
    return float((rows * mass).sum() / mass.sum()), float((cols * mass).sum() / mass.sum())


# -- what comes out -------------------------------------------------------------------------------


def test_output_follows_the_mnist_convention(digits: tuple[np.ndarray, np.ndarray]) -> None:
    rng = np.random.default_rng(3)
    for digit in digits[0][:20]:
        out = to_mnist(styles.phone_photo(digit, rng))
        assert out.shape == (28, 28) and out.dtype == np.uint8
        rows, cols = np.flatnonzero(out.any(axis=1)), np.flatnonzero(out.any(axis=0))
        # Fitted to 20 pixels on its longer side (antialiasing may add a faint pixel at an edge).
        assert 19 <= max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1) <= 22
        cy, cx = centre_of_mass(out)
        assert abs(cy - 14) <= 0.6 and abs(cx - 14) <= 0.6
        assert out.max() == 255 and out[0].max() == 0 and out[:, 0].max() == 0  # white digit on black


def test_mnist_digit_comes_back_nearly_unchanged(digits: tuple[np.ndarray, np.ndarray]) -> None:
    for digit in digits[0][:20]:
        out = to_mnist(png(Image.fromarray(digit))).astype(np.float64)
        # Same digit, same place: most pixels agree closely.
        assert np.mean(np.abs(out - digit)) < 20


def test_both_polarities_give_the_same_digit(digits: tuple[np.ndarray, np.ndarray]) -> None:
    digit = digits[0][0]
    white_on_black = to_mnist(png(Image.fromarray(digit))).astype(np.int16)
    black_on_white = to_mnist(png(Image.fromarray(255 - digit))).astype(np.int16)
    assert np.abs(white_on_black - black_on_white).max() <= 8


def test_the_table_around_the_paper_is_set_aside(digits: tuple[np.ndarray, np.ndarray]) -> None:
    rng = np.random.default_rng(5)
    for digit in digits[0][:10]:
        ink = np.pad(styles.place(styles.upscale(digit, 240), (360, 320), rng), ((0, 0), (60, 0)))
        photo = styles.on_paper(ink, rng)
        on_table = photo.copy()
        on_table[:, :60] = 60  # the dark table beside the paper
        alone, beside_table = (to_mnist(png(Image.fromarray(p))).astype(np.float64) for p in (photo, on_table))
        assert np.mean(np.abs(alone - beside_table)) < 10


def test_a_digit_cropped_to_the_edges_is_kept(digits: tuple[np.ndarray, np.ndarray]) -> None:
    for digit in digits[0][:20]:
        rows, cols = np.flatnonzero(digit.any(axis=1)), np.flatnonzero(digit.any(axis=0))
        cropped = digit[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]  # every edge touches the digit
        whole, tight = (to_mnist(png(Image.fromarray(255 - d))).astype(np.float64) for d in (digit, cropped))
        assert np.mean(np.abs(whole - tight)) < 20


def test_exif_orientation_is_applied(digits: tuple[np.ndarray, np.ndarray]) -> None:
    digit = digits[0][0]
    upright = to_mnist(styles.encode(styles.black_on_white(styles.upscale(digit, 200)).convert("RGB"), "JPEG", quality=95)).astype(np.int16)
    stored = styles.black_on_white(styles.upscale(digit, 200)).convert("RGB").transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to view"
    rotated = to_mnist(styles.encode(stored, "JPEG", quality=95, exif=exif)).astype(np.int16)
    assert np.mean(np.abs(rotated - upright)) < 6
    assert np.mean(np.abs(np.rot90(rotated) - upright)) > 20  # the digit is not symmetric: the check means something


def test_gif_uses_the_first_frame(digits: tuple[np.ndarray, np.ndarray]) -> None:
    first = Image.fromarray(255 - digits[0][0]).convert("P")
    second = Image.fromarray(255 - digits[0][1]).convert("P")
    animated = styles.encode(first, "GIF", save_all=True, append_images=[second], duration=100)
    only_first = styles.encode(first, "GIF")
    assert np.array_equal(to_mnist(animated), to_mnist(only_first))


@pytest.mark.parametrize("colour", [(0, 0, 0), (255, 255, 255), (200, 30, 30), (255, 230, 0)])
def test_strokes_on_a_transparent_canvas_count_whatever_their_colour(colour, digits) -> None:
    digit = digits[0][0]
    rgba = np.zeros((*digit.shape, 4), np.uint8)
    rgba[..., :3] = colour
    rgba[..., 3] = digit
    out = to_mnist(png(Image.fromarray(rgba, "RGBA"))).astype(np.int16)
    reference = to_mnist(png(Image.fromarray(digit))).astype(np.int16)
    assert np.abs(out - reference).max() <= 8


@pytest.mark.parametrize("mode", ["1", "L", "P", "RGB", "RGBA", "LA", "PA", "I", "I;16", "F", "CMYK"])
def test_every_common_mode_is_read(mode: str, digits) -> None:
    image = styles.black_on_white(styles.upscale(digits[0][0], 84))
    if mode in ("I", "I;16", "F", "CMYK", "PA"):
        image = image.convert("RGB" if mode in ("CMYK", "PA") else "L").convert(mode if mode != "PA" else "P")
        if mode == "PA":
            image = image.convert("PA")
    else:
        image = image.convert(mode)
    data = styles.encode(image, "TIFF" if mode in ("I", "F", "CMYK", "PA") else "PNG")
    out = to_mnist(data)
    reference = to_mnist(png(Image.fromarray(digits[0][0])))
    assert np.mean(np.abs(out.astype(np.int16) - reference)) < 25


@pytest.mark.parametrize(
    ("paper", "ink"),
    [(0.0, 1e-40), (1e-45, 0.0), (-3e38, 3e38), (3.4e38, -3.4e38), (-3.4e38, 0.0)],
    ids=["subnormal-ink", "subnormal-paper", "overflowing-range", "dark-ink-full-range", "lowest-paper"],
)
def test_float_pictures_of_any_range_are_read(paper: float, ink: float, digits) -> None:
    coverage = styles.upscale(digits[0][0], 84).astype(np.float64)
    pixels = (paper + (ink - paper) * coverage).astype(np.float32)
    out = to_mnist(styles.encode(Image.fromarray(pixels, "F"), "TIFF"))
    reference = to_mnist(png(Image.fromarray(digits[0][0])))
    assert np.mean(np.abs(out.astype(np.int16) - reference)) < 25


def test_a_float_picture_whose_ink_is_a_subnormal_step_beside_one_bright_pixel_is_empty(digits) -> None:
    # Stretched to 0..255 by its one bright pixel, the ink is 2.5e-39 from the paper: nothing a viewer would see
    # (issue 25 item 11: Otsu's threshold divided by a subnormal step and raised ValueError).
    coverage = styles.upscale(digits[0][0], 300).astype(np.float64)
    pixels = (-1e-36 * coverage).astype(np.float32)
    pixels[0, 0] = 1e5
    with pytest.raises(ImageError, match="no digit found"):
        to_mnist(styles.encode(Image.fromarray(pixels, "F"), "TIFF"))


def test_jpeg_photos_are_decoded_at_reduced_scale_and_still_read(digits) -> None:
    photo = styles.photo_4000x3000(digits[0][0], np.random.default_rng(0))
    assert Image.open(io.BytesIO(photo)).size == (4000, 3000)
    out = to_mnist(photo)
    assert np.mean(np.abs(out.astype(np.int16) - to_mnist(png(Image.fromarray(digits[0][0]))))) < 25


# -- refusals -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"hello, this is text and not a picture", "not an image"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 40, "not an image"),
    ],
)
def test_non_images_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(ImageError, match=message):
        to_mnist(data)


@pytest.mark.parametrize("format", ["PNG", "JPEG", "GIF", "TIFF", "WEBP", "BMP"])
def test_truncated_files_are_refused(format: str, digits) -> None:
    data = styles.encode(styles.black_on_white(styles.upscale(digits[0][0], 300)).convert("RGB" if format == "JPEG" else "L"), format)
    with pytest.raises(ImageError):
        to_mnist(data[: len(data) // 2])


def test_files_over_the_byte_limit_are_refused(digits) -> None:
    data = png(Image.fromarray(digits[0][0]))
    with pytest.raises(ImageError, match="too large"):
        to_mnist(data, ImageLimits(max_bytes=len(data) - 1))
    assert to_mnist(data, ImageLimits(max_bytes=len(data))).shape == (28, 28)


@pytest.mark.parametrize("size", [(8000, 8000), (20000, 20000)])
def test_pixel_bombs_are_refused_before_decoding(size: tuple[int, int]) -> None:
    # The data holds almost none of the pixels it declares: had they been decoded, the error would say "damaged".
    with pytest.raises(ImageError, match="too many pixels|too large"):
        to_mnist(huge_png_header(*size))


def test_the_pixel_limit_is_configurable(digits) -> None:
    data = png(Image.fromarray(digits[0][0]))
    with pytest.raises(ImageError, match=r"28×28 pixels"):
        to_mnist(data, ImageLimits(max_pixels=28 * 28 - 1))


@pytest.mark.parametrize(
    "blank",
    [
        Image.new("L", (300, 200), 255),
        Image.new("L", (28, 28), 0),
        Image.new("RGBA", (100, 100), (0, 0, 0, 0)),
        Image.fromarray(np.linspace(60, 240, 400 * 300).reshape(300, 400).astype(np.uint8)),  # lighting, no ink
        Image.fromarray(np.random.default_rng(0).normal(200, 6, (300, 400)).clip(0, 255).astype(np.uint8)),  # paper noise
    ],
    ids=["white", "black", "transparent", "gradient", "noise"],
)
def test_empty_canvases_are_no_digit(blank: Image.Image) -> None:
    with pytest.raises(ImageError, match="no digit found"):
        to_mnist(png(blank))


def test_image_error_is_a_value_error_with_a_short_message() -> None:
    with pytest.raises(ValueError) as caught:
        to_mnist(b"nope")
    assert isinstance(caught.value, ImageError) and len(str(caught.value)) < 100 and "\n" not in str(caught.value)


def test_the_decoding_budget_is_configurable(digits) -> None:
    data = png(Image.fromarray(digits[0][0]))
    cost = 28 * 28 + 8 * 28  # a byte a pixel and, as Pillow keeps them, a pointer a row
    with pytest.raises(ImageError, match=r"too large to decode \(28×28 pixels would take"):
        to_mnist(data, ImageLimits(max_decoded_bytes=cost - 1))
    assert to_mnist(data, ImageLimits(max_decoded_bytes=cost)).shape == (28, 28)


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError):
        ImageLimits(max_bytes=0)
    with pytest.raises(ValueError):
        ImageLimits(max_decoded_bytes=0)
