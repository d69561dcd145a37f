"""Issue 15: the robust recipe, honest confidence and unsure answers (real training on small real data, no mocks)."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from bot import embeds
from bot.embeds import AttachmentResult
from digits.augment import EpochAugmenter, augment
from digits.inference import InferenceService
from digits.options import RECIPES, OptionError, TrainingOptions, parse_train_command
from digits.typed import find_fonts, typed_digits
from model_store import ModelStore
from network.architecture import normalize, softmax
from network.calibration import expected_calibration_error, is_unsure
from samples import pictures as styles
from tests.fixtures.processes import json_events, run_cli, run_train

pytestmark = pytest.mark.timeout(300)


# -- recipes are named defaults --------------------------------------------------------------------


def test_a_recipe_is_a_set_of_defaults_that_given_options_override() -> None:
    assert TrainingOptions() == TrainingOptions.for_recipe("tutorial")  # the tutorial is every field's own default
    robust = TrainingOptions.from_text({"recipe": "Robust", "epochs": "3"})
    assert robust.recipe == "robust" and robust.epochs == 3
    assert (robust.augment, robust.ema, robust.fonts, robust.schedule, robust.validation) == (
        RECIPES["robust"]["augment"], RECIPES["robust"]["ema"], 0.03, "cosine", 5000)
    assert parse_train_command(["--recipe", "robust", "--augment", "off"], Path("m")).options.augment is False
    assert TrainingOptions.from_text(robust.to_text()) == robust  # !retrain → train.py flags → the same options
    assert "robust recipe" in robust.describe() and "augmented" in robust.describe()
    with pytest.raises(OptionError, match="recipe must be one of tutorial, robust"):
        TrainingOptions.from_text({"recipe": "fancy"})
    with pytest.raises(OptionError, match="cannot read 'maybe' as augment"):
        TrainingOptions.from_text({"augment": "maybe"})


# -- augmentation and typed digits -----------------------------------------------------------------


def test_augmentation_draws_each_digit_anew_keeping_its_shape(test_digits) -> None:
    images = test_digits[0][:500]
    rng = np.random.default_rng(0)
    first, second = augment(images, rng), augment(images, rng)
    assert first.shape == images.shape and first.dtype == np.float32
    assert 0.0 <= first.min() and first.max() <= 1.0
    original = images / 255.0
    changed = np.abs(first - original).mean(axis=(1, 2))
    assert (changed > 0.01).mean() > 0.95  # nearly every digit moved
    assert not np.allclose(first, second)  # and differently each time
    # Still a digit of about the same ink, not re-centred: centres of mass move by up to a few pixels.
    ink_ratio = first.sum(axis=(1, 2)) / original.sum(axis=(1, 2))
    assert 0.5 < np.median(ink_ratio) < 1.6


def test_typed_digits_are_rendered_from_the_installed_fonts_and_mixed_into_epochs(test_digits) -> None:
    fonts = find_fonts()
    if not fonts:
        pytest.skip("no font installed (make test installs them as root)")
    typed, labels = typed_digits(fonts)
    assert typed.shape[1:] == (28, 28) and len(typed) == len(labels) >= 10 * len(fonts) * 0.9
    assert set(labels.tolist()) == set(range(10))
    images, image_labels = test_digits[0][:970], test_digits[1][:970]
    augmenter = EpochAugmenter(images, image_labels, seed=0, typed=(typed, labels), typed_share=0.03)
    try:
        epoch_images, epoch_labels = augmenter.next()
        again, _ = augmenter.next()
    finally:
        augmenter.close()
    assert augmenter.typed_count == 30 and epoch_images.shape == (1000, 784) and len(epoch_labels) == 1000
    assert np.array_equal(epoch_labels[:970], image_labels)  # the digits keep their labels
    assert -0.5 <= epoch_images.min() and epoch_images.max() <= 0.5
    assert not np.allclose(epoch_images, again)


# -- train.py --------------------------------------------------------------------------------------


def test_robust_recipe_trains_and_records_its_defaults(tmp_path: Path) -> None:
    """One quick epoch (large batches) of the robust recipe: augmented, typed digits mixed in, 5,000 images held out."""
    store = tmp_path / "models"
    done = json_events(run_train(store, "--recipe", "robust", "--epochs", "1", "--batch-size", "500", "--json"))[-1]
    assert done["epochs"] == 1 and done["test_accuracy"] > 0.6
    card = ModelStore(store).load(1).card
    h = card.hyperparameters
    assert (h.recipe, h.augment, h.fonts, h.outliers, h.schedule, h.validation_images, h.epochs) == (
        "robust", True, 0.03, 0.1, "cosine", 5000, 1)
    assert h.train_images == 55000  # held out means never trained on: the last 5,000 are left out
    assert card.typed_fonts == len(find_fonts())
    assert card.temperature != 1.0 and card.test_ece is not None and card.test_ece_calibrated is not None


def test_temperature_is_fitted_on_held_out_images_and_lowers_the_test_ece(tmp_path: Path, test_digits) -> None:
    """Many epochs on 1,000 images make the network overconfident; the temperature from the last 5,000 fixes it."""
    store = tmp_path / "models"
    run = ["--epochs", "40", "--train-limit", "1000", "--batch-size", "50", "--validation", "5000", "--json"]
    json_events(run_train(store, *run))
    loaded = ModelStore(store).load(1)
    assert loaded.card.hyperparameters.validation_images == 5000 and loaded.card.hyperparameters.train_images == 1000
    assert loaded.card.temperature > 1.2  # an overconfident network is cooled
    images, labels = test_digits
    logits = loaded.network().logits(normalize(images))
    before = expected_calibration_error(softmax(logits), labels)
    after = expected_calibration_error(softmax(logits, loaded.card.temperature), labels)
    assert after < before / 2, (before, after)
    assert loaded.card.test_ece == pytest.approx(before, abs=1e-4) and loaded.card.test_ece_calibrated == pytest.approx(after, abs=1e-4)


# -- calibrated answers ----------------------------------------------------------------------------


@pytest.fixture
def calibrated_store(trained_store: Path, tmp_path: Path) -> Path:
    """The trained store with version 2: the same weights, served with temperature 3."""
    root = tmp_path / "models"
    shutil.copytree(trained_store, root)
    store = ModelStore(root)
    store.save(root / "1" / "model.weights.h5", dataclasses.replace(store.card(1), temperature=3.0), promote=True)
    return root


def test_inference_and_the_cli_report_calibrated_probabilities(calibrated_store: Path, test_digits, tmp_path: Path) -> None:
    images, labels = test_digits
    picture = styles.tiny_mnist(images[0], None)
    service = InferenceService(ModelStore(calibrated_store))
    assert service.load() == 2
    [prediction] = service.predict(picture).digits
    logits = ModelStore(calibrated_store).load(2).network().logits(normalize(prediction.input_image[np.newaxis]))
    np.testing.assert_allclose(prediction.probabilities, softmax(logits, 3.0)[0], atol=1e-6)
    raw = softmax(logits)[0]
    assert prediction.confidence < raw.max()  # cooled
    assert prediction.unsure == is_unsure(np.array(prediction.probabilities))
    report = service.accuracy_report(images, labels)
    assert len(report.reliability) == 10 and sum(b.count for b in report.reliability) == 10_000 and 0 <= report.ece <= 1
    service.close()

    path = tmp_path / "digit.png"
    path.write_bytes(picture)
    result = run_cli(str(path), "--json", store=calibrated_store)
    record = json.loads(result.stdout)
    np.testing.assert_allclose(record["probabilities"], prediction.probabilities, atol=1e-6)
    assert record["unsure"] == prediction.unsure and record["runner_up"] == prediction.runner_up


def _prediction(probabilities: list[float]):
    from digits.inference import DigitReading, Prediction

    p = np.array(probabilities)
    ranked = np.argsort(-p, kind="stable")
    reading = DigitReading(int(ranked[0]), float(p[ranked[0]]), tuple(probabilities), np.zeros((28, 28), np.uint8),
                           runner_up=int(ranked[1]), unsure=is_unsure(p))
    return Prediction((reading,), 3)


def test_the_bot_says_when_it_is_unsure() -> None:
    sure = _prediction([0.0] * 4 + [0.97] + [0.0] * 4 + [0.03])
    unsure = _prediction([0.0] * 4 + [0.55] + [0.0] * 4 + [0.45])
    low = _prediction([0.05] * 4 + [0.62] + [0.05] * 4 + [0.18])
    replies, _ = embeds.reading_embeds([AttachmentResult("a.png", sure), AttachmentResult("b.png", unsure), AttachmentResult("c.png", low)])
    assert replies[0].title == "a.png: it's a 4"
    assert replies[1].title == "b.png: probably a 4, maybe a 9"
    assert replies[2].title == "c.png: probably a 4, maybe a 9"
    assert "not sure" in (replies[1].description or "") and "not sure" not in (replies[0].description or "")
