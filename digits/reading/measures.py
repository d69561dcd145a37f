"""Measures of arrays that reading is built on: median, quantile, Otsu's split, the ink's span and box (less stray
specks), resizing with Pillow (also used to frame a digit)."""

from __future__ import annotations

import numpy as np
from PIL import Image

from digits.reading.decode import ImageError


# The ink's extent leaves out this share of its mass at each end: specks of noise far from it.
SPECK_MASS = 0.003


def median(values: np.ndarray) -> float:
    return quantile(values, 0.5)


def quantile(values: np.ndarray, share: float) -> float:
    """The value below which about `share` of `values` lie (np.percentile is several times slower)."""
    index = min(values.size - 1, int(share * values.size))
    return float(np.partition(values, index, axis=None)[index])


# The bins' centres, in bins from the lowest value (`otsu`).
_HALVES = np.arange(64) + 0.5


def otsu(values: np.ndarray, bins: int = 64) -> float:
    """Otsu's threshold: the split of the values into two classes with the largest between-class variance."""
    low, high = float(values.min()), float(values.max())
    if high <= low:
        return high
    step = (high - low) / bins
    # In float64: a float32 range of subnormals (a float picture's ink at -1e-36 beside a pixel at 1e5) has a
    # step whose inverse overflows float32, and inf × 0 would index nowhere.
    scaled = np.subtract(values, low, dtype=np.float64) if step < 1e-30 else values - low
    scaled *= 1.0 / step  # (in place: the same products, one array fewer)
    indices = scaled.astype(np.intp)
    np.minimum(indices, bins - 1, out=indices)
    counts = np.bincount(indices.ravel(), minlength=bins).astype(np.float64)
    centres = low + step * (_HALVES[:bins] if bins <= len(_HALVES) else np.arange(bins) + 0.5)
    below = counts.cumsum()[:-1]
    below_sum = (counts * centres).cumsum()[:-1]
    total, total_sum = below[-1] + counts[-1], below_sum[-1] + counts[-1] * centres[-1]
    # Splits with an empty side score 0: their numerator is exactly 0 (an empty side's sums are 0, or the whole's),
    # and a split's weight is a product of whole counts, so at least 1 when not 0 (np.errstate and np.nanargmax, or
    # np.divide's `where`, cost a small picture's split a good share over).
    between = (below_sum * total - total_sum * below) ** 2
    between /= np.maximum(below * (total - below), 1.0)
    best = int(between.argmax())
    return low + step * (best + 1) if between[best] > 0 else high


def span(profile: np.ndarray) -> tuple[int, int]:
    """Start and end of the ink along one axis, less a sliver of its mass at each end (stray specks of noise)."""
    cumulative = profile.cumsum(dtype=np.float64)  # (the method: NumPy's function adds a third to a short profile's sum)
    total = float(cumulative[-1])
    if total <= 0.0:
        raise ImageError("no digit found: the image looks empty")
    start = int(cumulative.searchsorted(SPECK_MASS * total, side="right"))
    end = int(cumulative.searchsorted((1.0 - SPECK_MASS) * total, side="left")) + 1
    return start, max(end, start + 1)


def ink_box(coverage: np.ndarray) -> tuple[int, int, int, int]:
    """Top, bottom, left, right of the ink (less stray specks)."""
    top, bottom = span(coverage.sum(axis=1))
    left, right = span(coverage.sum(axis=0))
    return top, bottom, left, right



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
