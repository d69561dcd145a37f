"""The robust recipe's data (digits/augment.py): pictures that are not one digit, taught as unsure (issue 24)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from digits.augment import NOT_A_DIGIT, EpochAugmenter, could_be_a_one, not_digits, soft_targets
from digits.options import OptionError, TrainingOptions
from digits.reading import frame


def test_not_one_digit_pictures_are_framed_as_runs_and_drawn_by_the_seed(test_digits) -> None:
    images, labels = test_digits[0][:2000], test_digits[1][:2000]
    examples = not_digits(images, labels, 200, np.random.default_rng(5))
    assert examples.shape == (200, 28, 28) and examples.dtype == np.uint8
    assert np.array_equal(examples, not_digits(images, labels, 200, np.random.default_rng(5)))
    assert not np.array_equal(examples, not_digits(images, labels, 200, np.random.default_rng(6)))
    # Framed as the reading frames a run of pieces: framing again changes nothing (but a pixel's rounding).
    reframed = np.stack([frame(example / 255.0) for example in examples])
    assert np.mean([np.array_equal(a, b) for a, b in zip(reframed, examples)]) > 0.8
    ink = examples > 0
    longer_side = np.maximum(ink.any(axis=1).sum(axis=1), ink.any(axis=2).sum(axis=1))
    assert np.mean(longer_side == 20) > 0.9  # fitted into the 20×20 box
    centres = np.array([ndimage.center_of_mass(example.astype(float)) for example in examples])
    assert np.all(np.abs(centres - 14.0) <= 1.0)  # their centre of mass at the centre (to the rounding of a pixel)
    # Not one of the digits they were made from, and never a thin upright stroke, which could be a 1.
    sources = {image.tobytes() for image in images}
    assert not any(example.tobytes() in sources for example in examples)
    assert not any(could_be_a_one(example) for example in examples)


def test_a_thin_upright_stroke_could_be_a_one_and_other_digits_rarely(test_digits) -> None:
    images, labels = test_digits
    ones = [could_be_a_one(image) for image in images[labels == 1][:300]]
    others = [could_be_a_one(image) for image in images[(labels != 1) & (labels != 7)][:300]]
    assert np.mean(ones) > 0.9 and np.mean(others) < 0.1  # a narrow 4 or 9 now and then


def test_pairs_are_wider_than_the_digits_they_are_made_of(test_digits) -> None:
    """Half the pictures are two digits side by side: framed into the same box, their ink is wider for its height."""
    images, labels = test_digits[0][:2000], test_digits[1][:2000]

    def aspects(pictures: np.ndarray) -> np.ndarray:
        ink = pictures > 64
        return ink.any(axis=1).sum(axis=1) / ink.any(axis=2).sum(axis=1)

    wide = aspects(not_digits(images, labels, 400, np.random.default_rng(1))) > np.percentile(aspects(images), 95)
    assert 0.3 < wide.mean() < 0.9


def test_not_one_digit_is_taught_with_a_uniform_target() -> None:
    targets = soft_targets(np.array([3, NOT_A_DIGIT, 0, 9]))
    assert targets.dtype == np.float32 and targets.shape == (4, 10)
    assert np.allclose(targets.sum(axis=1), 1.0)
    assert targets[0, 3] == targets[2, 0] == targets[3, 9] == 1.0 and targets[[0, 2, 3]].sum() == 3.0
    assert np.allclose(targets[1], 0.1)  # the most unsure answer


def test_epochs_hold_a_fixed_share_of_not_one_digit_pictures(test_digits) -> None:
    images, labels = test_digits[0][:900], test_digits[1][:900]

    def first_epoch(seed: int) -> tuple[np.ndarray, np.ndarray]:
        augmenter = EpochAugmenter(images, labels, seed=seed, outlier_share=0.1)
        try:
            return augmenter.next()
        finally:
            augmenter.close()

    epoch_images, epoch_labels = first_epoch(0)
    assert epoch_images.shape == (1000, 784) and -0.5 <= epoch_images.min() and epoch_images.max() <= 0.5
    assert np.array_equal(epoch_labels[:900], labels) and np.all(epoch_labels[900:] == NOT_A_DIGIT)  # 10 % of the epoch
    again, _ = first_epoch(0)
    assert np.array_equal(again, epoch_images)  # the same seed, the same epoch
    assert not np.array_equal(first_epoch(1)[0][900:], epoch_images[900:])


def test_the_robust_recipe_teaches_a_modest_share_as_not_one_digit() -> None:
    assert TrainingOptions().outliers == 0.0  # the tutorial is the tutorial
    robust = TrainingOptions.for_recipe("robust")
    assert 0.05 <= robust.outliers <= 0.15 and "10% not one digit" in robust.describe()
    assert TrainingOptions.from_text(robust.to_text()) == robust and TrainingOptions.from_record(robust.to_record()) == robust
    with pytest.raises(OptionError, match="outliers must be in"):
        TrainingOptions.from_text({"outliers": "0.5"})
