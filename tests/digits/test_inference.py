"""The inference service: Keras's numbers without TensorFlow, hot swaps, async use, accuracy reports."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from digits.inference import InferenceService, Prediction
from digits.mnist import load_mnist
from digits.reading import ImageError
from model_store import ModelStore
from model_store.files import sha256_file
from network.architecture import ArchitectureSpec, normalize, softmax
from samples import pictures as styles
from tests.fixtures.mnist import REPO, mnist_folder
from tests.fixtures.models import model_card

ARCHITECTURES = {
    "64-64 relu": ArchitectureSpec(hidden_units=(64, 64), activation="relu"),
    "4 layers": ArchitectureSpec(hidden_units=(64, 64, 64, 64), activation="relu"),
    "sigmoid": ArchitectureSpec(hidden_units=(64, 64), activation="sigmoid"),
    "tanh": ArchitectureSpec(hidden_units=(128, 32), activation="tanh"),
    "dropout": ArchitectureSpec(hidden_units=(64, 64), activation="relu", dropout=0.5),
}


@pytest.fixture(scope="module")
def architecture_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    """A store with one briefly trained Keras version per architecture (not promoted, except the first)."""
    # TensorFlow loads here, not at import: every xdist worker collects this module (3-4 CPU s each).
    import keras

    from digits.training import build_keras_model

    root = tmp_path_factory.mktemp("architectures") / "models"
    store = ModelStore(root)
    data = load_mnist(mnist_folder(tmp_path_factory.getbasetemp() / "mnist-cache"))
    versions = {}
    for name, spec in ARCHITECTURES.items():
        keras.utils.set_random_seed(7)
        model = build_keras_model(spec)
        model.compile(optimizer="adam", loss="categorical_crossentropy")
        model.fit(normalize(data.train_images[:3000]), keras.utils.to_categorical(data.train_labels[:3000]), epochs=1, batch_size=64, verbose=0)
        with tempfile.TemporaryDirectory() as scratch:
            weights = Path(scratch) / "model.weights.h5"
            model.save_weights(weights)
            versions[name] = store.save(weights, model_card(spec), promote=not versions)
    return root, versions


def keras_model(store: ModelStore, version: int):
    """The version's weights loaded into a Keras model built from its spec."""
    from digits.training import build_keras_model

    loaded = store.load(version)
    model = build_keras_model(loaded.spec)
    model.load_weights(store.root / str(version) / "model.weights.h5")
    return model


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_probabilities_equal_keras(name: str, architecture_store, test_digits) -> None:
    root, versions = architecture_store
    store = ModelStore(root)
    store.promote(versions[name])
    service = InferenceService(store)
    assert service.load() == versions[name]
    images, labels = test_digits
    rng = np.random.default_rng(1)
    pictures = [styles.phone_photo(image, rng) for image in images[:20]] + [styles.tiny_mnist(image, rng) for image in images[20:40]]
    predictions = service.predict_batch(pictures) + [service.predict(picture) for picture in pictures[:5]]
    model = keras_model(store, versions[name])
    readings = [reading for p in predictions for reading in p.digits]
    inputs = normalize(np.stack([r.input_image for r in readings]))
    expected = model.predict(inputs, verbose=0)
    actual = np.array([r.probabilities for r in readings])
    np.testing.assert_allclose(actual, expected, atol=1e-5, rtol=0)
    assert [r.digit for r in readings] == list(expected.argmax(axis=1))
    assert all(p.version == versions[name] for p in predictions)

    report = service.accuracy_report(images, labels)
    model.compile(loss="categorical_crossentropy", metrics=["accuracy"])
    keras_loss, keras_accuracy = model.evaluate(normalize(images), np.eye(10)[labels], batch_size=1000, verbose=0)
    assert report.accuracy == pytest.approx(keras_accuracy, abs=1e-4)
    assert report.loss == pytest.approx(keras_loss, abs=1e-4)
    service.close()


def test_accuracy_report_is_consistent_and_cached(trained_store: Path, test_digits) -> None:
    service = InferenceService(ModelStore(trained_store))
    service.load()
    images, labels = test_digits
    report = service.accuracy_report(images, labels)
    confusion = np.array(report.confusion)
    assert report.images == 10_000 == confusion.sum()
    assert report.accuracy == pytest.approx(np.trace(confusion) / confusion.sum())
    assert report.per_digit_accuracy == pytest.approx(tuple(np.diag(confusion) / confusion.sum(axis=1)))
    assert report.accuracy == pytest.approx(service.card.test_accuracy, abs=1e-4)
    assert report.loss == pytest.approx(service.card.test_loss, abs=1e-3)
    assert service.accuracy_report(images, labels) is report
    assert service.accuracy_report(images[:100], labels[:100]).images == 100
    service.close()


def test_predict_batch_keeps_order_and_reports_each_refusal(trained_store: Path, test_digits) -> None:
    service = InferenceService(ModelStore(trained_store))
    service.load()
    images, _ = test_digits
    batch = [styles.tiny_mnist(images[0], None), b"not an image", styles.tiny_mnist(images[1], None), styles.encode(Image.new("L", (40, 40), 255), "PNG")]
    results = service.predict_batch(batch)
    assert [type(r) for r in results] == [Prediction, ImageError, Prediction, ImageError]
    single = service.predict(batch[0])
    assert results[0].digit == single.digit and np.array_equal(results[0].digits[0].input_image, single.digits[0].input_image)
    np.testing.assert_allclose(results[0].digits[0].probabilities, single.digits[0].probabilities, atol=1e-6)
    assert "no digit" in str(results[3])
    assert service.predict_batch([]) == []
    prediction = results[0]
    [reading] = prediction.digits
    assert len(reading.probabilities) == 10 and sum(reading.probabilities) == pytest.approx(1, abs=1e-5)
    assert prediction.confidence == reading.confidence == max(reading.probabilities) and prediction.number == str(reading.digit)
    assert reading.input_image.shape == (28, 28) and reading.input_image.dtype == np.uint8
    service.close()


def test_a_network_trained_on_moved_digits_reads_each_chosen_digit_moved_a_pixel_each_way(trained_store: Path, test_digits,
                                                                                            tmp_path: Path) -> None:
    """The same weights, carded as trained with augmentation, read a digit as the mean of the logits of it and of it
    moved one pixel down, up, right and left; carded as the tutorial's, once. The runs of a number are chosen as before."""
    loaded = ModelStore(trained_store).load(1)
    moved = ModelStore(tmp_path / "models")
    moved.save(trained_store / "1" / "model.weights.h5",
               replace(loaded.card, hyperparameters=replace(loaded.card.hyperparameters, augment=True)))
    still, steady = InferenceService(ModelStore(trained_store)), InferenceService(moved)
    still.load()
    steady.load()
    images, _ = test_digits
    rng = np.random.default_rng(5)
    pictures = [styles.tiny_mnist(image, None) for image in images[:8]] + [styles.number_drawing(list(images[8:11]), rng)]
    once, nudged = still.predict_batch(pictures), steady.predict_batch(pictures)
    for plain, read in zip(once, nudged):
        assert isinstance(plain, Prediction) and isinstance(read, Prediction)
        assert [r.input_image.tolist() for r in plain.digits] == [r.input_image.tolist() for r in read.digits]
        inputs = np.stack([r.input_image for r in read.digits])
        padded = np.pad(inputs, ((0, 0), (1, 1), (1, 1)))
        copies = [padded[:, 1 - down:29 - down, 1 - right:29 - right] for down, right in ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1))]
        logits = np.mean([loaded.network().logits(normalize(copy)) for copy in copies], axis=0)
        np.testing.assert_allclose([r.probabilities for r in read.digits], softmax(logits), atol=1e-5)
        np.testing.assert_allclose([r.probabilities for r in plain.digits], loaded.network().predict(normalize(inputs)), atol=1e-5)
    assert len(nudged[-1].digits) == len(once[-1].digits) == 3
    assert any(not np.allclose(a.digits[0].probabilities, b.digits[0].probabilities, atol=1e-3) for a, b in zip(once, nudged))
    still.close()
    steady.close()


def test_an_unexpected_error_costs_only_its_own_image(trained_store: Path, test_digits, monkeypatch, caplog) -> None:
    import digits.inference

    def segment(data: bytes, limits, cut_one_group: bool = False):
        if data == b"poison":
            raise RuntimeError("a bug met a picture")
        return real_segment(data, limits, cut_one_group)

    real_segment = digits.inference.segment
    monkeypatch.setattr(digits.inference, "segment", segment)
    service = InferenceService(ModelStore(trained_store))
    service.load()
    images, _ = test_digits
    with caplog.at_level(logging.ERROR, logger="digits.inference"):
        results = service.predict_batch([styles.tiny_mnist(images[0], None), b"poison", styles.tiny_mnist(images[1], None)])
        assert [type(r) for r in results] == [Prediction, ImageError, Prediction]
        assert "could not be read" in str(results[1]) and "\n" not in str(results[1])
        with pytest.raises(ImageError, match="could not be read"):
            service.predict(b"poison")
    # The operator gets the traceback; the user gets a short message.
    assert [r.exc_info[0] for r in caplog.records] == [RuntimeError, RuntimeError]
    assert "a bug met a picture" in caplog.text and "Traceback" in caplog.text
    service.close()


# -- reloading --------------------------------------------------------------------------------


@pytest.fixture
def two_versions(architecture_store, tmp_path: Path) -> ModelStore:
    """A private store with two versions of different architectures; version 1 is served."""
    import shutil

    root, _ = architecture_store
    copy = tmp_path / "models"
    shutil.copytree(root, copy)
    for extra in ModelStore(copy).versions()[2:]:
        shutil.rmtree(copy / str(extra))
    store = ModelStore(copy)
    store.promote(1)
    return store


def test_reload_switches_to_the_promoted_version(two_versions: ModelStore) -> None:
    service = InferenceService(two_versions)
    assert service.load() == 1
    assert service.reload().switched is False
    two_versions.promote(2)
    result = service.reload()
    assert (result.version, result.previous, result.switched, result.error) == (2, 1, True, None)
    assert service.version == 2 and service.card.architecture == ARCHITECTURES["4 layers"]
    service.close()


@pytest.mark.parametrize("damage", ["corrupt", "missing", "wrong shape", "temperature", "overflow"])
def test_a_version_that_fails_to_load_leaves_the_old_one_serving(damage, two_versions: ModelStore, caplog, test_digits) -> None:
    service = InferenceService(two_versions)
    service.load()
    picture = styles.tiny_mnist(test_digits[0][0], None)
    before = service.predict(picture)
    two_versions.promote(2)
    version_dir = two_versions.root / "2"
    if damage == "corrupt":
        weights = version_dir / "model.weights.h5"
        weights.write_bytes(weights.read_bytes()[:-100])
    elif damage == "missing":
        import shutil

        shutil.rmtree(version_dir)
    elif damage == "wrong shape":
        # The weights' checksum still matches, but the spec now asks for other layer sizes.
        metadata = json.loads((version_dir / "model.json").read_text())
        metadata["architecture"]["hidden_units"] = [32, 32]
        (version_dir / "model.json").write_text(json.dumps(metadata))
    elif damage == "temperature":
        # Issue 25 item 12: logits divided by 1e-300 make every probability NaN (read as digit 0, and not "unsure").
        metadata = json.loads((version_dir / "model.json").read_text())
        metadata["temperature"] = 1e-300
        (version_dir / "model.json").write_text(json.dumps(metadata))
    else:
        # Finite weights and a plausible temperature, yet the calibrated logits overflow: the check before serving
        # runs the network as it will serve (with the card's temperature).
        import h5py

        weights = version_dir / "model.weights.h5"
        metadata = json.loads((version_dir / "model.json").read_text())
        with h5py.File(weights, "r+") as h5:
            last = sorted(name for name in h5["layers"])[-1]
            h5[f"layers/{last}/vars/1"][...] = np.float32(3e38) * np.sign(np.arange(10) - 4.5)
        metadata["temperature"] = 0.1
        metadata["weights_sha256"] = sha256_file(weights)
        (version_dir / "model.json").write_text(json.dumps(metadata))
    with caplog.at_level(logging.ERROR, logger="digits.inference"):
        result = service.reload()
    assert result.switched is False and result.version == 1 and result.error
    assert any("still serving version 1" in record.getMessage() for record in caplog.records)
    after = service.predict(picture)
    assert after.version == 1 and after.digits[0].probabilities == before.digits[0].probabilities
    service.close()


def test_predictions_during_reloads_use_one_version_throughout(two_versions: ModelStore, test_digits) -> None:
    service = InferenceService(two_versions)
    service.load()
    pictures = [styles.phone_photo(image, np.random.default_rng(0)) for image in test_digits[0][:8]]
    expected = {}
    for version in (1, 2):
        two_versions.promote(version)
        service.reload()
        expected[version] = [service.predict(p).digits[0].probabilities for p in pictures]
    stop = threading.Event()
    mismatches: list[str] = []
    counts = {1: 0, 2: 0}

    def predict_forever() -> None:
        while not stop.is_set():
            for index, picture in enumerate(pictures):
                prediction = service.predict(picture)
                counts[prediction.version] += 1
                if prediction.digits[0].probabilities != expected[prediction.version][index]:
                    mismatches.append(f"picture {index} reported version {prediction.version} with other weights")

    workers = [threading.Thread(target=predict_forever) for _ in range(2)]
    for worker in workers:
        worker.start()
    for round_ in range(40):
        two_versions.promote(1 + round_ % 2)
        assert service.reload().switched
    stop.set()
    for worker in workers:
        worker.join()
    assert not mismatches
    assert counts[1] and counts[2]
    service.close()


# -- asyncio ----------------------------------------------------------------------------------


async def test_async_prediction_leaves_the_event_loop_free(trained_store: Path, test_digits) -> None:
    service = InferenceService(ModelStore(trained_store))
    service.load()
    photos = [styles.photo_4000x3000(image, np.random.default_rng(0)) for image in test_digits[0][:4]]
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.001)
            ticks += 1

    ticking = asyncio.create_task(ticker())
    predictions = await asyncio.gather(*(service.predict_async(photo) for photo in photos))
    batch = await service.predict_batch_async(photos)
    ticking.cancel()
    assert [p.digit for p in predictions] == [p.digit for p in batch] == list(test_digits[1][:4])
    assert ticks >= 10  # the loop kept running while some 100 ms of decoding went on
    with pytest.raises(ImageError):
        await service.predict_async(b"garbage")
    assert (await service.reload_async()).switched is False
    service.close()


# -- the serving process ----------------------------------------------------------------------

SERVING_PROCESS = """
import json, sys, time
started = time.perf_counter()
import psutil
from digits.inference import InferenceService
from model_store import ModelStore
from model_store.files import sha256_file
service = InferenceService(ModelStore(sys.argv[1]))
service.load()
prediction = service.predict(open(sys.argv[2], "rb").read())
ready = time.perf_counter() - started
print(json.dumps({
    "digit": prediction.digit,
    "seconds": ready,
    "rss_mb": psutil.Process().memory_info().rss / 2**20,
    "heavy": sorted(m for m in ("tensorflow", "keras", "discord", "torch", "scipy.spatial") if m in sys.modules),
}))
"""


def test_serving_needs_no_tensorflow_and_little_memory(trained_store: Path, test_digits, tmp_path: Path) -> None:
    picture = tmp_path / "digit.jpg"
    picture.write_bytes(styles.phone_photo(test_digits[0][0], np.random.default_rng(0)))
    result = subprocess.run(
        [sys.executable, "-c", SERVING_PROCESS, str(trained_store), str(picture)],
        capture_output=True, text=True, timeout=120, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["digit"] == test_digits[1][0]
    assert report["heavy"] == []
    assert report["rss_mb"] <= 150
    # The target is 1.5 s (the benchmark reports it); here only a bound that a busy machine also meets.
    assert report["seconds"] <= 5
