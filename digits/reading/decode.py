"""Decoding: a posted file → a `Picture`, whose whole or any region is one float32 channel (0..255) in which the digit
stands out, at the size asked for.

Pillow decodes under byte, pixel and memory limits (`ImageLimits`), the first frame only, turned upright by its
EXIF orientation; regions are shrunk a tile at a time; the channel is alpha for strokes on a transparent canvas, else
the colour channel with the most contrast. Every failure is an `ImageError` whose message can be shown to the user.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
from PIL import ExifTags, Image


# The formats people post; restricting them keeps Pillow's rarer, less-hardened decoders out of reach.
FORMATS = ("PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP")
# Pictures are analysed at most this large: plenty for a digit that fills a fair part of the picture.
ANALYSIS_SIZE = 256
# How the signal is made (the channel, a float picture's range) is decided on the whole picture this large.
OVERVIEW_SIZE = 64
# A JPEG is first decoded at the smallest scale (1/8, 1/4, 1/2 or 1) at least this large a side, plenty for most
# digits read at their own scale; a region wanted more than SHARPER times sharper than that is decoded again.
JPEG_DRAFT = 128
SHARPER = 1.25
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
# The transpositions that swap width and height.
SWAPS = (Image.Transpose.TRANSPOSE, Image.Transpose.TRANSVERSE, Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_270)
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


def decode(data: bytes, limits: ImageLimits = ImageLimits()) -> Picture:
    """The picture in `data`, decoded within the limits and turned upright; ImageError if unreadable."""
    return Picture(data, limits)


class Picture:
    """A decoded picture, upright: its whole or any region of it as the signal, one float32 channel (0..255) in which
    the digit stands out, at any size up to the picture's own resolution.

    How the signal is made (which colour channel, alpha or the picture seen over white, a float picture's range) is
    decided once, on the whole picture. A JPEG is decoded at a reduced scale (JPEG_DRAFT); a region wanted sharper
    than that is decoded again at the scale it needs, within the limits.
    """

    def __init__(self, data: bytes, limits: ImageLimits) -> None:
        self._data, self._limits = data, limits
        self._image, self._upright, self._full_size = _decode(data, limits, (JPEG_DRAFT, JPEG_DRAFT))
        width, height = self._full_size
        self.width, self.height = (height, width) if self._upright in SWAPS else (width, height)
        self._mode = _working_mode(self._image)
        self._band: tuple[Image.Image, Image.Image] | None = None  # (decoded picture, its colour channel): `_colour`
        self._overview = self._region_image((0.0, 0.0, self.width, self.height), fit(self.size, OVERVIEW_SIZE))
        self._channel = _Channel.of(self._overview)

    @property
    def size(self) -> tuple[int, int]:
        """Width and height, upright, in the file's pixels."""
        return self.width, self.height

    def decoded(self) -> Image.Image:
        """The decoded picture as it stands (a JPEG is decoded again, sharper, when a region needs it), for
        `read_as_decoded`."""
        return self._image

    def read_as_decoded(self, image: Image.Image) -> None:
        """Read from `image` (what `decoded` gave) again: as if no region had been decoded sharper since."""
        self._image = image

    def brightness(self, box: tuple[float, float, float, float], size: tuple[int, int]) -> np.ndarray:
        """The region `box` box-averaged to `size` as `signal` gives it, but as its brightness (0..255), whatever
        channel the signal is: which of two things is darker to the eye. (A JPEG keeps its brightness at full
        resolution and its colour at half: a pen's stroke is sharpest in it.)"""
        return np.asarray(self._sharp_region(box, size).convert("L"), dtype=np.float32)

    def resolution(self) -> float:
        """The picture's decoded pixels per pixel of the file: below 1 for a JPEG decoded at a reduced scale."""
        return self._image.width / self._full_size[0]

    def signal(self, box: tuple[float, float, float, float] | None = None, size: tuple[int, int] | None = None) -> np.ndarray:
        """The region `box` (left, top, right, bottom in the file's pixels, upright; the whole picture by default),
        box-averaged to `size` (width, height; at most ANALYSIS_SIZE a side by default), as the signal."""
        if box is None and size == self._overview.size:
            return self._channel.signal(self._overview)
        box = box or (0.0, 0.0, float(self.width), float(self.height))
        size = size or fit((box[2] - box[0], box[3] - box[1]), ANALYSIS_SIZE)
        if self._channel.kind == "colour":
            return np.asarray(self._sharp_region(box, size, colour=True), dtype=np.float32)
        return self._channel.signal(self._sharp_region(box, size))

    def _sharp_region(self, box: tuple[float, float, float, float], size: tuple[int, int],
                      colour: bool = False) -> Image.Image:
        """`_region_image`, a JPEG decoded again first when the region needs it sharper than it was decoded."""
        wanted = max(size[0] / (box[2] - box[0]), size[1] / (box[3] - box[1]))
        if wanted > self.resolution() * SHARPER and self._image.format in ("JPEG", "MPO"):
            self._sharpen(wanted)
        return self._region_image(box, size, colour)

    def _sharpen(self, wanted: float) -> None:
        """Decode the JPEG again, at the scale that gives `wanted` decoded pixels per pixel (at most its full size)."""
        target = (math.ceil(self._full_size[0] * min(1.0, wanted)), math.ceil(self._full_size[1] * min(1.0, wanted)))
        try:
            image, _, _ = _decode(self._data, self._limits, target)
        except ImageError:
            return  # over the limits at that scale: the region is read as sharp as the first decoding allows
        if image.width > self._image.width:
            self._image = image

    def _colour(self) -> Image.Image | None:
        """The decoded picture's colour channel (`_Channel.index`) when it is RGB and small enough to copy whole (a JPEG
        decoded at a reduced scale): a region shrunk from it is that channel of the region shrunk in RGB, pixel for
        pixel (Pillow shrinks each channel on its own), at a third of the work. None otherwise."""
        if self._image.mode != "RGB" or self._image.width * self._image.height > TILE_PIXELS:
            return None
        if self._band is None or self._band[0] is not self._image:
            self._band = (self._image, self._image.getchannel(self._channel.index))
        return self._band[1]

    def _region_image(self, box: tuple[float, float, float, float], size: tuple[int, int],
                      colour: bool = False) -> Image.Image:
        """The region `box` (upright, in the file's pixels) in the working mode, box-averaged to `size`, upright
        (`colour`: only the signal's colour channel, `_Channel.index`, an L picture)."""
        stored = _stored_box(box, self._upright, self._full_size)
        # A JPEG decoded at 1/k is ceil(width / k) × ceil(height / k): each axis has its own scale.
        x_scale, y_scale = self._image.width / self._full_size[0], self._image.height / self._full_size[1]
        stored = (stored[0] * x_scale, stored[1] * y_scale, min(self._image.width, stored[2] * x_scale),
                  min(self._image.height, stored[3] * y_scale))
        stored_size = (size[1], size[0]) if self._upright in SWAPS else size
        try:
            band = self._colour() if colour else None
            if band is not None:
                region = _shrink(band, "L", stored, stored_size)
            else:
                region = _shrink(self._image, self._mode, stored, stored_size)
                if colour:
                    region = region.getchannel(self._channel.index)
        except Exception:
            # Converting a decoded picture fails only on damaged data (a palette too short for its pixels, …).
            raise ImageError("the image is damaged or truncated") from None
        return region.transpose(self._upright) if self._upright is not None else region


@dataclass(frozen=True)
class _Channel:
    """How a picture's pixels become the signal, decided on the whole picture (`of`)."""

    kind: str  # "float", "grey", "colour", "alpha" or "over white"
    index: int = 0  # the colour channel
    low: float = 0.0  # a float picture's range
    high: float = 0.0

    @classmethod
    def of(cls, whole: Image.Image) -> _Channel:
        if whole.mode == "F":
            values = _finite(whole)
            return cls("float", low=float(values.min()), high=float(values.max()))
        if whole.mode == "L":
            return cls("grey")
        if whole.mode == "RGB":
            # Coloured ink or paper: the channel with the most contrast (yellow on white shows only in blue), measured
            # on the histograms (a tenth of the work of measuring the pixels).
            return cls("colour", int(np.argmax(_variances(whole))))
        alpha = np.asarray(whole.getchannel("A"))  # LA or RGBA
        if np.count_nonzero(alpha < 128) >= TRANSPARENT_SHARE * alpha.size:
            # Strokes on a transparent canvas: the ink is wherever something was drawn, whatever its colour.
            return cls("alpha")
        # Mostly opaque: seen over white paper, as a viewer would; coloured, by the channel with the most contrast.
        over_white = _over_white(whole)
        return cls("over white", int(np.argmax(over_white.reshape(-1, over_white.shape[-1]).std(axis=0))))

    def signal(self, image: Image.Image) -> np.ndarray:
        """The signal of `image` (in the working mode), on a 0..255 scale."""
        if self.kind == "float":
            # 16-bit and float pictures use any range: the whole picture's, stretched to 0..255 in float64, where
            # neither a subnormal range (1e-40) nor one wider than float32 (±3e38) overflows.
            scale = 255.0 / (self.high - self.low) if self.high > self.low else 0.0
            return ((_finite(image) - self.low) * scale).astype(np.float32)
        if self.kind == "grey":
            return np.asarray(image, dtype=np.float32)
        if self.kind == "colour":
            return np.asarray(image.getchannel(self.index), dtype=np.float32)
        if self.kind == "alpha":
            return np.asarray(image.getchannel("A"), dtype=np.float32)
        return np.ascontiguousarray(_over_white(image)[..., self.index])


def _variances(image: Image.Image) -> np.ndarray:
    """Each band's variance, from the histogram, as `ImageStat.Stat(image).var` computes it (exact sums, then the same
    floating-point steps, bit for bit) without its Python loops over the histogram (0.1 ms a picture). Bit for bit up
    to 300,000 pixels, where a sum's square is still exact in float64 (the overview has at most 64×64)."""
    counts = np.asarray(image.histogram(), np.int64).reshape(-1, 256)
    levels = np.arange(256, dtype=np.int64)
    pixels = counts.sum(axis=1)
    sums, squares = counts @ levels, counts @ (levels * levels)
    return (squares - sums.astype(np.float64) ** 2 / pixels) / pixels


def _finite(image: Image.Image) -> np.ndarray:
    """A float picture's pixels in float64, NaN and infinities as 0."""
    return np.nan_to_num(np.asarray(image, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)


def _over_white(image: Image.Image) -> np.ndarray:
    """A picture with alpha (LA or RGBA) as seen over white paper: float32, its colour channels."""
    pixels = np.asarray(image, dtype=np.float32)
    coverage = pixels[..., -1:] / 255.0
    return pixels[..., :-1] * coverage + 255.0 * (1.0 - coverage)


def fit(size: tuple[float, float], limit: int) -> tuple[int, int]:
    """`size` (width, height) scaled down to at most `limit` a side, keeping its aspect ratio, in whole pixels."""
    scale = min(1.0, limit / max(size))
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def _stored_box(box: tuple[float, float, float, float], upright: Image.Transpose | None,
                stored: tuple[int, int]) -> tuple[float, float, float, float]:
    """An upright region (left, top, right, bottom) as the region of the picture as stored (of size `stored`)."""
    left, top, right, bottom = box
    width, height = stored
    if upright is None:
        return box
    return {
        Image.Transpose.FLIP_LEFT_RIGHT: (width - right, top, width - left, bottom),
        Image.Transpose.FLIP_TOP_BOTTOM: (left, height - bottom, right, height - top),
        Image.Transpose.ROTATE_180: (width - right, height - bottom, width - left, height - top),
        Image.Transpose.TRANSPOSE: (top, left, bottom, right),
        Image.Transpose.ROTATE_90: (width - bottom, left, width - top, right),
        Image.Transpose.ROTATE_270: (top, height - right, bottom, height - left),
        Image.Transpose.TRANSVERSE: (width - bottom, height - right, width - top, height - left),
    }[upright]


def _decode(data: bytes, limits: ImageLimits,
            draft: tuple[int, int]) -> tuple[Image.Image, Image.Transpose | None, tuple[int, int]]:
    """Open and decode the first frame within the limits (a JPEG at the smallest scale at least `draft` large): the
    decoded image, the transposition that turns it upright, and its size in the file."""
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
            image.draft(image.mode, draft)
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
        return image, UPRIGHT.get(orientation) if isinstance(orientation, int) else None, (width, height)
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


def _shrink(image: Image.Image, mode: str, box: tuple[float, float, float, float], size: tuple[int, int]) -> Image.Image:
    """The region `box` of the picture in `mode`, box-averaged to `size`, a tile at a time: no full-size copy."""
    width, height = size
    if box == (0.0, 0.0, float(image.width), float(image.height)) and size == image.size:
        return image if image.mode == mode else image.convert(mode)  # read only: no copy needed
    if image.mode == mode and (box[2] - box[0]) * (box[3] - box[1]) <= TILE_PIXELS:
        return image.resize(size, Image.Resampling.BOX, box=box)  # one tile, read in place: nothing to convert
    x_step, y_step = (box[2] - box[0]) / width, (box[3] - box[1]) / height
    side = max(1, math.isqrt(int(TILE_PIXELS / max(1.0, x_step * y_step))))  # of a tile, in output pixels
    shrunk = Image.new(mode, size)
    for top in range(0, height, side):
        for left in range(0, width, side):
            right, bottom = min(width, left + side), min(height, top + side)
            # The tile's source box, fractional as the full resize would use it, and the whole pixels around it.
            tile_box = (box[0] + left * x_step, box[1] + top * y_step,
                        min(float(image.width), box[0] + right * x_step), min(float(image.height), box[1] + bottom * y_step))
            x0, y0 = math.floor(tile_box[0]), math.floor(tile_box[1])
            x1, y1 = max(x0 + 1, math.ceil(tile_box[2])), max(y0 + 1, math.ceil(tile_box[3]))
            tile = image.crop((x0, y0, x1, y1)).convert(mode)
            within = (tile_box[0] - x0, tile_box[1] - y0, max(tile_box[2] - x0, tile_box[0] - x0 + 1e-3),
                      max(tile_box[3] - y0, tile_box[1] - y0 + 1e-3))
            shrunk.paste(tile.resize((right - left, bottom - top), Image.Resampling.BOX, box=within), (left, top))
    return shrunk


def _megabytes(count: int) -> str:
    return f"{count / (1024 * 1024):.3g} MB"


def _megapixels(count: int) -> str:
    return f"{count / 1e6:.3g} megapixels"
