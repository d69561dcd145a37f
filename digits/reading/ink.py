"""Ink: a picture's channel → ink coverage in [0, 1], lighting, polarity and clutter removed.

Which side is ink is the side that stands out of its surroundings; the background is what is left when
everything thinner than the strokes is filled in (uneven light, hard shadows, the table, the paper's edge stay
background; a clean picture's background is its edge's one level); faint ink counts only beside strong ink (not
ruled or squared paper's lines); clutter is set aside (`digits.reading.clutter`).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from PIL import Image
from scipy import ndimage

from digits.reading.clutter import clutter_mask, edge
from digits.reading.decode import ImageError


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
# The ink's extent leaves out this share of its mass at each end: specks of noise far from it.
SPECK_MASS = 0.003


def isolate_ink(signal: np.ndarray) -> np.ndarray:
    """Ink coverage in [0, 1] (1 = full stroke, 0 = background), lighting and polarity removed."""
    border = edge(signal)
    low, high = float(signal.min()), float(signal.max())
    if low < high and border[0] in (low, high) and np.all(border == border[0]):
        # A clean picture (a drawing app's export, MNIST itself): the background is its edge's one level, exactly.
        polarity = -1.0 if border[0] == high else 1.0
        return _coverage(polarity * (signal - float(border[0])), max(3, round(BACKGROUND_SHARE * max(signal.shape))))
    polarity = _polarity(signal)
    if min(signal.shape) >= SMOOTH_FROM:
        # Photos: average out sensor noise, which the filling-in below would otherwise lift into the paper's level.
        signal = ndimage.uniform_filter(signal, 3)
    # First pass, on a copy at most FIRST_PASS_SIZE a side: fill in what is thinner than a good share of the picture.
    small = reduce_to(signal, FIRST_PASS_SIZE)
    scale = small.shape[0] / signal.shape[0]
    coverage = _ink(small, polarity, max(3, round(BACKGROUND_SHARE * max(small.shape))), cut=False)
    cut = bool(np.any(edge(coverage)))
    if cut:
        # The digit runs off the picture (a tight crop): what the edge cuts is a stroke, with paper beyond.
        coverage = _ink(small, polarity, max(3, round(BACKGROUND_SHARE * max(small.shape))), cut=True)
    if small is signal:
        return coverage
    # Second pass: the strokes need less filling-in than that, and the less is filled in, the better the corners of
    # shadows, tables and paper stay background.
    top, bottom = span(coverage.sum(axis=1))
    left, right = span(coverage.sum(axis=0))
    size = max(3, round(min(BACKGROUND_SHARE * max(signal.shape), STROKE_ROOM * max(bottom - top, right - left) / scale)))
    return _ink(signal, polarity, size, cut=cut)


def _ink(signal: np.ndarray, polarity: float, size: int, cut: bool) -> np.ndarray:
    """The ink's coverage against the background left when everything thinner than `size` is filled in.

    What the picture's edge cuts continues outwards (a table or shadow stays as wide as it is), unless the digit is
    `cut` by the edge: then there is paper beyond (a stroke cut by the edge stays a stroke).
    """
    bright = float(signal.max()) if polarity < 0 else float(signal.min())
    # Padded by half the window: the filters extend the padding's own edge further, which is all they need.
    pad = size // 2 + 1
    padded = np.pad(signal, pad, mode="constant", constant_values=bright) if cut else np.pad(signal, pad, mode="edge")
    if polarity < 0:
        # Fill in everything dark and thinner than `size`: what is left is the paper, with its shadows and table.
        paper = ndimage.grey_closing(padded, size=(size, size), mode="nearest")[pad:-pad, pad:-pad]
        # Light falls on ink and paper alike: measured against the local paper, ink is equally dark in a shadow.
        lit = quantile(paper, 0.9)
        residual = (paper - signal) * np.minimum(lit / np.maximum(paper, 1.0), MAX_GAIN)
    else:
        paper = ndimage.grey_opening(padded, size=(size, size), mode="nearest")[pad:-pad, pad:-pad]
        residual = signal - paper
    return _coverage(residual, size)


def _coverage(residual: np.ndarray, size: int) -> np.ndarray:
    """Ink coverage from the ink's contrast against the background (`residual`) found with a window of `size`."""
    ink_mask = residual > otsu(residual)
    background = residual[~ink_mask]
    ink = residual[ink_mask]
    if ink.size == 0 or background.size == 0:
        raise ImageError("no digit found: the image looks empty")
    # The filled-in paper sits a little above its noise: measure the noise around the background's own level.
    level = median(background)
    noise = 1.4826 * median(np.abs(background - level))
    full_ink = median(ink)
    floor = max(level + NOISE_SIGMAS * noise, 0.1 * full_ink)
    if full_ink < MIN_CONTRAST or full_ink <= floor:
        raise ImageError("no digit found: the image looks empty")
    coverage = (residual - floor) * (1.0 / (full_ink - floor))
    np.clip(coverage, 0.0, 1.0, out=coverage)
    # Faint ink counts only beside strong ink (a stroke's soft edge, pencil's grain): alone, it is the lines of
    # ruled or squared paper, the paper's grain or a smudge.
    reach = 2 * max(1, round(FAINT_REACH * size)) + 1
    coverage[~ndimage.maximum_filter(coverage >= STRONG_INK, size=reach)] = 0.0
    coverage[clutter_mask(coverage)] = 0.0
    return coverage


def _polarity(signal: np.ndarray) -> float:
    """-1.0 for dark ink on a lighter background, 1.0 for light ink on a darker one."""
    small = reduce_to(signal, POLARITY_SIZE)
    # A median over a wide window keeps what is large (paper, table, shadow, with their edges) and drops thin strokes.
    window = max(3, round(POLARITY_WINDOW * max(small.shape)) | 1)
    residual = small - _median_filter(_median_filter(small, window, axis=1), window, axis=0)
    # What stands out beyond the noise (at least a level: flat drawings have none) and beyond texture.
    contrast = quantile(small, 0.99) - quantile(small, 0.01)
    tau = max(TAIL_SIGMAS * 1.4826 * median(np.abs(residual)) + 1.0, TAIL_SHARE * contrast)
    dark = float(np.maximum(-residual - tau, 0.0).sum())
    light = float(np.maximum(residual - tau, 0.0).sum())
    # The picture's edge is mostly background, even where a tight crop cuts the digit.
    darker = small <= otsu(small)
    edge_share = np.count_nonzero(edge(darker)) / edge(darker).size
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


def _median_filter(values: np.ndarray, window: int, axis: int) -> np.ndarray:
    """SciPy's `median_filter` along one axis with an odd `window` (its default, mirrored edges), three times faster:
    the median of each window by one partition of all the windows at once."""
    half = window // 2
    padding = [(0, 0), (0, 0)]
    padding[axis] = (half, half)
    windows = sliding_window_view(np.pad(values, padding, mode="symmetric"), window, axis=axis)
    return np.partition(windows, half, axis=-1)[..., half]


# -- measuring arrays (also used to frame a digit) ---------------------------------------------


def median(values: np.ndarray) -> float:
    return quantile(values, 0.5)


def quantile(values: np.ndarray, share: float) -> float:
    """The value below which about `share` of `values` lie (np.percentile is several times slower)."""
    index = min(values.size - 1, int(share * values.size))
    return float(np.partition(values, index, axis=None)[index])


def otsu(values: np.ndarray, bins: int = 64) -> float:
    """Otsu's threshold: the split of the values into two classes with the largest between-class variance."""
    low, high = float(values.min()), float(values.max())
    if high <= low:
        return high
    step = (high - low) / bins
    # In float64: a float32 range of subnormals (a float picture's ink at -1e-36 beside a pixel at 1e5) has a
    # step whose inverse overflows float32, and inf × 0 would index nowhere.
    scaled = np.subtract(values, low, dtype=np.float64) if step < 1e-30 else values - low
    indices = np.minimum((scaled * (1.0 / step)).astype(np.intp), bins - 1)
    counts = np.bincount(indices.ravel(), minlength=bins).astype(np.float64)
    centres = low + step * (np.arange(bins) + 0.5)
    below = np.cumsum(counts)[:-1]
    below_sum = np.cumsum(counts * centres)[:-1]
    total, total_sum = below[-1] + counts[-1], below_sum[-1] + counts[-1] * centres[-1]
    above = total - below
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (below_sum * total - total_sum * below) ** 2 / (below * above)
    return low + step * (int(np.nanargmax(between)) + 1) if np.any(between > 0) else high


def span(profile: np.ndarray) -> tuple[int, int]:
    """Start and end of the ink along one axis, less a sliver of its mass at each end (stray specks of noise)."""
    cumulative = np.cumsum(profile, dtype=np.float64)
    total = cumulative[-1]
    if total <= 0.0:
        raise ImageError("no digit found: the image looks empty")
    start = int(np.searchsorted(cumulative, SPECK_MASS * total, side="right"))
    end = int(np.searchsorted(cumulative, (1.0 - SPECK_MASS) * total, side="left")) + 1
    return start, max(end, start + 1)


def resize(values: np.ndarray, size: tuple[int, int], method: Image.Resampling = Image.Resampling.BOX) -> np.ndarray:
    """Resize a float32 array to (width, height) with Pillow, which antialiases when shrinking."""
    if values.shape == (size[1], size[0]):
        return values
    return np.asarray(Image.fromarray(values).resize(size, method))


def reduce_to(values: np.ndarray, limit: int) -> np.ndarray:
    """`values` box-averaged to at most `limit` a side (as is when already that small)."""
    if max(values.shape) <= limit:
        return values
    scale = limit / max(values.shape)
    return resize(values, (max(1, round(values.shape[1] * scale)), max(1, round(values.shape[0] * scale))))
