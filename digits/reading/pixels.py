"""Small array tools the stages share: an array's border, quantiles, Otsu's threshold, the ink's span, resizing."""

from __future__ import annotations

import numpy as np
from PIL import Image

from digits.reading.decode import ImageError


# The digit's extent leaves out this share of the ink's mass at each end: specks of noise far from it.
SPECK_MASS = 0.003
# Pixels at least this much ink make up the strokes that are grouped into digits.
STROKE_COVERAGE = 0.25
EIGHT_NEIGHBOURS = np.ones((3, 3))


def edge(values: np.ndarray) -> np.ndarray:
    """The values along the border of a 2-D array."""
    return np.concatenate([values[0], values[-1], values[1:-1, 0], values[1:-1, -1]])


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
