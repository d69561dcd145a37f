"""Pictures of one digit, as people post them, turned into the MNIST convention the network was trained on.

MNIST digits are white on black, scaled to fit a 20×20 box keeping their aspect ratio, and
placed in 28×28 so that their centre of mass sits at the centre. `to_mnist` gets any reasonable
picture there: it decodes with Pillow under byte, pixel and memory limits, takes the first frame and the
EXIF orientation, reduces the picture to one "signal" channel (alpha for strokes on a transparent
canvas, else the colour channel with the most contrast), decides which side is ink (the side that
stands out of its surroundings), takes as background what is left when everything thinner than the
strokes is filled in (uneven light, hard shadows, the table, the paper's edge stay background; a clean
picture's background is its edge's one level), keeps faint ink only beside strong ink (not ruled or
squared paper's lines), sets aside clutter (regions along the picture's edge, a pen, the paper's edge,
a coin) while keeping every digit of a number, then crops, scales and centres the digit.

A picture may hold a number: `segment` cuts its ink into pieces, left to right (stroke groups, and wide groups
cut again where they may hold touching digits), and frames any run of pieces as one digit; which runs are the
digits is decided where the network is (`digits.inference`). A picture of one digit is one piece, read exactly
as `to_mnist` reads it.
Every failure is an `ImageError` whose message can be shown to the user as is.
"""

from __future__ import annotations

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
# Polarity is judged on a copy at most this large, against a median over this share of its longer side...
POLARITY_SIZE = 64
POLARITY_WINDOW = 0.3
# ...counting what stands out beyond this many standard deviations of the noise and this share of the picture's
# contrast (ink stands out by nearly all of it, a table's grain by little)...
TAIL_SIGMAS = 3.0
TAIL_SHARE = 0.1
# ...from the side that stands out this many times more than the other; failing that, the picture's edge is
# background when at least 0.5 + EDGE_MARGIN of it is on one side; failing that, the ink is the minority.
POLARITY_MARGIN = 1.6
EDGE_MARGIN = 0.15
# A picture's edge with at most this share on one side is all background: against it the other side must stand
# out this many times more.
UNIFORM_EDGE = 0.05
POLARITY_DECISIVE = 30.0
# Pictures at least this large a side are photos or scans whose noise is worth averaging out first.
SMOOTH_FROM = 64
# The background is what is left when everything thinner than this share of the picture's longer side is filled
# in (a first pass, on a copy at most FIRST_PASS_SIZE a side)...
BACKGROUND_SHARE = 0.35
FIRST_PASS_SIZE = 128
# ...then than this share of the ink's size: room for its thickest strokes and blobs, and no more.
STROKE_ROOM = 0.45
# Ink in a shadow is measured against the shadowed paper, up to this gain (darker is not lit paper: a table).
MAX_GAIN = 3.0
# Ink fainter than this share of full ink counts only within this share of the background window of stronger ink.
STRONG_INK = 0.5
FAINT_REACH = 0.1
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
# Ink this close (this share of the picture's longer side) is one region when looking for clutter.
GROUP_GRID = 64
# A region this many times longer than it is thick is a bar: a 1, a pen, a line; it is a pen or the paper's edge
# when this many times longer than the digits are tall (digits of one number differ by less), or when cut by the
# picture's edge (it goes on beyond), this many times.
BAR_ELONGATION = 4.0
# A bar fills at least this share of the bar with its length and thickness (a pen, a line); a row of touching digits
# is as elongated but mostly paper.
BAR_FILL = 0.7
LONG_BAR = 1.6
LONG_BAR_AT_EDGE = 1.2
# A bar lying flat (within 30° of the horizontal: spread this many times more across than up) is clutter from this
# many times the digits' height on; a 1 slants less than that.
FLAT = 3.0
LONG_FLAT_BAR = 0.8
# A region this many times thicker than the picture's typical stroke, and filled in to at least this share of its
# size from its edge, is a blob (a coin: 0.45-0.5), not a digit (a bold 6 or 8 with its loops filled in: about 0.3).
BLOB_DEPTH = 1.5
BLOB_SHAPE = 0.4
# Only a region filling at least this share of its box can be a blob (a disc fills 0.79; digits far less).
BLOB_FILL = 0.5
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
# A cut between touching digits follows the least ink within PATH_REACH digit heights of its slanted line, each
# column away from the line costing PATH_DRIFT (in coverage) per row.
PATH_REACH = 0.5
PATH_DRIFT = 0.01
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
    edge = _edge(signal)
    low, high = float(signal.min()), float(signal.max())
    if low < high and edge[0] in (low, high) and np.all(edge == edge[0]):
        # A clean picture (a drawing app's export, MNIST itself): the background is its edge's one level, exactly.
        polarity = -1.0 if edge[0] == high else 1.0
        return _coverage(polarity * (signal - float(edge[0])), max(3, round(BACKGROUND_SHARE * max(signal.shape))))
    polarity = _polarity(signal)
    if min(signal.shape) >= SMOOTH_FROM:
        # Photos: average out sensor noise, which the filling-in below would otherwise lift into the paper's level.
        signal = ndimage.uniform_filter(signal, 3)
    # First pass, on a copy at most FIRST_PASS_SIZE a side: fill in what is thinner than a good share of the picture.
    small = _reduce(signal, FIRST_PASS_SIZE)
    scale = small.shape[0] / signal.shape[0]
    coverage = _ink(small, polarity, max(3, round(BACKGROUND_SHARE * max(small.shape))), cut=False)
    cut = bool(np.any(_edge(coverage)))
    if cut:
        # The digit runs off the picture (a tight crop): what the edge cuts is a stroke, with paper beyond.
        coverage = _ink(small, polarity, max(3, round(BACKGROUND_SHARE * max(small.shape))), cut=True)
    if small is signal:
        return coverage
    # Second pass: the strokes need less filling-in than that, and the less is filled in, the better the corners of
    # shadows, tables and paper stay background.
    top, bottom = _span(coverage.sum(axis=1))
    left, right = _span(coverage.sum(axis=0))
    size = max(3, round(min(BACKGROUND_SHARE * max(signal.shape), STROKE_ROOM * max(bottom - top, right - left) / scale)))
    return _ink(signal, polarity, size, cut=cut)


def _ink(signal: np.ndarray, polarity: float, size: int, cut: bool) -> np.ndarray:
    """The ink's coverage against the background left when everything thinner than `size` is filled in.

    What the picture's edge cuts continues outwards (a table or shadow stays as wide as it is), unless the digit is
    `cut` by the edge: then there is paper beyond (a stroke cut by the edge stays a stroke).
    """
    bright = float(signal.max()) if polarity < 0 else float(signal.min())
    padded = np.pad(signal, size, mode="constant", constant_values=bright) if cut else np.pad(signal, size, mode="edge")
    if polarity < 0:
        # Fill in everything dark and thinner than `size`: what is left is the paper, with its shadows and table.
        paper = ndimage.grey_closing(padded, size=(size, size))[size:-size, size:-size]
        # Light falls on ink and paper alike: measured against the local paper, ink is equally dark in a shadow.
        lit = _quantile(paper, 0.9)
        residual = (paper - signal) * np.minimum(lit / np.maximum(paper, 1.0), MAX_GAIN)
    else:
        paper = ndimage.grey_opening(padded, size=(size, size))[size:-size, size:-size]
        residual = signal - paper
    return _coverage(residual, size)


def _coverage(residual: np.ndarray, size: int) -> np.ndarray:
    """Ink coverage from the ink's contrast against the background (`residual`) found with a window of `size`."""
    ink_mask = residual > _otsu(residual)
    background = residual[~ink_mask]
    ink = residual[ink_mask]
    if ink.size == 0 or background.size == 0:
        raise ImageError("no digit found: the image looks empty")
    # The filled-in paper sits a little above its noise: measure the noise around the background's own level.
    level = _median(background)
    noise = 1.4826 * _median(np.abs(background - level))
    full_ink = _median(ink)
    floor = max(level + NOISE_SIGMAS * noise, 0.1 * full_ink)
    if full_ink < MIN_CONTRAST or full_ink <= floor:
        raise ImageError("no digit found: the image looks empty")
    coverage = (residual - floor) * (1.0 / (full_ink - floor))
    np.clip(coverage, 0.0, 1.0, out=coverage)
    # Faint ink counts only beside strong ink (a stroke's soft edge, pencil's grain): alone, it is the lines of
    # ruled or squared paper, the paper's grain or a smudge.
    reach = 2 * max(1, round(FAINT_REACH * size)) + 1
    coverage[~ndimage.maximum_filter(coverage >= STRONG_INK, size=reach)] = 0.0
    coverage[_clutter(coverage)] = 0.0
    return coverage


def _polarity(signal: np.ndarray) -> float:
    """-1.0 for dark ink on a lighter background, 1.0 for light ink on a darker one."""
    small = _reduce(signal, POLARITY_SIZE)
    # A median over a wide window keeps what is large (paper, table, shadow, with their edges) and drops thin strokes.
    window = max(3, round(POLARITY_WINDOW * max(small.shape)) | 1)
    residual = small - ndimage.median_filter(ndimage.median_filter(small, size=(1, window)), size=(window, 1))
    # What stands out beyond the noise (at least a level: flat drawings have none) and beyond texture.
    contrast = _quantile(small, 0.99) - _quantile(small, 0.01)
    tau = max(TAIL_SIGMAS * 1.4826 * _median(np.abs(residual)) + 1.0, TAIL_SHARE * contrast)
    dark = float(np.maximum(-residual - tau, 0.0).sum())
    light = float(np.maximum(residual - tau, 0.0).sum())
    # The picture's edge is mostly background, even where a tight crop cuts the digit.
    darker = small <= _otsu(small)
    edge_share = np.count_nonzero(_edge(darker)) / _edge(darker).size
    edge_ink = -1.0 if edge_share < 0.5 else 1.0
    uniform_edge = abs(edge_share - 0.5) >= 0.5 - UNIFORM_EDGE
    # The ink is the side that stands out of its surroundings the most (when the window is narrow enough to see
    # that); against an edge all of one side, only by far (thick strokes crowd the window, and paper stands out)...
    if 2 * window <= min(small.shape):
        for side, ours, theirs in ((-1.0, dark, light), (1.0, light, dark)):
            if ours > (POLARITY_DECISIVE if uniform_edge and side != edge_ink else POLARITY_MARGIN) * theirs:
                return side
    # ...else (a digit filling the frame) the edge decides; and if the edge is split too, the ink is the minority.
    if abs(edge_share - 0.5) >= EDGE_MARGIN:
        return edge_ink
    return -1.0 if np.count_nonzero(darker) * 2 < darker.size else 1.0


def _clutter(coverage: np.ndarray) -> np.ndarray:
    """What is in the picture besides handwriting, with its fringe: regions along the picture's edge (a table, a
    shadow) or cut by it beside a whole digit, straight bars much longer than the digits are tall (a pen, the
    paper's edge), blobs far thicker than the strokes (a coin); all of the digits of a number stay. Nothing is set
    aside when that leaves too little ink."""
    ink_mask = coverage > 0.0
    height, width = ink_mask.shape
    if np.count_nonzero(_edge(ink_mask)) < CLUTTER_EDGE_SHARE * 2 * (height + width) and ndimage.label(ink_mask)[1] <= 1:
        return np.zeros_like(ink_mask)  # the usual case: one region away from the edge, settled without measuring it
    # Regions a few pixels apart are one: a dashed line, a table's grain, a stroke broken by noise.
    gap = max(1, round(max(height, width) / GROUP_GRID))
    grouped, count = ndimage.label(ndimage.maximum_filter(ink_mask, size=2 * gap + 1), structure=EIGHT_NEIGHBOURS)
    labels = np.where(ink_mask, grouped, 0)
    index = np.arange(count + 1)
    rows, columns = np.nonzero(ink_mask)
    ids = labels[rows, columns]
    y, x = rows.astype(np.float64), columns.astype(np.float64)
    pixels = np.maximum(np.bincount(ids, minlength=count + 1), 1).astype(np.float64)
    mean_y, mean_x = np.bincount(ids, y, count + 1) / pixels, np.bincount(ids, x, count + 1) / pixels
    var_y = np.bincount(ids, y * y, count + 1) / pixels - mean_y**2
    var_x = np.bincount(ids, x * x, count + 1) / pixels - mean_x**2
    cov_xy = np.bincount(ids, x * y, count + 1) / pixels - mean_x * mean_y
    spread = np.sqrt(((var_x - var_y) / 2) ** 2 + cov_xy**2)
    # Length and thickness of each region, as those of the uniform bar with the same second moments.
    length = np.sqrt(12 * np.maximum((var_x + var_y) / 2 + spread, 0.0)) + 1
    thickness = np.sqrt(12 * np.maximum((var_x + var_y) / 2 - spread, 0.0)) + 1
    mass = np.bincount(ids, coverage[rows, columns], count + 1)
    boxes = [(slice(0, 0), slice(0, 0)), *ndimage.find_objects(labels, count)]
    tall = np.array([(box[0].stop - box[0].start) if box is not None else 0 for box in boxes], np.float64)
    wide = np.array([(box[1].stop - box[1].start) if box is not None else 0 for box in boxes], np.float64)
    contact = np.bincount(_edge(labels), minlength=count + 1)
    contact[0] = 0
    # Cut by the picture's edge: reaching it, or nearly (its last pixels faded into the frame's border).
    cut = np.zeros(count + 1, bool)
    cut[np.concatenate([labels[:gap].ravel(), labels[-gap:].ravel(), labels[:, :gap].ravel(), labels[:, -gap:].ravel()])] = True
    cut[0] = False

    along_edge = contact >= CLUTTER_EDGE_SHARE * 2 * (height + width)
    bar = (length >= BAR_ELONGATION * thickness) & (pixels >= BAR_FILL * length * thickness)
    # A bar fading along its length (a pen's highlight) is as long as its box, whatever its moments say.
    length = np.maximum(length, np.maximum(tall, wide))
    # The digits: regions with a fair share of the ink that are neither along the edge nor bars; failing those,
    # the shortest bar of a fair size (a 1 beside a pen).
    fair = (mass >= SPECK_SHARE * mass.max()) & ~along_edge
    fair[0] = False
    digits = fair & ~bar
    reference = float(tall[digits].max()) if np.any(digits) else float(length[fair].min()) if np.any(fair) else 0.0
    # A bar lying flat is never a digit on its own; a 7's or a 5's detached bar is shorter, and near the rest.
    flat = var_x >= FLAT * var_y
    factor = np.where(flat, LONG_FLAT_BAR, np.where(cut, LONG_BAR_AT_EDGE, LONG_BAR))
    long = bar & (length >= factor * reference)
    # A coin or a thumb: a compact region, mostly filled in, whose strokes are far thicker than the others'.
    blob = fair & ~bar & (pixels >= BLOB_FILL * tall * wide)
    if np.any(blob[1:]):
        strokes = coverage > STROKE_COVERAGE
        depth = ndimage.distance_transform_edt(strokes)
        ridge = strokes & (depth >= ndimage.maximum_filter(depth, size=3))
        others = ridge & ~(along_edge | long)[labels]
        stroke = float(np.median(depth[others])) if np.any(others) else 0.0
        deepest = np.zeros(count + 1)
        deepest[1:] = ndimage.maximum(depth, labels, index[1:])
        blob &= (deepest >= BLOB_DEPTH * stroke) & (deepest >= BLOB_SHAPE * np.maximum(tall, wide))

    # A whole digit has no part cut by the picture's edge: a lighter region cut by it is a pen's or a coin's remnant.
    heaviest = int(np.argmax(mass))
    remnant = cut & ~cut[heaviest] & (mass < EDGE_REMNANT_SHARE * mass[heaviest])

    candidates = along_edge | long | blob | remnant
    candidates[0] = False
    # A bar near other ink is a stroke of a digit (a 4 written in two strokes), not a pen.
    aside = candidates.copy()
    for region in np.flatnonzero(long & ~along_edge & candidates):
        reach = ndimage.binary_dilation(labels == region, iterations=max(1, round(float(thickness[region]))))
        if np.any(reach & ink_mask & ~candidates[labels]):
            aside[region] = False
    if not np.any(aside):
        return np.zeros_like(ink_mask)
    clutter = aside[labels]
    if np.count_nonzero(ink_mask & ~clutter) < MIN_DIGIT_SHARE * np.count_nonzero(ink_mask):
        return np.zeros_like(ink_mask)
    return ndimage.binary_dilation(clutter, iterations=CLUTTER_MARGIN)


def _edge(values: np.ndarray) -> np.ndarray:
    """The values along the border of a 2-D array."""
    return np.concatenate([values[0], values[-1], values[1:-1, 0], values[1:-1, -1]])


def _median(values: np.ndarray) -> float:
    return _quantile(values, 0.5)


def _quantile(values: np.ndarray, share: float) -> float:
    """The value below which about `share` of `values` lie (np.percentile is several times slower)."""
    index = min(values.size - 1, int(share * values.size))
    return float(np.partition(values, index, axis=None)[index])


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

    def blank(self, start: int, stop: int) -> float:
        """The blank paper between pieces `start` to `stop` where they do not touch, in digit heights."""
        return sum(max(0.0, self.pieces[i + 1].columns[0] - self.pieces[i].columns[1]) for i in range(start, stop - 1)
                   if self.crossings[i] == 0) / self.digit_height

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
        # Floor, not round: rounding half to even piles the half columns of a ±0.5 shear into the even columns,
        # a false sharpness that chose ±0.5 for two numbers in five.
        upright = np.floor(xs - slant * lean).astype(np.intp)
        profile = np.bincount(upright - upright.min(), weights=weights)
        return float(profile @ profile)

    return max(SLANTS, key=sharpness)


def _cut(ink: np.ndarray, top: int, left: int, slant: float, middle: float, digit_height: float, cut_width: float,
         stroke_width: float) -> tuple[list[Piece], list[float]]:
    """A group's ink as pieces, cut where its upright ink profile has minima when it is wide enough to hold
    touching digits; with the strokes each cut crosses. Each cut runs top to bottom along the path through the
    least ink near the slanted line at its minimum (touching digits rarely meet along a straight line)."""
    y, x = np.mgrid[top:top + ink.shape[0], left:left + ink.shape[1]]
    upright = x - slant * (y - middle)
    origin = float(upright.min())
    bins = np.floor(upright - origin).astype(np.intp)
    profile = np.bincount(bins.ravel(), weights=ink.ravel())
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
    if not cuts:
        return [_piece(ink, top, left, upright)], []
    # Each cut's path: row by row, the first column of the piece right of it (paths that cross are kept in order).
    reach = max(1, round(PATH_REACH * digit_height))
    lines = [origin + cut + slant * (np.arange(top, top + ink.shape[0]) - middle) - left for cut in cuts]
    paths = [_least_ink_path(ink, line, reach) for line in lines]
    for earlier, later in zip(paths, paths[1:]):
        np.maximum(later, earlier, out=later)
    columns = np.arange(ink.shape[1])
    bounds = [np.zeros(ink.shape[0], np.intp), *paths, np.full(ink.shape[0], ink.shape[1], np.intp)]
    pieces: list[Piece] = []
    crossings: list[float] = []
    crossing = 0.0  # of the cut before the next piece
    for index, (start, stop) in enumerate(zip(bounds, bounds[1:])):
        if index > 0:
            crossing = max(crossing, _path_ink(ink, start) / stroke_width)
        part = ink * ((columns >= start[:, None]) & (columns < stop[:, None]))
        if not np.any(part > STROKE_COVERAGE):
            continue  # nothing but a sliver between two cuts: the cuts around it are one
        if pieces:
            crossings.append(crossing)
        crossing = 0.0
        pieces.append(_piece(part, top, left, upright))
    return pieces, crossings


def _piece(part: np.ndarray, top: int, left: int, upright: np.ndarray) -> Piece:
    """A Piece of the ink `part`, which holds some stroke (a crop whose top-left pixel is (`top`, `left`); `upright`
    its pixels' upright columns)."""
    strokes = part > STROKE_COVERAGE
    ink_rows = np.flatnonzero(strokes.any(axis=1))
    upright_ink = upright[strokes]
    return Piece(top, left, part, (top + int(ink_rows[0]), top + int(ink_rows[-1]) + 1),
                 (float(upright_ink.min()), float(upright_ink.max()) + 1.0))


def _least_ink_path(ink: np.ndarray, line: np.ndarray, reach: int) -> np.ndarray:
    """The column, in each row, of the top-to-bottom path through the least ink that stays within `reach` columns
    of `line` (a column per row) and moves at most one column a row: the cut falls left of that column."""
    rows, width = ink.shape
    offsets = np.arange(-reach, reach + 1)
    columns = np.clip(np.rint(line).astype(np.intp)[:, None] + offsets, 0, width - 1)
    # A faint preference for the straight line settles paths through blank paper.
    cost = ink[np.arange(rows)[:, None], columns] + PATH_DRIFT * np.abs(offsets)
    totals = np.empty_like(cost)  # the least ink of a path from the top to each place
    totals[0] = cost[0]
    reachable = np.full(offsets.size + 2, np.inf, cost.dtype)  # a row's totals, walled in by inf
    for row in range(1, rows):
        reachable[1:-1] = totals[row - 1]
        np.minimum(np.minimum(reachable[:-2], reachable[1:-1]), reachable[2:], out=totals[row])
        totals[row] += cost[row]
    path = np.empty(rows, np.intp)
    step = int(totals[-1].argmin())
    for row in range(rows - 1, -1, -1):
        path[row] = columns[row, step]
        if row > 0:
            low = max(0, step - 1)
            step = low + int(totals[row - 1, low:step + 2].argmin())
    return path


def _path_ink(ink: np.ndarray, path: np.ndarray) -> float:
    """The ink a cut along `path` (a column per row) goes through."""
    return float(ink[np.arange(ink.shape[0]), np.minimum(path, ink.shape[1] - 1)].sum())


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


def _reduce(values: np.ndarray, limit: int) -> np.ndarray:
    """`values` box-averaged to at most `limit` a side (as is when already that small)."""
    if max(values.shape) <= limit:
        return values
    scale = limit / max(values.shape)
    return _resize(values, (max(1, round(values.shape[1] * scale)), max(1, round(values.shape[0] * scale))))


def _megabytes(count: int) -> str:
    return f"{count / (1024 * 1024):.3g} MB"


def _megapixels(count: int) -> str:
    return f"{count / 1e6:.3g} megapixels"
