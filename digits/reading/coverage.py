"""Coverage: a look at a picture (one channel) → ink coverage in [0, 1], the ink split from the paper.

Which side is ink is the side that stands out of its surroundings (`polarity_of`); the background is what is left
when everything thinner than the strokes is filled in (uneven light, hard shadows, the table, the paper's edge stay
background; a clean picture's background is its edge's one level, `clean_level`); ruled paper's lines as dark as the
ink are seen through (`_ruling`); faint ink counts only beside strong ink; clutter is set aside
(`digits.reading.clutter`).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided
from PIL import Image

from digits.reading.clutter import STROKE_COVERAGE, clutter_mask, edge, within_reach
from digits.reading.decode import ImageError
from digits.reading.measures import median, otsu, quantile, reduce_to, resize, span


# Polarity is judged on a copy at most this large, against a median over this share of its longer side...
POLARITY_SIZE = 64
HALVED_MEDIAN_FROM = 32
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
# The background is what is left when everything thinner than this share of the picture's longer side is filled
# in (in a look at the whole picture, `whole_window`).
BACKGROUND_SHARE = 0.35
# Ink in a shadow is measured against the shadowed paper, up to this gain (darker is not lit paper: a table).
MAX_GAIN = 3.0
# Ink fainter than this share of full ink counts only within this share of the background window of stronger ink.
STRONG_INK = 0.5
FAINT_REACH = 0.1
# (Strong ink is stroke: `clutter.clutter_mask` counts on it for pictures whose ink is one stroke group.)
assert STRONG_INK > STROKE_COVERAGE
# Below this contrast (on a 0..255 scale) between ink and background there is no digit to see.
MIN_CONTRAST = 8.0
# Ink rare in a closer look (and in the detail of what it found) is the pixels at least this share of the strongest
# one's contrast, when Otsu's split finds no ink or finds more than RARE_SHARE of the pixels: a number small enough
# to need a closer look is a few hundredths of them at most, the lines of ruled or squared paper are far more. The
# ink's coverage then starts above the strongest of the rest (its LINES_QUANTILE): the lines beside the strokes.
RARE_INK = 0.5
RARE_SHARE = 0.1
LINES_QUANTILE = 0.99
# Background pixels count as ink only beyond this many standard deviations of their noise.
NOISE_SIGMAS = 4.0
# Ruled paper's lines dark enough to be ink: a straight line of ink across the whole picture or region, edge to edge
# (at most RULE_SLOPE off the horizontal), inked along at least RULE_INKED of its length, is the paper's ruling when
# it has another one (parallel, or converging in perspective), or runs on beyond the rest of the ink at both ends by
# RULE_BEYOND of its length (a 7's bar in a tight crop is one line, and ends where the digit does). It is set aside
# where it is no thicker than its own width; where a stroke crosses or touches it (the ink runs on beyond the line's
# width) the ink stays.
RULE_SLOPE = 0.25
RULE_INKED = 0.5
RULE_BEYOND = 0.1
RULE_THICKER = 1.5
RULE_STRIPS = (0.1, 0.9)
RULE_SIDES = 0.05
RULE_THIN = 0.06
# (Each one's slope is found where it crosses two strips at RULE_STRIPS of the width; more crossings than RULE_ENDS at
# either is a texture, not ruling; narrower than RULE_MIN_LENGTH, no line to see; a picture or region no larger
# than RULE_MIN_PICTURE a side, MNIST's 28×28 among them, shows no paper's ruling: not looked for.)
RULE_ENDS = 40
RULE_LIGHTER = 0.5
RULE_DARKER = 1.5
RULE_MIN_LENGTH = 16
RULE_MIN_PICTURE = 32
# A ruled line and its soft edges are at most this many pixels thick where they are set aside (RULE_THIN of a region
# `ink.DIGIT_HEIGHT` high and then some; a thicker run is seen through only partly).
RULE_MAX_RUN = 8
# Rules lie at least this many of their widths apart, and a lone one runs on beyond the ink by as much.
RULE_APART = 3.0


def whole_window(shape: tuple[int, ...]) -> int:
    """The background's window in a look at a whole picture (or surface) `shape` large: BACKGROUND_SHARE of its
    longer side, at least 3 pixels."""
    return max(3, round(BACKGROUND_SHARE * max(shape)))


def clean_level(signal: np.ndarray) -> float | None:
    """A clean picture's background (a drawing app's export, MNIST itself): its edge's one level, at an extreme."""
    border = edge(signal)
    level = float(border[0])
    if not (border == level).all():  # (the array's own method: NumPy's function costs a small picture's test twice)
        return None  # a photo's edge: settled before measuring the whole picture
    low, high = float(signal.min()), float(signal.max())
    return level if low < high and level in (low, high) else None


def ink_of(signal: np.ndarray, polarity: float, size: int, cut: bool, rare: bool = False, clutter: bool = True
         ) -> np.ndarray:
    """The ink's coverage against the background left when everything thinner than `size` is filled in.

    What the picture's edge cuts continues outwards (a table or shadow stays as wide as it is), unless the digit is
    `cut` by the edge: then there is paper beyond (a stroke cut by the edge stays a stroke).
    """
    bright = float(signal.max()) if polarity < 0 else float(signal.min())
    if polarity < 0:
        # Fill in everything dark and thinner than `size`: what is left is the paper, with its shadows and table.
        paper = _background(signal, size, closing=True, beyond=bright if cut else None)
        # Light falls on ink and paper alike: measured against the local paper, ink is equally dark in a shadow.
        lit = quantile(paper, 0.9)
        residual = (paper - signal) * np.minimum(lit / np.maximum(paper, 1.0), MAX_GAIN)
    else:
        paper = _background(signal, size, closing=False, beyond=bright if cut else None)
        residual = signal - paper
    return coverage_of(residual, size, rare, clutter)


def _background(signal: np.ndarray, size: int, closing: bool, beyond: float | None) -> np.ndarray:
    """SciPy's `grey_closing` (`closing`) or `grey_opening` of `signal` with a `size` × `size` square, the picture
    continued beyond its edge by its edge's own pixels (`beyond` None) or by the level `beyond`: what `ink_of` had
    as `ndimage.grey_closing(np.pad(signal, size // 2 + 1, mode="edge" or "constant"), size=(size, size),
    mode="nearest")` cropped back, bit for bit (a minimum or maximum is exact whatever the order it is taken in), at
    a third to a seventh of its cost: each filter's windows by doubling runs of rows (`_runs`), the picture turned
    so that they are always rows."""
    first, second = (np.maximum, np.minimum) if closing else (np.minimum, np.maximum)
    # The pixels both filters reach beyond the edge: a window starts (size - 1) // 2 pixels before the pixel it is for
    # in SciPy's grey_dilation, size // 2 in its grey_erosion.
    room = size - 1
    height, width = signal.shape
    if beyond is not None:
        extended = np.full((height + 2 * room, width + 2 * room), beyond, signal.dtype)
        extended[room:room + height, room:room + width] = signal
    else:
        extended = np.empty((height + 2 * room, width + 2 * room), signal.dtype)
        middle = extended[room:room + height]
        middle[:, room:room + width] = signal
        middle[:, :room] = signal[:, :1]
        middle[:, room + width:] = signal[:, -1:]
        extended[:room] = middle[0]
        extended[room + height:] = middle[-1]
    filtered = _runs(np.ascontiguousarray(_runs(extended, size, first).T), size, first)
    return _runs(np.ascontiguousarray(_runs(filtered, size, second).T), size, second)


def _runs(values: np.ndarray, size: int, operation: np.ufunc) -> np.ndarray:
    """`operation` (np.maximum or np.minimum) over each run of `size` consecutive rows: len(values) - size + 1 rows,
    by runs of 2, 4, 8, ... rows, then two overlapping ones."""
    step = 1
    while 2 * step <= size:
        values = operation(values[:-step], values[step:])
        step *= 2
    if step < size:
        values = operation(values[:len(values) - (size - step)], values[size - step:])
    return values


def coverage_of(residual: np.ndarray, size: int, rare: bool = False, clutter: bool = True) -> np.ndarray:
    """Ink coverage from the ink's contrast against the background (`residual`) found with a window of `size`.

    With `rare`, the ink may be a few pixels of a big picture (a number small in it, looked at closely, and the detail
    around it): Otsu's split may then be the paper's grain against its printed lines, seeing no ink beyond them or
    taking the lines for ink (more than RARE_SHARE of the pixels); the ink is then the pixels at least half as strong
    as the strongest (RARE_INK), its coverage starting above the strongest of the rest, the lines."""
    threshold = otsu(residual)
    lined = residual > RULE_LIGHTER * threshold
    ruling = _ruling(lined)
    if ruling is not None and (not rare or median(residual[ruling & lined]) > threshold):
        # Ruled paper's lines as dark as ink (Otsu's split takes them for ink): seen as the paper they are printed
        # on, the ink is split from the paper without them (thin or faint strokes may be lighter than the lines).
        # Ink far darker than the lines stays (a number a few pixels high, its strokes no longer than the lines are
        # thick).
        ruling &= residual <= RULE_DARKER * quantile(residual[ruling & lined], 0.9)
        residual = residual.copy()
        residual[ruling] = _beyond_lines(residual, ruling, median(residual[residual <= threshold]))
        threshold = otsu(residual)
    if not rare or np.count_nonzero(residual > threshold) <= RARE_SHARE * residual.size:
        try:
            return _coverage_split(residual, size, threshold, clutter=clutter)
        except ImageError:
            if not rare:
                raise
    return _coverage_split(residual, size, RARE_INK * quantile(residual, 1.0), above_rest=True, clutter=clutter)


def _beyond_lines(residual: np.ndarray, ruling: np.ndarray, paper: float) -> np.ndarray:
    """What the ruled lines (`ruling`, running along the rows) hide, for each of their pixels: the weaker of what lies
    just above and just below the line (a stroke crossing it, lighter than the line, runs on across it; paper, on one
    side, is paper), never less than the `paper` level; the `paper` level where the line runs on further than
    RULE_MAX_RUN up or down (an upright line: the margin)."""
    above, below = residual.copy(), residual.copy()
    seen_above, seen_below = ~ruling, ~ruling
    for _ in range(RULE_MAX_RUN):
        # (Each pass carries what lies beyond the line one pixel further into it.)
        above[1:] = np.where(ruling[1:], above[:-1], residual[1:])
        below[:-1] = np.where(ruling[:-1], below[1:], residual[:-1])
        seen_above[1:] |= ruling[1:] & seen_above[:-1]
        seen_below[:-1] |= ruling[:-1] & seen_below[1:]
    beyond = np.where(seen_above & seen_below, np.minimum(above, below), paper)
    return np.maximum(beyond[ruling], paper)


def _coverage_split(residual: np.ndarray, size: int, threshold: float, above_rest: bool = False, clutter: bool = True
                    ) -> np.ndarray:
    """Ink coverage from `residual`, the ink being what lies above `threshold` (`above_rest`: its coverage starting
    above the strongest of the rest, printed lines); ImageError if it does not stand out. (Without `clutter`, what
    looks like clutter stays.)"""
    ink_mask = residual > threshold
    background = residual[~ink_mask]
    ink = residual[ink_mask]
    if ink.size == 0 or background.size == 0:
        raise ImageError("no digit found: the image looks empty")
    # The filled-in paper sits a little above its noise: measure the noise around the background's own level.
    if 2 * np.count_nonzero(background) < background.size and float(background.min()) >= 0.0:
        # Most of it exactly 0 and none below (a clean picture's background is its edge's one level): its median
        # and its deviations' are 0, found without sorting it (two sorts were a fifth of a 28×28 digit's split).
        level = noise = 0.0
    else:
        level = median(background)
        noise = 1.4826 * median(np.abs(background - level))
    full_ink = median(ink)
    floor = max(level + NOISE_SIGMAS * noise, 0.1 * full_ink)
    if above_rest:
        floor = max(floor, quantile(background, LINES_QUANTILE))
    if full_ink < MIN_CONTRAST or full_ink <= floor:
        raise ImageError("no digit found: the image looks empty")
    coverage = (residual - floor) * (1.0 / (full_ink - floor))
    np.clip(coverage, 0.0, 1.0, out=coverage)
    # Faint ink counts only beside strong ink (a stroke's soft edge, pencil's grain): alone, it is the lines of
    # ruled or squared paper, the paper's grain or a smudge.
    reach = 2 * max(1, round(FAINT_REACH * size)) + 1
    coverage *= within_reach(coverage >= STRONG_INK, reach)  # (0 where none is near: no mask to invert and index by)
    if clutter:
        coverage[clutter_mask(coverage, faint_reach=reach)] = 0.0
    return coverage


def _ruling(ink: np.ndarray) -> np.ndarray | None:
    """The pixels of ruled or squared paper's lines among the `ink` (None if there are none): straight lines across
    it from edge to edge, and the margin (one upright line, alone when the rules are lighter than the ink), where no
    stroke crosses or touches them (see RULE_SLOPE)."""
    if max(ink.shape) <= RULE_MIN_PICTURE:
        return None
    across = _lines(ink, upright=False)
    # Lines across and two or more upright are squared paper, left as it was read (the grid's crossings cut every
    # stroke's runs short); one upright line beside ruled ones is the margin, and so it is alone (rules lighter than
    # the ink, a red margin as dark as it): running on beyond the rest of the ink at both ends, no 1 of a number.
    along = _lines(ink.T, upright=True)
    if along is None:
        return across
    upright = np.count_nonzero(np.diff(np.concatenate(([0], along.any(axis=1).astype(np.int8), [0]))) == 1)
    if upright >= 2:
        return None
    return along.T if across is None else across | along.T


def _lines(ink: np.ndarray, upright: bool) -> np.ndarray | None:
    """`_ruling`'s lines running along the rows of `ink` (its columns when `upright`: the picture transposed)."""
    height, width = ink.shape
    if width < RULE_MIN_LENGTH or height < 3:
        return None
    # Where lines cross two strips near the sides: each line crosses both, its slope apart.
    near, far = round(RULE_STRIPS[0] * (width - 1)), round(RULE_STRIPS[1] * (width - 1))
    # (One strip first: most pictures, a digit alone among them, have no line through it and end here.)
    left = _run_centres(np.any(ink[:, near - 1:near + 2], axis=1))
    if not left.size or left.size > RULE_ENDS:
        return None
    right = _run_centres(np.any(ink[:, far - 1:far + 2], axis=1))
    if not right.size or right.size > RULE_ENDS:
        return None
    # Each pair of crossings at most RULE_SLOPE apart is a candidate line, with its own slope (a page seen in
    # perspective has its rules converge: no one slope fits them all): its straight path across the picture, and the
    # share of its columns inked within a pixel of it. (Rows of paper added above and below: no path or run leaves
    # the array.)
    most = RULE_SLOPE * (far - near)
    from_left, to_right = np.nonzero(np.abs(right[None, :] - left[:, None]) <= most)
    if not from_left.size:
        return None
    slopes = (right[to_right] - left[from_left]) / (far - near)
    reach = max(3, round(RULE_THIN * height))
    pad = reach + 2
    padded = np.pad(ink, ((pad, pad), (0, 0)))
    near_ink = padded.copy()
    near_ink[1:] |= padded[:-1]
    near_ink[:-1] |= padded[1:]
    columns = np.arange(width)
    paths = np.clip(np.rint(left[from_left, None] + slopes[:, None] * (columns - near)).astype(np.intp), 0,
                    height - 1) + pad
    inked = near_ink[paths, columns]
    share = inked.mean(axis=1)
    # (A line runs on to both sides of the picture or region: digits' strokes in a row, the 2's base and the 4's bar
    # of a "24", end short of them.)
    side = max(1, round(RULE_SIDES * width))
    share[~(inked[:, :side].any(axis=1) & inked[:, -side:].any(axis=1))] = 0.0
    starts = np.rint(left[from_left] + slopes * ((width - 1) / 2 - near)).astype(np.intp)  # where each is mid-way
    # (Candidates a pixel or two apart mid-way are one line: the better inked is kept.)
    lines: list[int] = []
    for candidate, at in sorted(zip(np.flatnonzero(share >= RULE_INKED).tolist(), starts[share >= RULE_INKED].tolist()),
                                key=lambda pair: -share[pair[0]]):
        if all(abs(at - int(starts[line])) > 2 for line in lines):
            lines.append(candidate)
    if not lines:
        return None
    # The line's centre in each column (the inked row nearest the path), and how far the ink runs up and down.
    path = paths[lines]
    centre = np.where(padded[path, columns], path, np.where(padded[path + 1, columns], path + 1, path - 1))
    on = padded[centre, columns]
    up, down = np.zeros(path.shape, np.intp), np.zeros(path.shape, np.intp)
    going_up, going_down = on.copy(), on.copy()
    for step in range(1, reach + 1):
        going_up &= padded[centre - step, columns]
        going_down &= padded[centre + step, columns]
        up += going_up
        down += going_down
    run = up + down + 1
    # A band (a shadow's edge, a thick stroke) is no printed line: thicker than RULE_THIN of the picture.
    thickness = np.array([np.median(run[line][on[line]]) for line in range(len(lines))])
    printed = thickness <= reach
    if not np.any(printed):
        return None
    # Where the ink is the line alone, the line goes, with its soft edges (a pixel on either side); where a stroke
    # crosses or touches it, the ink stays.
    alone = on & printed[:, None] & (run <= RULE_THICKER * thickness[:, None] + 1)
    tops, lengths = (centre - up - 1)[alone], (up + down + 3)[alone]
    firsts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    ruling = np.zeros_like(padded)
    ruling[np.repeat(tops, lengths) + np.arange(firsts.size) - firsts,
           np.repeat(np.broadcast_to(columns, alone.shape)[alone], lengths)] = True
    ruling = ruling[pad:-pad]
    rest = ink & ~ruling
    if not np.any(rest):
        return None
    # Rules lie several of their own widths apart: lines closer than that are one thick stroke (a 7's bar).
    centres = np.sort(starts[lines][printed])
    ruled = centres.size >= 2 and float(np.diff(centres).min()) >= RULE_APART * float(thickness[printed].max())
    if upright or not ruled:
        # (The rest of the ink less lone pixels, the paper's grain: a stroke's pixels have inked neighbours.)
        stroke = np.zeros_like(rest)
        stroke[1:] |= rest[:-1]
        stroke[:-1] |= rest[1:]
        stroke[:, 1:] |= rest[:, :-1]
        stroke[:, :-1] |= rest[:, 1:]
        stroke &= rest
        first, last = span((stroke if np.any(stroke) else rest).sum(axis=0))
        if min(first, width - last) < max(RULE_BEYOND * width, RULE_APART * float(thickness[printed].max())):
            return None
    return ruling


def _run_centres(values: np.ndarray | np.bool_) -> np.ndarray:
    """The middle index of each run of True in a 1-D boolean array."""
    padded = np.concatenate(([False], values, [False]))
    changes = np.flatnonzero(padded[1:] != padded[:-1])
    return (changes[0::2] + changes[1::2] - 1) // 2


def polarity_of(signal: np.ndarray) -> float:
    """-1.0 for dark ink on a lighter background, 1.0 for light ink on a darker one."""
    return sides(signal)[0]


def sides(signal: np.ndarray) -> tuple[float, float, float]:
    """Which side is ink (`polarity_of`), and how much stands out of the signal on the dark side and on the light."""
    small = reduce_to(signal, POLARITY_SIZE)
    # A median over a wide window keeps what is large (paper, table, shadow, with their edges) and drops thin strokes.
    # (In an elongated picture, at most half its width: a number small in a wide photo stands out of it too.)
    window = max(3, min(round(POLARITY_WINDOW * max(small.shape)), (min(small.shape) // 2 - 1)) | 1)
    if min(small.shape) >= HALVED_MEDIAN_FROM:
        # On a copy half as large, a quarter of the work: what the median keeps is large anyway.
        half, half_window = reduce_to(small, max(small.shape) // 2), max(3, (window // 2) | 1)
        background = resize(_median_filter(_median_filter(half, half_window, axis=1), half_window, axis=0),
                            (small.shape[1], small.shape[0]), Image.Resampling.BILINEAR)
    else:
        background = _median_filter(_median_filter(small, window, axis=1), window, axis=0)
    residual = small - background
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
                return side, dark, light
    # ...else (a digit filling the frame) the edge decides; and if the edge is split too, the ink is the minority.
    if abs(edge_share - 0.5) >= EDGE_MARGIN:
        return edge_ink, dark, light
    return -1.0 if np.count_nonzero(darker) * 2 < darker.size else 1.0, dark, light


def _median_filter(values: np.ndarray, window: int, axis: int) -> np.ndarray:
    """SciPy's `median_filter` along one axis of a 2-D array with an odd `window` no longer than the axis (its default,
    mirrored edges), three times faster: the median of each window by one partition of all the windows at once."""
    half = window // 2
    if axis == 0:
        padded = np.concatenate((values[half - 1::-1], values, values[:-half - 1:-1]), axis=0)
    else:
        padded = np.concatenate((values[:, half - 1::-1], values, values[:, :-half - 1:-1]), axis=1)
    # (The windows as a view, as `sliding_window_view` makes it, without its checks: a third of this filter's cost.)
    windows = as_strided(padded, values.shape + (window,), padded.strides + (padded.strides[axis],), writeable=False)
    return np.partition(windows, half, axis=-1)[..., half]
