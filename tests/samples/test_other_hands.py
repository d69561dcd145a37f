"""`samples.other_hands`, numbers in other hands (issue 24's yardstick until 2026-12-07): deterministic from its seed, and it draws what it claims."""

from __future__ import annotations

import re

import numpy as np
import pytest
from PIL import Image

from samples.other_hands import LONG_SIDE, ROUND, STYLES, Writers, number_pictures
from tests.fixtures.mnist import verified_paths
from tests.fixtures.pictures import decoded


@pytest.fixture(scope="module")
def writers(tmp_path_factory: pytest.TempPathFactory) -> Writers:
    return Writers.from_mnist(verified_paths(tmp_path_factory))


def test_pictures_depend_only_on_the_seed_and_their_place(writers: Writers) -> None:
    three = number_pictures(writers, "paper_photo", 3, 3, seed=5)
    assert number_pictures(writers, "paper_photo", 3, 2, seed=5) == three[:2]  # the same bytes, whatever the count
    assert [p.data for p in number_pictures(writers, "paper_photo", 3, 3, seed=6)] != [p.data for p in three]
    with pytest.raises(ValueError, match="unknown style"):
        number_pictures(writers, "watercolour", 3, 1)
    with pytest.raises(ValueError, match="2 digits or more"):
        number_pictures(writers, "drawing_app", 1, 1)


@pytest.mark.parametrize("style", STYLES)
def test_each_style_draws_numbers_of_the_length_and_size_it_claims(writers: Writers, style: str) -> None:
    for length in (2, 6):
        for picture in number_pictures(writers, style, length, 3, seed=1):
            assert re.fullmatch(rf"[1-9][0-9]{{{length - 1}}}", picture.label) and picture.style == style
            image = decoded(picture)
            low, high = LONG_SIDE[style]
            assert low <= max(image.size) < high
            grey = np.asarray(image.convert("L"), np.float32)
            if style == "paper_photo":
                assert image.format == "JPEG" and grey.mean() > 120  # light paper
            if style == "drawing_app":
                assert image.format == "PNG"
            if style == "light_on_dark":
                assert grey.mean() < 100 and grey.max() > grey.mean() + 80  # light ink on a dark ground
            if image.mode == "RGBA":  # a transparent canvas: the ink only in alpha
                alpha = np.asarray(image)[..., 3]
                assert alpha[0, 0] == 0 and alpha.max() > 200
            if style == "small_in_big":
                assert max(image.size) / min(image.size) > 1.29
                if image.format == "PNG":  # a clean canvas: the ink is what differs from its corner
                    flat = np.asarray(Image.alpha_composite(Image.new("RGBA", image.size, "white"),
                                                            image.convert("RGBA")).convert("L"))
                    rows = np.flatnonzero((np.abs(flat.astype(int) - int(flat[0, 0])) > 60).any(1))
                    assert len(rows) and rows[-1] - rows[0] < 0.15 * max(image.size)  # a small number


def test_numbers_hold_the_hard_cases_people_write(writers: Writers) -> None:
    """Lone 1s and 7s beside round digits, 1s first and last; never a leading 0."""
    labels = [p.label for p in number_pictures(writers, "drawing_app", 3, 30, seed=2)]
    assert all(label[0] != "0" and len(label) == 3 for label in labels)
    beside_round = re.compile(rf"[17][{''.join(map(str, ROUND))}]|[{''.join(map(str, ROUND))}][17]")
    assert sum(bool(beside_round.search(label)) for label in labels) >= 6
    assert sum(label.startswith("1") for label in labels) >= 4 and sum(label.endswith("1") for label in labels) >= 3
