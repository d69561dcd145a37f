"""`samples.third_hands`, a third independent yardstick: deterministic from its seed, drawn from MNIST's training
digits, each style a picture of a sensible size."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from digits.mnist import load_mnist
from samples.third_hands import ROUND, STYLES, Writers, number_labels, number_pictures
from tests.fixtures.mnist import verified_mnist_dir, verified_paths
from tests.fixtures.pictures import decoded


@pytest.fixture(scope="module")
def writers(tmp_path_factory: pytest.TempPathFactory) -> Writers:
    return Writers.from_mnist(verified_paths(tmp_path_factory))


def test_the_same_seed_gives_the_same_bytes(writers: Writers) -> None:
    two = number_pictures(writers, "dark_ground", 3, 2, seed=5)
    assert number_pictures(writers, "dark_ground", 3, 2, seed=5) == two
    assert number_pictures(writers, "dark_ground", 3, 1, seed=5) == two[:1]  # the same, whatever the count
    assert [p.data for p in number_pictures(writers, "dark_ground", 3, 2, seed=6)] != [p.data for p in two]
    # each style is a NumberStyle: the same digits and generator state draw the same file
    digits = [writers.images[i] for i in two[0].indices]
    for style in STYLES.values():
        assert style(digits, np.random.default_rng(3)) == style(digits, np.random.default_rng(3))
    with pytest.raises(ValueError, match="unknown style"):
        number_pictures(writers, "watercolour", 3, 1)
    with pytest.raises(ValueError, match="2 digits or more"):
        number_pictures(writers, "marker_canvas", 1, 1)


@pytest.mark.parametrize("style", STYLES)
def test_each_style_decodes_to_a_picture_of_sensible_size(writers: Writers, style: str) -> None:
    for length in (2, 6):
        picture = number_pictures(writers, style, length, 1, seed=length)[0]
        assert re.fullmatch(rf"[1-9][0-9]{{{length - 1}}}", picture.label) and picture.style == style
        image = decoded(picture)
        assert image.format in ("JPEG", "PNG") and 200 <= max(image.size) <= 2400 and min(image.size) >= 150
        flat = np.asarray(image.convert("L"), np.int16) if image.mode != "RGBA" else np.asarray(image)[..., 3]
        assert int(flat.max()) - int(flat.min()) > 80  # ink that stands out from its ground


def test_the_digits_are_mnist_training_digits_of_the_number(writers: Writers, tmp_path: Path) -> None:
    mnist = load_mnist(verified_mnist_dir())
    assert writers.images is mnist.train_images or np.array_equal(writers.images, mnist.train_images)
    assert len(writers.labels) == 60_000
    for style in STYLES:
        for picture in number_pictures(writers, style, 4, 1, seed=9):
            assert len(picture.indices) == 4
            assert "".join(str(mnist.train_labels[i]) for i in picture.indices) == picture.label


def test_numbers_hold_lone_ones_and_sevens_beside_round_digits() -> None:
    labels = ["".join(map(str, number_labels(3, np.random.default_rng([1, i])))) for i in range(200)]
    assert all(label[0] != "0" and len(label) == 3 for label in labels)
    round_digits = "".join(map(str, ROUND))
    beside = re.compile(rf"[17][{round_digits}]|[{round_digits}][17]")
    assert 50 <= sum(bool(beside.search(label)) for label in labels) <= 150
