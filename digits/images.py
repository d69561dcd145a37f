"""Pictures of one digit, as people post them, turned into the MNIST convention the network was trained on.

MNIST digits are white on black, scaled to fit a 20×20 box keeping their aspect ratio, and
placed in 28×28 so that their centre of mass sits at the centre. `to_mnist` gets any reasonable
picture there: it decodes with Pillow under byte, pixel and memory limits, takes the first frame and the
EXIF orientation, reduces the picture to one "signal" channel (alpha for strokes on a transparent
canvas, else the colour channel with the most contrast), removes a smooth background (uneven
lighting), decides which side is ink (the minority), sets aside ink-coloured regions that run
along the picture's edge (the table around the paper, a shadow), then crops, scales and centres
the digit.

A picture may hold a number: `segment` cuts its ink into pieces, left to right (stroke groups, and wide groups
cut again where they may hold touching digits), and frames any run of pieces as one digit; which runs are the
digits is decided where the network is (`digits.inference`). A picture of one digit is one piece, read exactly
as `to_mnist` reads it.
Every failure is an `ImageError` whose message can be shown to the user as is.
"""

from __future__ import annotations

import functools
import io
import math
from dataclasses import dataclass

import numpy as np
from PIL import ExifTags, Image
from scipy import ndimage


# The formats people post; restricting them keeps Pillow's rarer, less-hardened decoders out of reach.
FORMATS = ("PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP")
MNIST_SIZE = 28
BOX_SIZE = 20
# MNIST's digits have their centre of mass at (14, 14) in pixel indices (mean over the test set: 13.99, 14.01).
MNIST_CENTRE = 14.0
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
# The background model is fitted to a grid of at most this many cells a side.
GRID_SIZE = 32
# Below this contrast (on a 0..255 scale) between ink and background there is no digit to see.
MIN_CONTRAST = 8.0
# Background pixels count as ink only beyond this many standard deviations of their noise.
NOISE_SIGMAS = 4.0
# The digit's extent leaves out this share of the ink's mass at each end: specks of noise far from it.
SPECK_MASS = 0.003
# A canvas counts as transparent (strokes drawn on nothing) when this share of it is transparent.
TRANSPARENT_SHARE = 0.1
# A region of ink covering this share of the picture's edge is the table, a shadow or the paper's edge...
CLUTTER_EDGE_SHARE = 0.05
# ...unless setting it aside leaves less than this share of the ink: a digit cropped tight touches the edge too.
MIN_DIGIT_SHARE = 0.05
# Pixels this close to such a region belong to it (its blurred or compressed fringe).
CLUTTER_MARGIN = 2
# A number has at most this many digits.
MAX_DIGITS = 12
# Pixels at least this much ink make up the strokes that are grouped into digits.
STROKE_COVERAGE = 0.25
EIGHT_NEIGHBOURS = np.ones((3, 3))
# Strokes closer than this many stroke widths belong to one digit (a 4 or 5 in two strokes, a broken 0)...
JOIN_STROKES = 0.5
# ...as do strokes above one another, sharing this share of the narrower one's columns (a 5's flag, a 7's bar).
# Only a part clearly shorter than the other is a flag, a bar or a dot (two whole digits never nest); a part
# under half the other's height joins it if they share a column at all.
JOIN_OVERLAP = 0.5
JOIN_PART_HEIGHT = 0.75
JOIN_SMALL_PART_HEIGHT = 0.5
# A group with less than this share of the biggest group's ink, and under half its height, is a speck or dirt.
SPECK_SHARE = 0.08
# A group cut by the picture's edge with less than this share of the biggest group's ink is clutter, not a digit.
EDGE_REMNANT_SHARE = 0.5
# Among several digits, a group wider than this many times their height may hold touching digits and is cut at
# its ink minima (the network then says which cuts were right); a picture's only group must be wider still, as a
# broad 0 or 2 on its own is common.
CUT_ASPECT = 0.5
CUT_ASPECT_ALONE = 1.0
# Cut pieces are at least this many digit heights wide (a 1 is about 0.15).
MIN_PIECE = 0.15
# Touching digits are cut through at most this many strokes (a cut through more is inside a digit).
MAX_CROSSINGS = 2.5
# Next to a cut through touching digits, a bit of stroke with less than this share of the digit's biggest stroke's
# ink is the neighbour's, cut off with it.
FRAGMENT_SHARE = 0.15
# The slants tried for a number (columns moved per row down).
SLANTS = tuple(np.linspace(-0.6, 0.6, 13).tolist())
# A digit's ink reaches this many pixels beyond its strokes (their soft, antialiased edge).
REGION_MARGIN = 2


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


def to_mnist(data: bytes, limits: ImageLimits = ImageLimits()) -> np.ndarray:
    """The digit in an encoded image as a 28×28 uint8 MNIST image (white digit on black); ImageError if none."""
    signal = _signal(_decode(data, limits))
    return _centre(_isolate_ink(signal))


def frame(coverage: np.ndarray) -> np.ndarray:
    """Ink coverage (2-D, any size, 0 = none) framed as MNIST did: the 28×28 uint8 image `to_mnist` ends with."""
    return _centre(np.asarray(coverage, np.float32))


def normalize(images: np.ndarray) -> np.ndarray:
    """The tutorial's normalization, for training and serving alike: uint8 28×28 images → rows of 784 in [-0.5, 0.5]."""
    flat = np.asarray(images, dtype=np.float32).reshape(len(images), -1)
    return flat / 255.0 - 0.5


# -- decoding ---------------------------------------------------------------------------------


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
    pixels = np.asarray(image, dtype=np.float32)
    if pixels.ndim == 2:
        return pixels
    if image.mode in ("LA", "RGBA"):
        alpha = pixels[..., -1]
        if np.count_nonzero(alpha < 128) >= TRANSPARENT_SHARE * alpha.size:
            # Strokes on a transparent canvas: the ink is wherever something was drawn, whatever its colour.
            return np.ascontiguousarray(alpha)
        # Mostly opaque: see it over white paper, as a viewer would.
        coverage = alpha[..., np.newaxis] / 255.0
        pixels = pixels[..., :-1] * coverage + 255.0 * (1.0 - coverage)
        if pixels.shape[-1] == 1:
            return pixels[..., 0]
    # Coloured ink or paper: the channel with the most contrast (yellow on white shows only in blue).
    spread = pixels.reshape(-1, pixels.shape[-1]).std(axis=0)
    return np.ascontiguousarray(pixels[..., int(np.argmax(spread))])


# -- finding the ink --------------------------------------------------------------------------


def _isolate_ink(signal: np.ndarray) -> np.ndarray:
    """Ink coverage in [0, 1] (1 = full stroke, 0 = background), lighting and polarity removed."""
    height, width = signal.shape
    grid_shape = (min(height, GRID_SIZE), min(width, GRID_SIZE))
    grid = _resize(signal, grid_shape[::-1]).ravel().astype(np.float64)
    design = _design(*grid_shape)
    y, x = _coordinates(height)[:, np.newaxis], _coordinates(width)[np.newaxis, :]

    # First pass: a smooth surface through everything, ink included, is close enough to split ink from paper.
    residual = signal - _surface(y, x, _fit(design, grid))
    above = residual > _otsu(residual)
    # The ink is the minority: dark ink on light paper leaves most pixels above the threshold.
    polarity = -1.0 if np.count_nonzero(above) * 2 > residual.size else 1.0
    ink_mask = above if polarity > 0 else ~above

    # Second pass: fit the background to the grid cells with (almost) no ink.
    background_cells = _resize(ink_mask.astype(np.float32), grid_shape[::-1]).ravel() < 0.05
    if np.count_nonzero(background_cells) >= 2 * design.shape[1]:
        paper = _surface(y, x, _fit(design[background_cells], grid[background_cells]))
    else:
        paper = _surface(y, x, _fit(design, grid))
    residual = signal - paper
    if polarity < 0:
        # Light falls on ink and paper alike: measured against the local paper, ink is equally dark everywhere.
        residual *= float(paper.mean()) / np.maximum(paper, 1.0)
    residual *= polarity

    background = residual[~ink_mask]
    ink = residual[ink_mask]
    if ink.size == 0 or background.size == 0:
        raise ImageError("no digit found: the image looks empty")
    # Robust noise level: the background's median absolute deviation (the fit centres it on 0).
    noise = 1.4826 * _median(np.abs(background))
    full_ink = _median(ink)
    floor = max(NOISE_SIGMAS * noise, 0.1 * full_ink)
    if full_ink < MIN_CONTRAST or full_ink <= floor:
        raise ImageError("no digit found: the image looks empty")
    coverage = (residual - floor) * (1.0 / (full_ink - floor))
    np.clip(coverage, 0.0, 1.0, out=coverage)
    coverage[_clutter(coverage > 0.0)] = 0.0
    return coverage


def _clutter(ink_mask: np.ndarray) -> np.ndarray:
    """The ink regions (and their fringe) that run along the picture's edge, unless they are nearly all the ink."""
    border = _edge(ink_mask)
    if np.count_nonzero(border) < CLUTTER_EDGE_SHARE * border.size:
        return np.zeros_like(ink_mask)  # the usual case, settled without labelling the regions
    labels, count = ndimage.label(ink_mask, structure=np.ones((3, 3)))
    edge_labels = _edge(labels)
    contact = np.bincount(edge_labels, minlength=count + 1)
    contact[0] = 0  # background
    along_edge = np.flatnonzero(contact >= CLUTTER_EDGE_SHARE * edge_labels.size)
    if along_edge.size == 0:
        return np.zeros_like(ink_mask)
    clutter = np.isin(labels, along_edge)
    if np.count_nonzero(ink_mask & ~clutter) < MIN_DIGIT_SHARE * np.count_nonzero(ink_mask):
        return np.zeros_like(ink_mask)
    return ndimage.binary_dilation(clutter, iterations=CLUTTER_MARGIN)


def _edge(values: np.ndarray) -> np.ndarray:
    """The values along the border of a 2-D array."""
    return np.concatenate([values[0], values[-1], values[1:-1, 0], values[1:-1, -1]])


@functools.lru_cache(maxsize=64)
def _coordinates(count: int) -> np.ndarray:
    """`count` pixel centres spread over [-1, 1]."""
    return np.linspace(-1.0, 1.0, count, dtype=np.float32) if count > 1 else np.zeros(1, np.float32)


@functools.lru_cache(maxsize=64)
def _design(height: int, width: int) -> np.ndarray:
    """The terms 1, x, y, x², xy, y² of a quadratic surface at each cell of a height×width grid."""
    yy, xx = np.meshgrid(_coordinates(height).astype(np.float64), _coordinates(width).astype(np.float64), indexing="ij")
    return np.stack([np.ones_like(xx), xx, yy, xx * xx, xx * yy, yy * yy], axis=-1).reshape(-1, 6)


_RIDGE = 1e-6 * np.eye(6)


def _fit(design: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Least-squares coefficients; the tiny ridge keeps one-row or one-column pictures solvable."""
    gram = design.T @ design + _RIDGE * len(values)
    return np.linalg.solve(gram, design.T @ values)


def _surface(y: np.ndarray, x: np.ndarray, c: np.ndarray) -> np.ndarray:
    c = c.astype(np.float32)
    return (c[0] + c[1] * x + c[3] * x * x) + y * (c[2] + c[4] * x + c[5] * y)


def _median(values: np.ndarray) -> float:
    middle = values.size // 2
    return float(np.partition(values, middle)[middle])


def _otsu(values: np.ndarray, bins: int = 64) -> float:
    """Otsu's threshold: the split of the values into two classes with the largest between-class variance."""
    low, high = float(values.min()), float(values.max())
    if high <= low:
        return high
    step = (high - low) / bins
    indices = np.minimum(((values - low) * (1.0 / step)).astype(np.intp), bins - 1)
    counts = np.bincount(indices.ravel(), minlength=bins).astype(np.float64)
    centres = low + step * (np.arange(bins) + 0.5)
    below = np.cumsum(counts)[:-1]
    below_sum = np.cumsum(counts * centres)[:-1]
    total, total_sum = below[-1] + counts[-1], below_sum[-1] + counts[-1] * centres[-1]
    above = total - below
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (below_sum * total - total_sum * below) ** 2 / (below * above)
    return low + step * (int(np.nanargmax(between)) + 1) if np.any(between > 0) else high


# -- framing the digit as MNIST did -----------------------------------------------------------


def _centre(coverage: np.ndarray) -> np.ndarray:
    """Crop the ink, fit it into a 20×20 box keeping its aspect ratio, and centre its mass in 28×28."""
    top, bottom = _span(coverage.sum(axis=1))
    left, right = _span(coverage.sum(axis=0))
    crop = coverage[top:bottom, left:right]
    height, width = crop.shape
    scale = BOX_SIZE / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    boxed = _resize(crop, size, Image.Resampling.LANCZOS)
    peak = float(boxed.max())
    if peak <= 0.0:
        raise ImageError("no digit found: the image looks empty")
    # Strokes much thinner than a pixel of the box come out grey: bring the strongest back to full white.
    digit = np.clip(boxed * (255.0 / peak), 0.0, 255.0).round().astype(np.uint8)

    mass = digit.astype(np.float32)
    total = float(mass.sum())
    centre_y = float(mass.sum(axis=1) @ np.arange(digit.shape[0], dtype=np.float32)) / total
    centre_x = float(mass.sum(axis=0) @ np.arange(digit.shape[1], dtype=np.float32)) / total
    canvas = Image.new("L", (MNIST_SIZE, MNIST_SIZE))
    canvas.paste(Image.fromarray(digit), (round(MNIST_CENTRE - centre_x), round(MNIST_CENTRE - centre_y)))
    return np.asarray(canvas)


# -- finding the digits of a number -----------------------------------------------------------


@dataclass(frozen=True)
class Piece:
    """Part of a number's ink: `ink` is a crop of the coverage whose top-left pixel is (`top`, `left`) in it.

    `rows` is the ink's extent down the picture; `columns` its extent across, measured upright (the number's
    slant taken out), both in the picture's pixels.
    """

    top: int
    left: int
    ink: np.ndarray
    rows: tuple[int, int]
    columns: tuple[float, float]


@dataclass(frozen=True)
class Segmentation:
    """A picture's ink cut into pieces, left to right: each digit is a run of one or more consecutive pieces.

    The pieces are over-segmented on purpose (stroke groups, cut again where a group might hold touching digits):
    which runs are digits is for the network to say (`digits.inference`). `crossings[i]` is how many strokes the
    cut between pieces i and i + 1 goes through (0 where they do not touch); `digit_height` is the height of the
    number's digits in pixels. When the ink is one stroke group, `whole` is the picture's whole coverage, and all
    the pieces together are read from it: a picture of one digit reads exactly as `to_mnist` reads it.
    """

    pieces: tuple[Piece, ...]
    crossings: tuple[float, ...]
    digit_height: float
    whole: np.ndarray | None = None

    def digit(self, start: int, stop: int) -> np.ndarray:
        """Pieces `start` to `stop` (exclusive) framed as one MNIST digit (28×28 uint8)."""
        if self.whole is not None and (start, stop) == (0, len(self.pieces)):
            return _centre(self.whole)
        run = self.pieces[start:stop]
        cut = (start > 0 and self.crossings[start - 1] > 0) or (stop < len(self.pieces) and self.crossings[stop - 1] > 0)
        if len(run) == 1 and not cut:
            return _centre(run[0].ink)
        top, left = min(p.top for p in run), min(p.left for p in run)
        bottom, right = max(p.top + p.ink.shape[0] for p in run), max(p.left + p.ink.shape[1] for p in run)
        canvas = np.zeros((bottom - top, right - left), np.float32)
        for piece in run:
            area = canvas[piece.top - top:piece.top - top + piece.ink.shape[0], piece.left - left:piece.left - left + piece.ink.shape[1]]
            np.maximum(area, piece.ink, out=area)
        return _centre(_without_fragments(canvas) if cut else canvas)

    def width(self, start: int, stop: int) -> float:
        """The upright width of pieces `start` to `stop` together, in digit heights."""
        run = self.pieces[start:stop]
        return (max(p.columns[1] for p in run) - min(p.columns[0] for p in run)) / self.digit_height

    def height(self, start: int, stop: int) -> float:
        """The height of pieces `start` to `stop` together, in digit heights."""
        run = self.pieces[start:stop]
        return (max(p.rows[1] for p in run) - min(p.rows[0] for p in run)) / self.digit_height


def segment(data: bytes, limits: ImageLimits = ImageLimits()) -> Segmentation:
    """The ink of an encoded image cut into pieces for reading it as a number; ImageError if there is none."""
    return _segment(_isolate_ink(_signal(_decode(data, limits))))


def too_many_digits(count: int) -> ImageError:
    """The refusal of a picture that seems to hold `count` digits, over MAX_DIGITS."""
    return ImageError(f"I can read up to {MAX_DIGITS} digits; this picture seems to hold {count}")


def _segment(coverage: np.ndarray) -> Segmentation:
    """Stroke groups (strokes of one digit joined, specks and edge clutter dropped), wide ones cut again at ink minima."""
    strokes = coverage > STROKE_COVERAGE
    labels, count = ndimage.label(strokes, structure=EIGHT_NEIGHBOURS)
    if count == 0:
        return _whole(coverage)
    if count == 1:  # the common case, settled without measuring the groups
        rows, columns = ndimage.find_objects(labels)[0]
        if columns.stop - columns.start <= CUT_ASPECT_ALONE * (rows.stop - rows.start):
            return _whole(coverage)
    stroke_width = _stroke_width(strokes)
    groups = _join_strokes(strokes, labels, count, stroke_width) if count > 1 else labels
    boxes = ndimage.find_objects(groups)
    masses = np.asarray(ndimage.sum_labels(coverage, groups, index=np.arange(1, len(boxes) + 1)))
    heights = np.array([box[0].stop - box[0].start for box in boxes])
    if len(boxes) == 1 and boxes[0][1].stop - boxes[0][1].start <= CUT_ASPECT_ALONE * heights[0]:
        return _whole(coverage)  # the strokes of one digit
    # Specks and dirt: little ink, and much shorter than the biggest group; and the remnants of clutter at the
    # picture's edge (a table, a shadow): groups cut by the edge with far less ink than the biggest.
    height, width = coverage.shape
    at_edge = [box[0].start == 0 or box[1].start == 0 or box[0].stop == height or box[1].stop == width for box in boxes]
    kept = [index for index in range(len(boxes))
            if (masses[index] >= SPECK_SHARE * masses.max() or heights[index] >= 0.5 * heights.max())
            and not (at_edge[index] and masses[index] < EDGE_REMNANT_SHARE * masses.max())]
    if len(kept) > MAX_DIGITS:
        raise too_many_digits(len(kept))
    digit_height = float(np.median(heights[kept]))
    slant = _slant(coverage, strokes)
    middle = height / 2
    # Left to right by the groups' centres of mass, upright.
    centres = ndimage.center_of_mass(coverage, groups, [i + 1 for i in kept])
    upright = {i: x - slant * (y - middle) for i, (y, x) in zip(kept, centres)}
    cut_width = (CUT_ASPECT if len(kept) > 1 else CUT_ASPECT_ALONE) * digit_height
    pieces: list[Piece] = []
    crossings: list[float] = []
    for index in sorted(kept, key=upright.__getitem__):
        rows, columns = (slice(max(0, box.start - REGION_MARGIN), box.stop + REGION_MARGIN) for box in boxes[index])
        mask = ndimage.binary_dilation(groups[rows, columns] == index + 1, iterations=REGION_MARGIN)
        ink = coverage[rows, columns] * mask
        if pieces:
            crossings.append(0.0)
        group_pieces, group_crossings = _cut(ink, rows.start, columns.start, slant, middle, digit_height, cut_width,
                                             stroke_width)
        pieces += group_pieces
        crossings += group_crossings
    return Segmentation(tuple(pieces), tuple(crossings), digit_height, coverage if len(boxes) == 1 else None)


def _without_fragments(ink: np.ndarray) -> np.ndarray:
    """The ink less the small bits of strokes a cut through touching digits leaves beside the digit (a neighbour's tip)."""
    labels, count = ndimage.label(ink > 0.0, structure=EIGHT_NEIGHBOURS)
    if count < 2:
        return ink
    masses = np.bincount(labels.ravel(), weights=ink.ravel())
    masses[0] = 0.0
    small = masses < FRAGMENT_SHARE * masses.max()
    small[0] = False
    return ink * ~small[labels] if np.any(small) else ink


def _whole(coverage: np.ndarray) -> Segmentation:
    """One piece: the whole coverage (a single digit)."""
    height, width = coverage.shape
    return Segmentation((Piece(0, 0, coverage, (0, height), (0.0, float(width))),), (), float(height), coverage)


def _slant(coverage: np.ndarray, strokes: np.ndarray) -> float:
    """The number's slant (columns moved per row down): the shear under which its strokes stack up most upright."""
    ys, xs = np.nonzero(strokes)
    weights = coverage[ys, xs]
    lean = ys - coverage.shape[0] / 2

    def sharpness(slant: float) -> float:
        upright = np.round(xs - slant * lean).astype(np.intp)
        profile = np.bincount(upright - upright.min(), weights=weights)
        return float(profile @ profile)

    return max(SLANTS, key=sharpness)


def _cut(ink: np.ndarray, top: int, left: int, slant: float, middle: float, digit_height: float, cut_width: float,
         stroke_width: float) -> tuple[list[Piece], list[float]]:
    """A group's ink as pieces, cut along the slant at the minima of its upright ink profile when it is wide enough
    to hold touching digits; with the strokes each cut crosses."""
    y, x = np.mgrid[top:top + ink.shape[0], left:left + ink.shape[1]]
    upright = x - slant * (y - middle)
    bins = np.floor(upright - upright.min()).astype(np.intp)
    profile = np.bincount(bins.ravel(), weights=ink.ravel())
    origin = float(upright.min())
    first, last = _span(profile)
    smooth = np.convolve(profile, np.ones(3) / 3, mode="same")
    cuts: list[int] = []
    if last - first > cut_width:
        margin = max(1, round(MIN_PIECE * digit_height))
        inside = range(first + margin, last - margin)
        minima = [i for i in inside if smooth[i] <= smooth[i - 1] and smooth[i] <= smooth[i + 1]
                  and smooth[i] <= MAX_CROSSINGS * stroke_width]
        for candidate in sorted(minima, key=lambda i: smooth[i]):
            if all(abs(candidate - cut) >= margin for cut in cuts):
                cuts.append(candidate)
        cuts.sort()
    edges = [first, *cuts, last]
    pieces: list[Piece] = []
    crossings: list[float] = []
    crossing = 0.0  # of the cut before the next piece
    for start, stop, cut in zip(edges, edges[1:], [None, *cuts]):
        if cut is not None:
            crossing = max(crossing, float(smooth[cut]) / stroke_width)
        part = ink * ((bins >= start) & (bins < stop)) if cuts else ink
        ink_rows = np.flatnonzero(part.max(axis=1) > STROKE_COVERAGE)
        if ink_rows.size == 0:
            continue  # nothing but a sliver between two cuts: the cuts around it are one
        if pieces:
            crossings.append(crossing)
        crossing = 0.0
        rows = (top + int(ink_rows[0]), top + int(ink_rows[-1]) + 1)
        pieces.append(Piece(top, left, part, rows, (origin + start, origin + stop)))
    return pieces, crossings


def _stroke_width(strokes: np.ndarray) -> float:
    """How wide the strokes are, in pixels (twice the depth of their thickest parts)."""
    return 2.0 * float(np.percentile(ndimage.distance_transform_edt(strokes)[strokes], 90))


def _join_strokes(strokes: np.ndarray, labels: np.ndarray, count: int, stroke_width: float) -> np.ndarray:
    """Label image of digit candidates: strokes closer than about a stroke's width, or above one another, are one."""
    radius = max(1, round(JOIN_STROKES * stroke_width / 2))
    near, _ = ndimage.label(ndimage.binary_dilation(strokes, iterations=radius), structure=EIGHT_NEIGHBOURS)
    # Each stroke joins the group its grown copy fell into...
    group = np.asarray(ndimage.maximum(near, labels, index=np.arange(1, count + 1)), dtype=np.intp)
    # ...and groups above one another (a 5's flag, a 7's bar, a dot) join too.
    boxes = ndimage.find_objects(labels)
    parent = {g: g for g in set(group.tolist())}

    def root(g: int) -> int:
        while parent[g] != g:
            g = parent[g]
        return g

    extents: dict[int, tuple[int, int, int, int]] = {}  # group → top, bottom, left, right
    for index, box in enumerate(boxes):
        g = int(group[index])
        top, bottom, left, right = extents.get(g, (box[0].start, box[0].stop, box[1].start, box[1].stop))
        extents[g] = (min(top, box[0].start), max(bottom, box[0].stop), min(left, box[1].start), max(right, box[1].stop))
    ordered = sorted(extents)
    for a_index, a in enumerate(ordered):
        for b in ordered[a_index + 1:]:
            (a_top, a_bottom, a0, a1), (b_top, b_bottom, b0, b1) = extents[a], extents[b]
            overlap = min(a1, b1) - max(a0, b0)
            shorter, taller = sorted((a_bottom - a_top, b_bottom - b_top))
            if (overlap >= JOIN_OVERLAP * min(a1 - a0, b1 - b0) and shorter < JOIN_PART_HEIGHT * taller
                    or overlap > 0 and shorter < JOIN_SMALL_PART_HEIGHT * taller):
                parent[root(b)] = root(a)
    roots = sorted({root(g) for g in parent})
    renumber = np.zeros(count + 1, dtype=np.intp)
    renumber[1:] = [roots.index(root(int(g))) + 1 for g in group]
    return renumber[labels]


def _span(profile: np.ndarray) -> tuple[int, int]:
    """Start and end of the ink along one axis, less a sliver of its mass at each end (stray specks of noise)."""
    cumulative = np.cumsum(profile, dtype=np.float64)
    total = cumulative[-1]
    if total <= 0.0:
        raise ImageError("no digit found: the image looks empty")
    start = int(np.searchsorted(cumulative, SPECK_MASS * total, side="right"))
    end = int(np.searchsorted(cumulative, (1.0 - SPECK_MASS) * total, side="left")) + 1
    return start, max(end, start + 1)


def _resize(values: np.ndarray, size: tuple[int, int], method: Image.Resampling = Image.Resampling.BOX) -> np.ndarray:
    """Resize a float32 array to (width, height) with Pillow, which antialiases when shrinking."""
    if values.shape == (size[1], size[0]):
        return values
    return np.asarray(Image.fromarray(values).resize(size, method))


def _megabytes(count: int) -> str:
    return f"{count / (1024 * 1024):.3g} MB"


def _megapixels(count: int) -> str:
    return f"{count / 1e6:.3g} megapixels"
