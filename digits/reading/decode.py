"""Decoding: a posted file → one float32 channel (0..255) in which the digit stands out, at most ANALYSIS_SIZE a side.

Pillow decodes under byte, pixel and memory limits (`ImageLimits`), the first frame only, turned upright by its
EXIF orientation, shrunk a tile at a time; the channel is alpha for strokes on a transparent canvas, else the
colour channel with the most contrast. Every failure is an `ImageError` whose message can be shown to the user.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
from PIL import ExifTags, Image, ImageStat


# The formats people post; restricting them keeps Pillow's rarer, less-hardened decoders out of reach.
FORMATS = ("PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP")
# Pictures are analysed at most this large: plenty for a digit that fills a fair part of the picture.
ANALYSIS_SIZE = 256
# Pictures are converted and shrunk a tile of about this many pixels at a time, never copied whole.
TILE_PIXELS = 1 << 18
# The transposition that shows a picture upright, by its EXIF orientation (as ImageOps.exif_transpose does).
UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
# TIFF tags that say how large a chunk libtiff decodes at once.
ROWS_PER_STRIP, TILE_WIDTH, TILE_LENGTH = 278, 322, 323
# Pillow keeps a pointer to each row of a picture beside its pixels: a picture 1 pixel wide costs 9 bytes a pixel.
ROW_POINTER_BYTES = 8
# A canvas counts as transparent (strokes drawn on nothing) when this share of it is transparent.
TRANSPARENT_SHARE = 0.1


class ImageError(ValueError):
    """An image the service cannot read as a digit; its message is short and meant for the user."""


@dataclass(frozen=True)
class ImageLimits:
    """What the service accepts: at most `max_bytes` of file and `max_pixels` of picture, decoded in at most
    `max_decoded_bytes` of memory (a lossless WebP costs 16 bytes a pixel to decode, a colour PNG 4)."""

    max_bytes: int = 10 * 1024 * 1024
    max_pixels: int = 40_000_000
    max_decoded_bytes: int = 100 * 1024 * 1024

    def __post_init__(self) -> None:
        if min(self.max_bytes, self.max_pixels, self.max_decoded_bytes) < 1:
            raise ValueError(
                f"image limits must be positive, got {self.max_bytes} bytes, {self.max_pixels} pixels "
                f"and {self.max_decoded_bytes} decoded bytes"
            )


def decode(data: bytes, limits: ImageLimits = ImageLimits()) -> np.ndarray:
    """The picture in `data` as one float32 channel (0..255) in which the digit stands out; ImageError if unreadable."""
    return _signal(_decode(data, limits))


def _decode(data: bytes, limits: ImageLimits) -> Image.Image:
    """Open and decode the first frame, upright, within the limits, at most about ANALYSIS_SIZE a side."""
    if not data:
        raise ImageError("the file is empty")
    if len(data) > limits.max_bytes:
        raise ImageError(f"the file is too large (over {_megabytes(limits.max_bytes)}); please send a smaller image")
    try:
        image = Image.open(io.BytesIO(data), formats=FORMATS)
    except Image.DecompressionBombError:
        raise ImageError(f"the image has too many pixels (the limit is {_megapixels(limits.max_pixels)})") from None
    except Exception:
        # Pillow's format probes raise assorted exception types on garbage; all mean the same to the user.
        raise ImageError("that is not an image I can read (send a PNG, JPEG, GIF, BMP, TIFF or WebP)") from None
    width, height = image.size
    if width * height > limits.max_pixels:
        raise ImageError(
            f"the image is too large ({width}×{height} pixels; the limit is {_megapixels(limits.max_pixels)})"
        )
    try:
        if image.format in ("JPEG", "MPO"):
            # Let the JPEG decoder scale down by up to 8 while decoding: a 12 MP photo costs a 0.2 MP decode.
            image.draft(image.mode, (ANALYSIS_SIZE, ANALYSIS_SIZE))
        cost = _decoding_bytes(image, width * height)
        if cost > limits.max_decoded_bytes:
            raise ImageError(
                f"the image is too large to decode ({width}×{height} pixels would take {_megabytes(cost)}; "
                f"the limit is {_megabytes(limits.max_decoded_bytes)})"
            )
        image.load()
        if image.width < 1 or image.height < 1:
            raise ImageError("the image is empty")
        orientation = image.getexif().get(ExifTags.Base.Orientation)
        upright = UPRIGHT.get(orientation) if isinstance(orientation, int) else None
        # Turned upright once shrunk: transposing the full picture would copy it.
        shrunk = _shrink(image, _working_mode(image))
        return shrunk.transpose(upright) if upright is not None else shrunk
    except ImageError:
        raise
    except Exception:
        # Decoders report damaged data as OSError, SyntaxError, ValueError, struct.error, … depending on the format.
        raise ImageError("the image is damaged or truncated") from None


def _decoding_bytes(image: Image.Image, pixels: int) -> int:
    """The memory decoding `image` takes at its peak: the picture Pillow fills and what the decoder holds beside it.

    `pixels` is the size before a JPEG draft: a progressive JPEG keeps every DCT coefficient of the full picture.
    """
    return _pixel_buffers(image, pixels) + ROW_POINTER_BYTES * image.height


def _pixel_buffers(image: Image.Image, pixels: int) -> int:
    """The pixels decoding `image` holds at its peak (`_decoding_bytes` less the row pointers)."""
    pixel_bytes = 1 if image.mode in ("1", "L", "P") else 2 if image.mode.startswith("I;16") else 4  # as Pillow stores them
    picture = image.width * image.height * pixel_bytes
    if image.format == "WEBP":
        return 4 * picture  # libwebp's two canvases and Pillow's copy of the frame
    if image.format == "BMP" and image.info.get("compression") in (1, 2):
        return 3 * picture  # Pillow's RLE decoder builds the picture in a bytearray, then copies it
    if image.format in ("JPEG", "MPO") and image.info.get("progressive"):
        return picture + 2 * len(image.getbands()) * pixels  # libjpeg's 16-bit coefficients, every component at full size
    if image.format == "TIFF" and image.info.get("compression") != "raw":
        # libtiff decodes a strip or a tile at a time into a buffer of its own, of at most 8 bytes a pixel.
        tags = getattr(image, "tag_v2")  # a TiffImageFile's; the format was checked above
        if TILE_WIDTH in tags and TILE_LENGTH in tags:
            return picture + 8 * tags[TILE_WIDTH] * tags[TILE_LENGTH]
        return picture + 8 * image.width * min(tags.get(ROWS_PER_STRIP, image.height), image.height)
    return picture


def _working_mode(image: Image.Image) -> str:
    """The mode the picture is analysed in: L, LA, RGB, RGBA or F."""
    mode = image.mode
    if mode in ("I", "I;16", "I;16L", "I;16B", "I;16N", "F"):
        return "F"
    if mode == "1":
        return "L"
    if mode in ("P", "PA"):
        return "RGBA" if mode == "PA" or "transparency" in image.info else "RGB"
    if mode == "La":
        return "LA"
    if mode in ("L", "LA", "RGB", "RGBA"):
        return mode
    return "RGBA" if "A" in mode or "a" in mode else "RGB"


def _shrink(image: Image.Image, mode: str) -> Image.Image:
    """The picture in `mode`, box-averaged to at most ANALYSIS_SIZE a side, a tile at a time: no full-size copy."""
    scale = min(1.0, ANALYSIS_SIZE / max(image.size))
    width, height = max(1, round(image.width * scale)), max(1, round(image.height * scale))
    if (width, height) == image.size:
        return image.convert(mode)
    x_step, y_step = image.width / width, image.height / height
    side = max(1, math.isqrt(int(TILE_PIXELS / (x_step * y_step))))  # of a tile, in output pixels
    shrunk = Image.new(mode, (width, height))
    for top in range(0, height, side):
        for left in range(0, width, side):
            right, bottom = min(width, left + side), min(height, top + side)
            # The tile's source box, fractional as the full resize would use it, and the whole pixels around it.
            box = (left * x_step, top * y_step, min(image.width, right * x_step), min(image.height, bottom * y_step))
            x0, y0 = math.floor(box[0]), math.floor(box[1])
            tile = image.crop((x0, y0, math.ceil(box[2]), math.ceil(box[3]))).convert(mode)
            within = (box[0] - x0, box[1] - y0, box[2] - x0, box[3] - y0)
            shrunk.paste(tile.resize((right - left, bottom - top), Image.Resampling.BOX, box=within), (left, top))
    return shrunk


def _signal(image: Image.Image) -> np.ndarray:
    """One float32 channel in which the digit stands out from the background, on a 0..255 scale."""
    if image.mode == "F":
        # 16-bit and float images use any range: stretch what is there to 0..255, in float64, where neither a
        # subnormal range (1e-40) nor one wider than float32 (±3e38) overflows.
        values = np.nan_to_num(np.asarray(image, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
        low, high = float(values.min()), float(values.max())
        stretched = (values - low) * (255.0 / (high - low)) if high > low else np.zeros_like(values)
        return stretched.astype(np.float32)
    if image.mode == "L":
        return np.asarray(image, dtype=np.float32)
    if image.mode == "RGB":
        # Coloured ink or paper: the channel with the most contrast (yellow on white shows only in blue), measured on
        # the histograms (a tenth of the work of measuring the pixels).
        return np.asarray(image.getchannel(int(np.argmax(ImageStat.Stat(image).var))), dtype=np.float32)
    pixels = np.asarray(image, dtype=np.float32)
    alpha = pixels[..., -1]  # LA or RGBA
    if np.count_nonzero(alpha < 128) >= TRANSPARENT_SHARE * alpha.size:
        # Strokes on a transparent canvas: the ink is wherever something was drawn, whatever its colour.
        return np.ascontiguousarray(alpha)
    # Mostly opaque: see it over white paper, as a viewer would.
    coverage = alpha[..., np.newaxis] / 255.0
    pixels = pixels[..., :-1] * coverage + 255.0 * (1.0 - coverage)
    if pixels.shape[-1] == 1:
        return pixels[..., 0]
    spread = pixels.reshape(-1, pixels.shape[-1]).std(axis=0)
    return np.ascontiguousarray(pixels[..., int(np.argmax(spread))])


def _megabytes(count: int) -> str:
    return f"{count / (1024 * 1024):.3g} MB"


def _megapixels(count: int) -> str:
    return f"{count / 1e6:.3g} megapixels"
