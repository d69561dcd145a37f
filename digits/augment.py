"""On-the-fly augmentation of 28×28 training digits, vectorised in NumPy (no TensorFlow here).

Each epoch every training digit is drawn anew: a small rotation, shear, scale and aspect change,
a shift of up to ±2 px and an elastic distortion (one bilinear resampling), thicker or thinner
strokes, sometimes a blur. The digit is *not* re-centred afterwards: the network learns to
tolerate imperfect framing, as pictures framed by `digits.reading.to_mnist` are.

Speed: the geometric warps come from a bank of `BANK` random maps drawn per epoch (each a full
28×28 field of source coordinates, so elastic distortion costs nothing per image), paired with
images at random; each warp is a sparse matrix (four weights per output pixel) applied to all of
its images at once. `EpochAugmenter` prepares the
next epoch on a second thread while the network trains on the current one.

Not one digit (outlier exposure, `train.py --outliers`): a number is split by reading every run of its pieces with
the network (`digits.reading.splitting`), so the network must say "unsure" of a run that is not one digit. A share
of each epoch are such runs (`not_digits`): two training digits touching or overlapping (a third of them a 1 beside
a round digit), a digit's left, right, top or bottom part, a fragment of its strokes; framed as the reading frames a
run (`digits.reading.frame`), augmented like the rest, and labelled NOT_A_DIGIT, which training turns into a
uniform target over the ten digits.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
from scipy import sparse

# scipy.ndimage and digits.reading (the reading's framing) are imported where they are used: train.py imports this
# module for `soft_targets` on every run, and a run that neither augments nor adds outliers needs neither.

SIZE = 28
BANK = 512  # warps drawn per epoch
MAX_ROTATION = np.radians(12.0)
MAX_SHEAR = 0.2
MAX_SCALE = 0.12  # log-scale: 0.89×–1.13×
MAX_ASPECT = 0.12
MAX_SHIFT = 2.0  # pixels, each axis
ELASTIC_SIGMA = 4.0  # smoothness of the elastic field (pixels)
ELASTIC_ALPHA = 0.7  # its typical displacement (pixels)
THICKER, THINNER, BLURRED = 0.25, 0.2, 0.15  # shares of the images with each stroke change
CHUNK = 4096  # images augmented at a time
# Community corrections (train.py --community): this share of each epoch's samples are accepted community examples,
# drawn with replacement, each example at most this many times per epoch (benchmarks/community.py chose both).
COMMUNITY_SHARE = 0.1
COMMUNITY_MAX_DRAWS = 50

# Not one digit: the label of such an example, and what each epoch's are made of. PAIRS of them are two digits
# whose ink is from MAX_OVERLAP pixels overlapping (at most a third of the narrower one's width: two 1s must not merge
# into one) to MAX_GAP apart, up to PAIR_LIFT pixels apart in height, ONE_PAIRS of the pairs a 1 beside a ROUND digit;
# PARTS are a digit's left, right, top or bottom part (cut at PART_CUT of its ink's extent); the rest are fragments
# of its strokes (a window of FRAGMENT_WINDOW of its ink's extent each way). A part or fragment keeps from MIN_INK to
# MAX_INK of the digit's ink (more is still the digit). None is a stroke that could be a 1: a line (its ink's second
# moments' axes in a ratio under ONE_THINNESS) within ONE_LEAN of upright. The mix was chosen on the tuning seeds of
# `benchmarks/number_accuracy.py` (first and hard generators): pairs-heavy mixes lost fewer digits than half pairs.
NOT_A_DIGIT = -1
PAIRS, PARTS = 0.75, 0.15
ONE_PAIRS = 1 / 3
ROUND = (0, 2, 3, 5, 6, 8, 9)
MAX_OVERLAP, MAX_GAP, PAIR_LIFT = 4, 1, 2
PART_CUT = (0.3, 0.7)
FRAGMENT_WINDOW = (0.45, 0.7)
MIN_INK, MAX_INK = 0.15, 0.7
ONE_THINNESS, ONE_LEAN = 0.4, np.radians(50.0)
INK_LEVEL = 64  # of 255: a pixel that is ink when measuring extents

_PADDED = SIZE + 2
_GRID = np.arange(SIZE, dtype=np.float32) - (SIZE - 1) / 2


def warp_bank(rng: np.random.Generator, count: int = BANK) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`count` random warps as (flat index of the top-left source pixel in a 1-px-padded image, fx, fy).

    Source coordinates outside the picture read the padding (background).
    """
    yy, xx = np.meshgrid(_GRID, _GRID, indexing="ij")

    def uniform(limit: float) -> np.ndarray:
        return rng.uniform(-limit, limit, (count, 1, 1)).astype(np.float32)

    angle, shear = uniform(float(MAX_ROTATION)), uniform(MAX_SHEAR)
    scale, aspect = np.exp(uniform(MAX_SCALE)), np.exp(uniform(MAX_ASPECT))
    cos, sin = np.cos(angle), np.sin(angle)
    # The inverse map: where each output pixel reads from.
    src_x = (cos * xx - sin * yy) / (scale * aspect) + shear * yy
    src_y = (sin * xx + cos * yy) * aspect / scale
    from scipy import ndimage

    field = rng.normal(0.0, 1.0, (count, 2, SIZE, SIZE)).astype(np.float32)
    field = ndimage.gaussian_filter(field, sigma=(0, 0, ELASTIC_SIGMA, ELASTIC_SIGMA), mode="constant")
    field *= ELASTIC_ALPHA / np.maximum(field.std(axis=(2, 3), keepdims=True), 1e-6)
    src_x = src_x + (SIZE - 1) / 2 + uniform(MAX_SHIFT) + field[:, 0]
    src_y = src_y + (SIZE - 1) / 2 + uniform(MAX_SHIFT) + field[:, 1]
    # Into the padded image: pixel (y, x) is at (y + 1, x + 1); clip so that the 2×2 neighbourhood stays inside.
    src_x = np.clip(src_x + 1, 0, _PADDED - 1.001)
    src_y = np.clip(src_y + 1, 0, _PADDED - 1.001)
    x0, y0 = np.floor(src_x), np.floor(src_y)
    index = (y0 * _PADDED + x0).astype(np.int32).reshape(count, -1)
    return index, (src_x - x0).reshape(count, -1), (src_y - y0).reshape(count, -1)


def _cross(images: np.ndarray, pick: np.ufunc) -> np.ndarray:
    """Each pixel and its four neighbours, max-reduced (grey dilation with a cross), for images in [0, 1]."""
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1)))
    out = images.copy()
    for dy, dx in ((0, 1), (2, 1), (1, 0), (1, 2)):
        pick(out, padded[:, dy : dy + SIZE, dx : dx + SIZE], out=out)
    return out


def _strokes(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Thicker (grey dilation), thinner (grey erosion) or blurred strokes for random shares of (n, 28, 28) in [0, 1]."""
    n = len(images)
    out = images  # changed in place
    roll = rng.random(n)
    thick = np.flatnonzero(roll < THICKER)
    thin = np.flatnonzero((roll >= THICKER) & (roll < THICKER + THINNER))
    blur = np.flatnonzero(rng.random(n) < BLURRED)
    if len(thick):
        v = images[thick]
        out[thick] = v + rng.uniform(0.3, 1.0, (len(thick), 1, 1)).astype(np.float32) * (_cross(v, np.maximum) - v)
    if len(thin):
        v = images[thin]
        out[thin] = v + rng.uniform(0.2, 0.6, (len(thin), 1, 1)).astype(np.float32) * (_cross(v, np.minimum) - v)
    if len(blur):
        v = out[blur]
        padded = np.pad(v, ((0, 0), (1, 1), (1, 1)))
        out[blur] = 0.5 * v + 0.125 * (padded[:, :-2, 1:-1] + padded[:, 2:, 1:-1] + padded[:, 1:-1, :-2] + padded[:, 1:-1, 2:])
    return out


def soft_targets(labels: np.ndarray, classes: int = 10) -> np.ndarray:
    """The training targets of `labels` (float32, (n, classes)): one-hot, and for NOT_A_DIGIT the uniform distribution,
    the network's most unsure answer."""
    labels = np.asarray(labels)
    targets = np.zeros((len(labels), classes), np.float32)
    targets[np.flatnonzero(labels >= 0), labels[labels >= 0]] = 1.0
    targets[labels == NOT_A_DIGIT] = 1.0 / classes
    return targets


def _extent(ink: np.ndarray) -> tuple[int, int, int, int]:
    """Top, bottom, left, right (exclusive) of the pixels of a 28×28 uint8 image that are ink."""
    rows, columns = np.flatnonzero(ink.max(axis=1) > INK_LEVEL), np.flatnonzero(ink.max(axis=0) > INK_LEVEL)
    return int(rows[0]), int(rows[-1]) + 1, int(columns[0]), int(columns[-1]) + 1


def _pair(first: np.ndarray, second: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Two digits side by side, their ink touching or overlapping, as one canvas (uint8)."""
    _, _, first_left, first_right = _extent(first)
    _, _, second_left, second_right = _extent(second)
    overlap = min(MAX_OVERLAP, min(first_right - first_left, second_right - second_left) // 3)
    shift = first_right + int(rng.integers(-overlap, MAX_GAP + 1)) - second_left  # second's offset from first's
    lift = int(rng.integers(-PAIR_LIFT, PAIR_LIFT + 1))
    canvas = np.zeros((SIZE + 2 * PAIR_LIFT, SIZE + abs(shift)), np.uint8)
    for image, row, column in ((first, PAIR_LIFT, max(0, -shift)), (second, PAIR_LIFT + lift, max(0, shift))):
        area = canvas[row:row + SIZE, column:column + SIZE]
        np.maximum(area, image, out=area)
    return canvas


def _part(image: np.ndarray, rng: np.random.Generator) -> np.ndarray | None:
    """A digit's left, right, top or bottom part, or a fragment of its strokes; None when it keeps too little or too
    much of the digit's ink."""
    top, bottom, left, right = _extent(image)
    kept = np.zeros_like(image)
    if rng.random() < PARTS / (1 - PAIRS):
        side = int(rng.integers(4))
        low, high = (top, bottom) if side < 2 else (left, right)
        cut = low + round(rng.uniform(*PART_CUT) * (high - low))
        window = [slice(None), slice(None)]
        window[side // 2] = slice(low, cut) if side % 2 == 0 else slice(cut, high)
        kept[tuple(window)] = image[tuple(window)]
    else:
        height, width = (round(rng.uniform(*FRAGMENT_WINDOW) * extent) for extent in (bottom - top, right - left))
        row, column = int(rng.integers(top, bottom - height + 1)), int(rng.integers(left, right - width + 1))
        kept[row:row + max(1, height), column:column + max(1, width)] = image[row:row + max(1, height), column:column + max(1, width)]
    share = kept.sum(dtype=np.int64) / image.sum(dtype=np.int64)
    return kept if MIN_INK <= share <= MAX_INK else None


def could_be_a_one(image: np.ndarray) -> bool:
    """Whether the ink is a line within ONE_LEAN of upright (thinner than ONE_THINNESS by its second moments)."""
    weights = image.astype(np.float64)
    total = weights.sum()
    if total <= 0.0:
        return False
    row_mass, column_mass = weights.sum(axis=1), weights.sum(axis=0)
    down = np.arange(image.shape[0]) - float(row_mass @ np.arange(image.shape[0])) / total  # from the centre of mass
    across = np.arange(image.shape[1]) - float(column_mass @ np.arange(image.shape[1])) / total
    covariance = np.array([[row_mass @ down**2, down @ weights @ across], [down @ weights @ across, column_mass @ across**2]]) / total
    (minor, major), vectors = np.linalg.eigh(covariance)
    lean = np.arccos(min(1.0, abs(float(vectors[0, 1]))))  # the major axis's angle from upright
    return bool(np.sqrt(max(minor, 0.0) / max(major, 1e-9)) < ONE_THINNESS and lean < ONE_LEAN)


def not_digits(images: np.ndarray, labels: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """`count` pictures that are not one digit, made from `images` (uint8 (n, 28, 28), white on black, with their
    `labels`) and framed as the reading frames a run of pieces: (count, 28, 28) uint8. See NOT_A_DIGIT."""
    from digits.reading import frame

    ones, rounds = np.flatnonzero(labels == 1), np.flatnonzero(np.isin(labels, ROUND))
    out = np.empty((count, SIZE, SIZE), np.uint8)
    for index in range(count):
        while could_be_a_one(example := frame(_not_one_digit(images, ones, rounds, rng).astype(np.float32) / 255.0)):
            pass
        out[index] = example
    return out


def _not_one_digit(images: np.ndarray, ones: np.ndarray, rounds: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A canvas that is not one digit: a pair (a 1 beside a round digit, or any two digits), a part or a fragment."""
    if rng.random() < PAIRS:
        if rng.random() < ONE_PAIRS:
            pick = [int(rng.choice(ones)), int(rng.choice(rounds))]
            rng.shuffle(pick)
        else:
            pick = rng.integers(0, len(images), 2).tolist()
        return _pair(images[pick[0]], images[pick[1]], rng)
    while (part := _part(images[rng.integers(0, len(images))], rng)) is None:
        pass
    return part


def warp_matrices(bank: tuple[np.ndarray, np.ndarray, np.ndarray]) -> list[sparse.csr_matrix]:
    """Each warp of the bank as a sparse 784×900 matrix: a padded image's pixels → the warped image's (bilinear)."""
    index, fx, fy = bank
    rows = np.repeat(np.arange(SIZE * SIZE), 4)
    matrices = []
    for k in range(len(index)):
        i, wx, wy = index[k], fx[k], fy[k]
        cols = np.stack([i, i + 1, i + _PADDED, i + _PADDED + 1], axis=1).ravel()
        vals = np.stack([(1 - wx) * (1 - wy), wx * (1 - wy), (1 - wx) * wy, wx * wy], axis=1).ravel().astype(np.float32)
        matrices.append(sparse.csr_matrix((vals, (rows, cols)), shape=(SIZE * SIZE, _PADDED * _PADDED)))
    return matrices


def augment(images: np.ndarray, rng: np.random.Generator, bank: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
            out: np.ndarray | None = None) -> np.ndarray:
    """Augmented copies of `images` (uint8 0-255 or float 0-1, (n, 28, 28), white on black) as float32 in [0, 1].

    Worked through in chunks small enough to stay in the processor's cache; written into `out`
    (float32, n × 784) when given, which spares the system a fresh allocation per epoch.
    """
    source = np.asarray(images).reshape(-1, SIZE, SIZE)
    scale = np.float32(1 / 255 if source.dtype == np.uint8 else 1)
    matrices = [m.T.tocsr() for m in warp_matrices(warp_bank(rng) if bank is None else bank)]
    if out is None:
        out = np.empty((len(source), SIZE * SIZE), np.float32)
    for start in range(0, len(source), CHUNK):
        chunk = _strokes(source[start : start + CHUNK].astype(np.float32) * scale, rng)
        choice = rng.integers(0, len(matrices), len(chunk))
        order = np.argsort(choice, kind="stable")
        padded = np.pad(chunk, ((0, 0), (1, 1), (1, 1))).reshape(len(chunk), -1)[order]
        bounds = np.searchsorted(choice[order], np.arange(len(matrices) + 1))
        warped = np.empty((len(chunk), SIZE * SIZE), np.float32)
        for k, matrix in enumerate(matrices):
            if bounds[k + 1] > bounds[k]:
                warped[bounds[k] : bounds[k + 1]] = padded[bounds[k] : bounds[k + 1]] @ matrix
        out[start + order] = warped
    return out.reshape(-1, SIZE, SIZE)


class EpochAugmenter:
    """Augmented epochs of a fixed set of digits, each prepared on a worker thread while the previous one trains.

    `next()` gives (images normalized as in training: (n, 784) in [-0.5, 0.5], labels); with `typed`
    digits (uint8 28×28 and their labels) `typed_share` of each epoch's samples are typed digits drawn
    with replacement, augmented the same way. With `community` examples (uint8 28×28, labels) the epoch
    ends with `community_count` of them (COMMUNITY_SHARE, capped at COMMUNITY_MAX_DRAWS per example), drawn
    with replacement and augmented like the rest: not at all when `augment_images` is off. With `outlier_share`,
    that share of each epoch's samples are pictures that are not one digit (`not_digits`, made once from `images`
    on the worker thread while training starts, augmented anew each epoch), labelled NOT_A_DIGIT.
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray, seed: int, typed: tuple[np.ndarray, np.ndarray] | None = None,
                 typed_share: float = 0.0, augment_images: bool = True,
                 community: tuple[np.ndarray, np.ndarray] | None = None, outlier_share: float = 0.0) -> None:
        count = len(images)
        self.images = np.asarray(images).reshape(-1, SIZE, SIZE)
        self.labels = np.asarray(labels)
        self.typed = typed
        self.typed_count = 0 if typed is None or not len(typed[0]) else round(count * typed_share / (1 - typed_share))
        self.outlier_count = round(count * outlier_share / (1 - outlier_share))
        self.community = community
        self.community_count = 0 if community is None else min(
            round(count * COMMUNITY_SHARE / (1 - COMMUNITY_SHARE)), COMMUNITY_MAX_DRAWS * len(community[0]))
        self.augment_images = augment_images
        # The epoch's digits before augmentation (the typed and community ones are drawn anew each epoch), and two
        # output buffers used in turn: an epoch's arrays are reused two epochs later, when nothing reads them any more.
        self._source = np.empty((count + self.typed_count + self.outlier_count + self.community_count, SIZE, SIZE), np.float32)
        self._source[:count] = np.asarray(images, np.float32).reshape(-1, SIZE, SIZE) / 255.0
        self._buffers = [np.empty((len(self._source), SIZE * SIZE), np.float32) for _ in range(2)]
        self._turn = 0
        self._outliers_made = False
        self._rng = np.random.default_rng([seed, 15])
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="augment")
        self._next: Future[tuple[np.ndarray, np.ndarray]] = self._executor.submit(self._epoch)

    def _epoch(self) -> tuple[np.ndarray, np.ndarray]:
        with self._lock:
            rng = self._rng
            labels = self.labels
            if self.typed_count and self.typed is not None:
                pick = rng.integers(0, len(self.typed[0]), self.typed_count)
                self._source[len(self.labels):len(self.labels) + self.typed_count] = self.typed[0][pick].astype(np.float32) / 255.0
                labels = np.concatenate([labels, self.typed[1][pick]])
            if self.outlier_count:
                if not self._outliers_made:  # made once, like the training digits, and augmented anew each epoch
                    outliers_start = len(self.labels) + self.typed_count
                    self._source[outliers_start:outliers_start + self.outlier_count] = not_digits(
                        self.images, self.labels, self.outlier_count, rng).astype(np.float32) / 255.0
                    self._outliers_made = True
                labels = np.concatenate([labels, np.full(self.outlier_count, NOT_A_DIGIT, np.int64)])
            community_start = len(self._source) - self.community_count
            if self.community_count and self.community is not None:
                pick = rng.integers(0, len(self.community[0]), self.community_count)
                self._source[community_start:] = self.community[0][pick].astype(np.float32) / 255.0
                labels = np.concatenate([labels, self.community[1][pick]])
            buffer = self._buffers[self._turn]
            self._turn = 1 - self._turn
            if self.augment_images:
                augment(self._source, rng, out=buffer)
            else:
                buffer[:] = self._source.reshape(len(buffer), -1)
            buffer -= 0.5
            return buffer, labels

    def next(self) -> tuple[np.ndarray, np.ndarray]:
        epoch = self._next.result()
        self._next = self._executor.submit(self._epoch)
        return epoch

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        while True:
            yield self.next()

    def close(self) -> None:
        self._next.cancel()
        self._executor.shutdown(wait=True)
