"""Numbers in one picture: the ink split into digits (joins, specks, touching pairs), read left to right."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from digits.inference import InferenceService, Prediction
from digits.reading import ImageError, Segmentation, segment, splitting, to_mnist
from digits.reading.clutter import STROKE_COVERAGE
from digits.reading.segmentation import Piece, _slant, segment_ink
from digits.reading.splitting import MAX_RUN, best_cover, candidate_runs
from model_store import ModelStore
from network.architecture import normalize
from samples import pictures as styles
from samples.numbers import NumberScores, all_digits, edit_distance, measure, score
from tests.fixtures.mnist import REPO


def canvas_with(*placed: tuple[np.ndarray, int, int], size: tuple[int, int] = (300, 900)) -> bytes:
    """Ink coverages pasted at (top, left) on white paper, as a drawing-app PNG."""
    canvas = np.zeros(size, np.float32)
    for ink, top, left in placed:
        region = canvas[top:top + ink.shape[0], left:left + ink.shape[1]]
        np.maximum(region, ink[: region.shape[0], : region.shape[1]], out=region)
    return styles.encode(styles.black_on_white(canvas), "PNG")


def digit_of(test_digits, label: int, size: int = 200) -> np.ndarray:
    images, labels = test_digits
    return styles.upscale(images[int(np.flatnonzero(labels == label)[0])], size)


def read(service: InferenceService, picture: bytes) -> str:
    """The number the service reads (how many digits it found is what most tests here are about)."""
    return service.predict(picture).number


def test_a_single_digit_reads_exactly_as_before(service: InferenceService, test_digits) -> None:
    rng = np.random.default_rng(0)
    for image in test_digits[0][:50]:
        picture = styles.phone_photo(image, rng)
        segmentation = segment(picture)
        assert np.array_equal(segmentation.digit(0, len(segmentation.pieces)), to_mnist(picture))
        [reading] = service.predict(picture).digits  # a broad digit may come in pieces: the network keeps it whole
        assert np.array_equal(reading.input_image, to_mnist(picture))


def test_digits_are_read_left_to_right_with_gaps_from_touching_to_wide(service: InferenceService, test_digits) -> None:
    two, zero, six = (digit_of(test_digits, d) for d in (2, 0, 6))
    wide = canvas_with((two, 50, 40), (zero, 50, 330), (six, 50, 620))
    assert read(service, wide) == "206"
    columns = [np.flatnonzero(d.max(axis=0) > 0) for d in (two, six)]
    # One connected blob: cut where the network reads two digits best.
    touching = canvas_with((two, 50, 40), (six, 50, 40 + columns[0][-1] - columns[1][0] - 4), size=(300, 600))
    assert len(segment(touching).pieces) >= 2 and read(service, touching) == "26"


def tight_one_and_nine(test_digits) -> tuple[bytes, np.ndarray, np.ndarray]:
    """A 1 written 4 px into a 9 (one stroke group no wider than tall, as a single digit is), the 1 and the 9."""
    images, labels = test_digits
    one, nine = (styles.upscale(images[int(np.flatnonzero(labels == d)[8])], 200) for d in (1, 9))
    right_of_one, left_of_nine = np.flatnonzero(one.max(axis=0) > 0.5)[-1], np.flatnonzero(nine.max(axis=0) > 0.5)[0]
    return canvas_with((one, 50, 40), (nine, 50, 40 + right_of_one - left_of_nine - 4), size=(300, 400)), one, nine


def test_two_touching_digits_that_are_the_pictures_only_stroke_group_are_cut_when_read_unsure(
        service: InferenceService, test_digits, monkeypatch) -> None:
    # Read whole first (one piece, the single digit's fast path), this model calls it a 4, 0.7 sure; only then is it cut.
    tight, one, nine = tight_one_and_nine(test_digits)
    whole = segment(tight)
    assert len(whole.pieces) == 1 and whole.one_group
    assert len(segment(tight, cut_one_group=True).pieces) >= 2
    [unsure] = service.predict(tight).digits
    assert unsure.confidence < 0.9
    # The split must read surely in both parts: the robust recipe reads a 1 cut off so 0.99 sure or more, this tutorial
    # model only 0.97 (and the 9 0.996), so it is asked for 0.95 here.
    monkeypatch.setattr(splitting, "ONE_GROUP_PARTS", 0.95)
    assert read(service, tight) == "19"
    # The 9 alone, and the 1 alone, are still read whole, as one digit each.
    assert len(read(service, canvas_with((nine, 50, 40), size=(300, 400)))) == 1
    assert len(read(service, canvas_with((one, 50, 40), size=(300, 400)))) == 1



async def test_a_picture_cut_again_is_prepared_again_in_the_reading_workers(service: InferenceService, test_digits,
                                                                            monkeypatch) -> None:
    """The second preparation, cut, goes where the first went (a worker, within its CPU budget) and reads the same."""
    tight, _, _ = tight_one_and_nine(test_digits)
    monkeypatch.setattr(splitting, "ONE_GROUP_PARTS", 0.95)  # as above: this tutorial model reads the 1 0.97 sure
    in_workers = InferenceService(service.store, processes=1)
    try:
        in_workers.load()
        [result] = await in_workers.predict_batch_async([tight])
        assert isinstance(result, Prediction) and result.number == "19" == read(service, tight)
    finally:
        in_workers.close()

def test_a_speck_beside_a_digit_and_a_gap_in_a_stroke_do_not_make_more_digits(service: InferenceService, test_digits) -> None:
    zero = digit_of(test_digits, 0)
    speck = np.ones((6, 6), np.float32)
    assert read(service, canvas_with((zero, 50, 100), (speck, 120, 400), size=(300, 500))) == "0"
    broken = zero.copy()
    broken[:, 95:99] = 0.0  # a 4-pixel gap through the top and the bottom of the 0: two strokes, one digit
    assert read(service, canvas_with((broken, 50, 100), size=(300, 400))) == "0"
    # The same 0 beside another digit: the network still sees one 0, not two halves.
    seven = digit_of(test_digits, 7)
    assert len(read(service, canvas_with((broken, 50, 60), (seven, 50, 330), size=(300, 600)))) == 2


def test_a_four_and_a_five_written_in_two_strokes_are_one_digit_each(service: InferenceService, test_digits) -> None:
    five = digit_of(test_digits, 5)
    flag_rows = np.flatnonzero(five.max(axis=1) > 0.5)
    cut = flag_rows[0] + (flag_rows[-1] - flag_rows[0]) // 4
    parts = five.copy()
    parts[cut:cut + 4, :] = 0.0  # the flag lifted off the body
    assert len(read(service, canvas_with((parts, 50, 100), size=(300, 400)))) == 1
    four = digit_of(test_digits, 4)
    columns = np.flatnonzero(four.max(axis=0) > 0.5)
    middle = (columns[0] + columns[-1]) // 2
    lifted = four.copy()
    lifted[:, middle - 12:middle - 8] = 0.0  # the pen lifted between the left stroke and the upright
    assert len(read(service, canvas_with((lifted, 50, 100), size=(300, 400)))) == 1
    assert len(read(service, canvas_with((lifted, 50, 60), (parts, 50, 330), size=(300, 600)))) == 2


def test_a_number_cropped_tight_keeps_the_digits_the_pictures_edge_cuts(test_digits) -> None:
    # A drawing app's canvas or a screenshot cut to the number: "01" with the 0 cut by the left edge and the 1 by
    # the right. A lighter group cut by the edge was dropped as clutter's remnant (a pen's end) even when the edge
    # cuts the heaviest digit too, which no whole digit beside a pen's end is.
    zero, one = (digit_of(test_digits, d) for d in (0, 1))
    zero, one = zero[:, np.flatnonzero(zero.max(axis=0) > 0)], one[:, np.flatnonzero(one.max(axis=0) > 0)]
    zero, one = zero[:, 4:], one[:, :-4]  # cut by the edges
    coverage = np.zeros((200, zero.shape[1] + 40 + one.shape[1]), np.float32)
    coverage[:, :zero.shape[1]] = zero
    coverage[:, -one.shape[1]:] = one
    assert max(p.left + p.ink.shape[1] for p in segment_ink(coverage).pieces) == coverage.shape[1]
    # Beside a whole 0 (paper all around it), a lighter group the edge cuts is still a remnant.
    whole = np.pad(coverage, ((0, 0), (20, 0)))
    assert max(p.left + p.ink.shape[1] for p in segment_ink(whole).pieces) < whole.shape[1] - one.shape[1]


def test_a_pen_and_a_coin_beside_a_number_are_set_aside_and_every_digit_stays(service: InferenceService, test_digits) -> None:
    number = tuple((digit_of(test_digits, d), 60, left) for d, left in ((2, 120), (1, 330), (6, 520)))
    plain = [d.input_image for d in service.predict(canvas_with(*number, size=(420, 950))).digits]
    y, x = np.mgrid[-40:41, -40:41]
    clutter = {
        "a pen lying flat below": (np.ones((22, 640), np.float32), 330, 100),
        # Standing, a pen in the number's line is told from a 1 written tall by running on beyond the picture's edge.
        "a pen standing beside": (np.ones((330, 22), np.float32), 0, 20),
        "a coin": ((np.hypot(y, x) <= 40).astype(np.float32), 300, 820),
    }
    assert len(plain) == 3
    for name, thing in clutter.items():
        digits = [d.input_image for d in service.predict(canvas_with(*number, thing, size=(420, 950))).digits]
        assert len(digits) == 3, name
        assert all(np.corrcoef(a.ravel().astype(float), b.ravel().astype(float))[0, 1] > 0.95 for a, b in zip(plain, digits)), name


@pytest.mark.parametrize("slant", [-0.3, -0.2, 0.0, 0.2])
def test_a_numbers_slant_is_found_on_round_digits_too(slant: float) -> None:
    # Zeros leaning by `slant`: no straight stroke to line up, so only the rings' own shape says how they lean.
    rows, columns = np.mgrid[0:120, 0:400]
    upright = columns - slant * (rows - 60)
    coverage = np.zeros((120, 400), np.float32)
    for centre in (60, 150, 240, 330):
        radius = np.hypot((upright - centre) / 28, (rows - 60) / 40)
        coverage[np.abs(radius - 1) * 34 < 3] = 1.0
    assert _slant(coverage, coverage > STROKE_COVERAGE) == pytest.approx(slant, abs=0.05)


def test_more_than_twelve_digits_are_refused_clearly(service: InferenceService, test_digits) -> None:
    one = digit_of(test_digits, 1, size=60)
    picture = canvas_with(*((one, 20, 10 + 45 * i) for i in range(14)), size=(100, 680))
    with pytest.raises(ImageError, match="I can read up to 12 digits"):
        service.predict(picture)


def test_strokes_are_joined_in_near_linear_time_and_a_grid_of_dots_is_refused_at_once() -> None:
    # 4,096 one-pixel dots: the pairwise join took 4.2 s of CPU on them (issue 25 item 2).
    coverage = np.zeros((256, 256), np.float32)
    coverage[2::4, 2::4] = 1.0
    started = time.process_time()
    with pytest.raises(ImageError, match="I can read up to 12 digits; this picture seems to hold 4096"):
        segment_ink(coverage)
    # A stroke among 400 dots, now specks of dust: they are compared with its parts only, never with each other.
    coverage[::2, :] = coverage[:, ::2] = 0.0
    coverage[6::12, 6::12] = 1.0
    coverage[60:200, 120:136] = 1.0
    assert len(segment_ink(coverage).pieces) == 1
    assert time.process_time() - started < 0.5  # CPU seconds, both pictures


def test_the_digits_are_the_runs_of_pieces_that_read_best_together() -> None:
    # Three pieces; reading pieces 1 and 2 as one digit scores better than apart, unless the cut is free.
    runs = [(0, 1), (1, 2), (2, 3), (1, 3)]
    scores = [-0.1, -1.0, -1.0, -0.2]
    assert best_cover(3, runs, scores, crossings=(0.0, 1.0)) == [0, 3]
    assert best_cover(3, runs, [-0.1, -0.05, -0.05, -0.2], crossings=(0.0, 0.0)) == [0, 1, 2]
    # A cut through a stroke costs: the same two pieces stay one digit when the cut crosses two strokes.
    assert best_cover(3, runs, [-0.1, -0.05, -0.05, -0.2], crossings=(0.0, 2.0)) == [0, 3]


def test_candidate_digits_are_runs_of_up_to_five_pieces_at_most_two_digit_heights_wide() -> None:
    def piece(left: float, right: float) -> Piece:
        return Piece(0, int(left), np.ones((10, max(1, int(right - left))), np.float32), (0, 10), (left, right))

    # Seven pieces 2 px wide with 1 px gaps; the digits are 10 px tall: five pieces span 14 px, under 20.
    narrow = Segmentation(tuple(piece(3 * i, 3 * i + 2) for i in range(7)), (0.0,) * 6, 10.0)
    runs = candidate_runs(narrow)
    assert all(1 <= stop - start <= MAX_RUN for start, stop in runs) and (0, 5) in runs and (0, 6) not in runs
    assert [(i, i + 1) for i in range(7)] == [run for run in runs if run[1] - run[0] == 1]
    # Pieces far apart never make one digit.
    apart = Segmentation((piece(0, 8), piece(30, 38)), (0.0,), 10.0)
    assert candidate_runs(apart) == [(0, 1), (1, 2)]


def test_a_number_read_with_a_digit_missing_loses_every_digit_positionally_and_one_aligned() -> None:
    whole, per_digit, aligned, segmented = score(["2026", "226", None, "20261"], ["2026", "2026", "2026", "2026"])
    assert (whole, segmented) == (0.25, 0.25)
    assert per_digit == 4 / 16  # only the first reading has as many digits as its number
    assert aligned == (4 + 3 + 0 + 3) / 16  # a digit missing or added costs that one digit
    assert [edit_distance(a, b) for a, b in [("", "12"), ("12", "12"), ("123", "13"), ("321", "123"), ("7", "1")]] == [2, 0, 1, 2, 1]


# The accuracy tests' numbers: this many per style and length, from this seed (the segmentation was developed on
# other seeds; docs/benchmarks.md has the figures for a larger fresh set).
NUMBERS_PER_STYLE = 30
SEED = 4711
# Per-digit accuracy is judged on all the numbers' digits (the issue's 3 points); each length's 90 numbers are too few
# for 3 points (one 6-digit number read with a digit missing moves its length by 1.1 points), so a length is held to
# this many points, to catch a regression where it happens.
PER_LENGTH_FLOOR = 0.06


@pytest.fixture(scope="module")
def number_scores(service: InferenceService, test_digits) -> list[NumberScores]:
    """Numbers of 2 to 6 digits in every number style, read by the service and scored per length (styles pooled)."""
    images, labels = test_digits
    raw_right = ModelStore(service.store.root).load(service.version).network().predict(normalize(images)).argmax(axis=1) == labels
    rng = np.random.default_rng(SEED)
    return [measure(service, raw_right, images, labels, list(styles.NUMBER_STYLES.values()), length, NUMBERS_PER_STYLE, rng)
            for length in range(2, 7)]


def test_whole_numbers_read_as_well_as_their_raw_digits_predict(number_scores: list[NumberScores]) -> None:
    assert all(scores.raw > 0.9 for scores in number_scores), "the model under test is not properly trained"
    missed = [f"{s.length} digits: whole {s.whole:.3f} (target {s.whole_target:.3f})" for s in number_scores if not s.whole_met]
    assert not missed, "; ".join(missed)


def test_digits_of_numbers_read_within_3_points_of_the_raw_digits(number_scores: list[NumberScores]) -> None:
    total = all_digits(number_scores)
    assert total.met, f"per digit {total.per_digit:.3f}, raw {total.raw:.3f}"
    floor = [f"{s.length} digits: per digit {s.per_digit:.3f}, raw {s.raw:.3f}" for s in number_scores
             if s.per_digit < s.raw - PER_LENGTH_FLOOR]
    assert not floor, "; ".join(floor)


def test_predict_json_has_the_number_and_its_digits(trained_store: Path, test_digits, tmp_path: Path) -> None:
    images, labels = test_digits
    rng = np.random.default_rng(3)
    picture = tmp_path / "number.png"
    picture.write_bytes(styles.number_drawing([images[i] for i in (0, 1, 2)], rng))
    single = tmp_path / "single.png"
    Image.fromarray(images[3]).save(single)
    result = subprocess.run([sys.executable, "-m", "bot", "predict", "--json", "--store", str(trained_store), str(picture), str(single)],
                            capture_output=True, text=True, cwd=REPO, timeout=120)
    number, one = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(number["digits"]) == 3 and number["number"] == "".join(str(d["digit"]) for d in number["digits"])
    assert number["digit"] is None and number["confidence"] == pytest.approx(np.prod([d["confidence"] for d in number["digits"]]))
    assert all(len(d["probabilities"]) == 10 for d in number["digits"])
    assert one["number"] == str(one["digit"]) and one["digits"][0]["probabilities"] == one["probabilities"]


async def test_the_bot_answers_a_number_with_a_row_per_digit_and_a_strip(start_bot, discord_twin, twin_world, test_digits) -> None:
    import io
    import re

    from discord_twin import Attachment
    from tests.fixtures.bot import WAIT

    await start_bot()
    images = test_digits[0]
    picture = styles.number_drawing([images[i] for i in (0, 1, 2, 3)], np.random.default_rng(5))
    posted = await discord_twin.post_message(twin_world.channel, twin_world.user, attachments=[Attachment(picture, "year.png")])
    reply = await discord_twin.wait_for_reply(posted, timeout=WAIT)
    [embed] = reply.embeds
    number = re.fullmatch(r"year\.png: it's (\d+)", embed["title"])
    assert number is not None and len(number.group(1)) == 4
    rows = re.search(r"```\n(.*)\n```", embed["description"], re.S)
    assert rows is not None and [row.split()[0] for row in rows.group(1).splitlines()] == list(number.group(1))
    [strip] = reply.attachments
    assert Image.open(io.BytesIO(strip.data)).size == ((4 * 30 - 2) * 4, 28 * 4)
