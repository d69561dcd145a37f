"""Numbers in one picture: the ink split into digits (joins, specks, touching pairs), read left to right."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from digits.images import ImageError, to_mnist, to_mnist_digits
from samples import pictures as styles
from tests.inference_fixtures import REPO


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


def test_a_single_digit_reads_exactly_as_before(test_digits) -> None:
    rng = np.random.default_rng(0)
    for image in test_digits[0][:50]:
        picture = styles.phone_photo(image, rng)
        [digit] = to_mnist_digits(picture)
        assert np.array_equal(digit, to_mnist(picture))


def test_digits_are_read_left_to_right_with_gaps_from_touching_to_wide(test_digits) -> None:
    two, zero, six = (digit_of(test_digits, d) for d in (2, 0, 6))
    wide = canvas_with((two, 50, 40), (zero, 50, 330), (six, 50, 620))
    assert len(to_mnist_digits(wide)) == 3
    columns = [np.flatnonzero(d.max(axis=0) > 0) for d in (two, zero)]
    touching = canvas_with((two, 50, 40), (zero, 50, 40 + columns[0][-1] - columns[1][0] - 4), size=(300, 600))
    assert len(to_mnist_digits(touching)) == 2  # one connected blob, cut at its column of least ink


def test_a_speck_beside_a_digit_and_a_gap_in_a_stroke_do_not_make_more_digits(test_digits) -> None:
    zero = digit_of(test_digits, 0)
    speck = np.ones((6, 6), np.float32)
    assert len(to_mnist_digits(canvas_with((zero, 50, 100), (speck, 120, 400), size=(300, 500)))) == 1
    broken = zero.copy()
    rows = np.flatnonzero(broken.max(axis=1) > 0.5)
    broken[:, 95:99] = 0.0  # a 4-pixel gap through the top and the bottom of the 0: two strokes, one digit
    assert len(rows) and len(to_mnist_digits(canvas_with((broken, 50, 100), size=(300, 400)))) == 1


def test_a_five_written_in_two_strokes_is_one_digit(test_digits) -> None:
    five = digit_of(test_digits, 5)
    flag_rows = np.flatnonzero(five.max(axis=1) > 0.5)
    cut = flag_rows[0] + (flag_rows[-1] - flag_rows[0]) // 4
    parts = five.copy()
    parts[cut:cut + 4, :] = 0.0  # the flag lifted off the body
    assert len(to_mnist_digits(canvas_with((parts, 50, 100), size=(300, 400)))) == 1


def test_a_pen_and_a_coin_beside_a_number_are_set_aside_and_every_digit_stays(test_digits) -> None:
    number = tuple((digit_of(test_digits, d), 60, left) for d, left in ((2, 120), (1, 330), (6, 520)))
    plain = to_mnist_digits(canvas_with(*number, size=(420, 950)))
    y, x = np.mgrid[-40:41, -40:41]
    clutter = {
        "a pen lying flat below": (np.ones((22, 640), np.float32), 330, 100),
        "a pen standing beside": (np.ones((330, 22), np.float32), 40, 20),
        "a coin": ((np.hypot(y, x) <= 40).astype(np.float32), 300, 820),
    }
    assert len(plain) == 3
    for name, thing in clutter.items():
        digits = to_mnist_digits(canvas_with(*number, thing, size=(420, 950)))
        assert len(digits) == 3, name
        assert all(np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.95 for a, b in zip(plain, digits)), name


def test_more_than_twelve_digits_are_refused_clearly(test_digits) -> None:
    one = digit_of(test_digits, 1, size=60)
    picture = canvas_with(*((one, 20, 10 + 45 * i) for i in range(14)), size=(100, 680))
    with pytest.raises(ImageError, match="I can read up to 12 digits"):
        to_mnist_digits(picture)


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
    from tests.bot_fixtures import WAIT

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
