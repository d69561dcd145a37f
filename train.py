"""Train the Keras beginners' MNIST network and save it as a new version in the model store.

    python train.py                      # the tutorial: 784 → 64 relu → 64 relu → 10 softmax, Adam, 5 epochs
    python train.py --epochs 3 --layers 64,64,64,64 --activation sigmoid --dropout 0.5
    python train.py --json               # one JSON object per line (the bot's !retrain reads these)
    python train.py --recipe robust      # the same network trained to read real posts (augmented, 40 epochs, calibrated)
    python train.py --community data/digitbot.sqlite3   # also learn from the bot's accepted community corrections
    python train.py --store postgresql://digitbot@db.example/digitbot   # a store in PostgreSQL (or MODEL_STORE=…)

With --community, the accepted corrections are split by contributor (digits/community.py): a quarter of the
contributors' examples are the *community test set*, never trained on; the rest make up 10 % of each epoch
(at most 50 draws of each example), augmented only when the recipe augments (digits/augment.py).

One training at a time per store: the run holds the store's trainer lock from start to end (a file lock in a
folder store, an advisory lock in PostgreSQL) and stops at once, naming who trains, if another run holds it.

`python train.py --help` lists every flag.
"""

import atexit
import contextlib
import os
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter would bury the tutorial's output

from digits.mnist import IDX_SHA256, MnistError, ensure_mnist, load_mnist
from digits.options import parse_train_command
from digits.records import Done, Reporter
from digits.settings import Paths
from model_store import TRAINER_LOCK, LockBusy, ModelStore, StoreError, location_text
from model_store.database import DatabaseError
from network.architecture import NumpyNetwork, normalize
from network.calibration import expected_calibration_error, fit_temperature
from network.card import ModelCard, library_versions
from network.evaluation import per_digit_accuracy

paths = Paths.from_env()
command = parse_train_command(sys.argv[1:], default_store=paths.model_store)
options = command.options
report = Reporter(json_lines=command.json)
try:
    store = ModelStore(command.store)
    store.check_writable()
    # One trainer at a time: held until this process ends, however it ends (the kernel or the server lets go).
    trainer_lock = store.lock(TRAINER_LOCK)
    trainer_lock.acquire(command.requested_by)
    data_dir = ensure_mnist(paths.mnist_dir, paths.mnist_cache, report=report.warning)
except (StoreError, MnistError, DatabaseError, LockBusy) as error:
    report.fail(error)
    sys.exit(2)

# The data: 60,000 training and 10,000 test images, flattened to 784 values in [-0.5, 0.5].
# With --validation N the last N training images are held out (never trained on) to calibrate the confidence.
mnist = load_mnist(data_dir)
end = len(mnist.train_images) - options.validation
end = end if command.train_limit is None else min(command.train_limit, end)
train_images = normalize(mnist.train_images[:end])
train_labels = mnist.train_labels[:end]
test_images = normalize(mnist.test_images)
held_out = slice(len(mnist.train_images) - options.validation, None)

# Typed digits for the robust recipe, rendered from the installed fonts (digits/typed.py names the packages).
typed = None
fonts: list[Path] = []
if options.fonts > 0:
    from digits.typed import FONT_PACKAGES, find_fonts, typed_digits

    fonts = find_fonts()
    if fonts:
        typed = typed_digits(fonts)
    else:
        report.warning(f"warning: no font found for typed digits (install {' '.join(FONT_PACKAGES)}); training without them")

# Community corrections (--community DB): the accepted examples, split by contributor, read without locking the bot out.
community = None
if options.community is not None:
    from digits.community import CommunityError, accepted_examples

    try:
        community = accepted_examples(options.community)
    except CommunityError as error:
        report.warning(f"community: {error} Training on MNIST alone.")
if community is not None and options.community is not None and not len(community.train_labels):
    report.warning(f"community: no accepted examples to train on in {location_text(options.community)}; training on MNIST alone.")
elif community is not None:
    report.line(f"Community: {len(community.train_labels)} accepted examples to train on, "
                f"{len(community.test_labels)} in the community test set")
community_train = None if community is None or not len(community.train_labels) else (community.train_images, community.train_labels)

# Scratch files (TensorFlow's autograph sources, the weights before they are stored) go to a staging folder of
# the store: removed at exit, or by the next save if this process is killed.
scratch_files = contextlib.ExitStack()
atexit.register(scratch_files.close)
scratch = scratch_files.enter_context(store.staging())
tempfile.tempdir = str(scratch)

# TensorFlow is imported only once the flags and the data are known to be good.
import keras  # noqa: E402
import numpy as np  # noqa: E402

from digits.training import ProgressBar, build_keras_model, configure_tensorflow, dense_weights, finish, fit, make_optimizer  # noqa: E402

configure_tensorflow(options.seed)

# Build the model: 784 → Dense 64 relu → Dense 64 relu → Dense 10 softmax (or as the flags say).
model = build_keras_model(options.spec)

# Each epoch's images drawn anew (augmented, typed digits mixed in) on a second thread, when the recipe says so.
augmenter = None
if options.augment or typed is not None or community_train is not None or options.outliers:
    from digits.augment import EpochAugmenter

    augmenter = EpochAugmenter(mnist.train_images[:end], train_labels, options.seed, typed=typed,
                               typed_share=options.fonts, augment_images=options.augment, community=community_train,
                               outlier_share=options.outliers)
samples_per_epoch = len(train_images) + (augmenter.typed_count + augmenter.outlier_count + augmenter.community_count
                                         if augmenter else 0)

# Compile the model: Adam(learning_rate=0.001) in the tutorial.
model.compile(
    optimizer=make_optimizer(options.learning_rate, options.ema, options.schedule,
                             total_steps=options.epochs * -(-samples_per_epoch // options.batch_size)),
    loss="categorical_crossentropy",
    metrics=["accuracy"],
)

# Train the model: what model.fit(images, to_categorical(labels), epochs=5, batch_size=32) does, faster.
started = time.perf_counter()
on_progress = report.progress if command.json else ProgressBar()
try:
    epoch_data = augmenter.next if augmenter else lambda: (train_images, train_labels)
    fit(model, epoch_data, options.epochs, options.batch_size, on_progress=on_progress)
finally:
    if augmenter:
        augmenter.close()
finish(model)
fit_seconds = time.perf_counter() - started

# Evaluate the model on the 10,000 test images.
test_loss, test_accuracy = model.evaluate(
    test_images, keras.utils.to_categorical(mnist.test_labels), batch_size=1000, verbose=0
)
predicted = np.argmax(model.predict(test_images, batch_size=1000, verbose=0), axis=1)
report.line(f"Test loss: {test_loss:.4f} - test accuracy: {test_accuracy:.4f}")

# Predict on the first 5 test images.
report.line(f"Predictions: {predicted[:5]}")
report.line(f"Labels:      {mnist.test_labels[:5]}")

# Honest confidence: a temperature fitted on the held-out images (1.0 when none are held out).
network = NumpyNetwork(options.spec, dense_weights(model))
temperature = 1.0
if options.validation:
    temperature = fit_temperature(network.logits(normalize(mnist.train_images[held_out])), mnist.train_labels[held_out])
test_ece = expected_calibration_error(network.predict(test_images), mnist.test_labels)
test_ece_calibrated = expected_calibration_error(network.predict(test_images, temperature), mnist.test_labels)
if options.validation:
    report.line(f"Calibration: temperature {temperature:.3f} fitted on {options.validation} held-out images; "
                f"test ECE {test_ece:.4f} before, {test_ece_calibrated:.4f} after")

# The community test set: other contributors' corrections, never trained on. The version served now reads it too,
# so that whoever promotes can compare the two on the same examples.
community_test_accuracy = served_version = served_community_accuracy = None
if community is not None and len(community.test_labels):
    community_inputs, community_labels = normalize(community.test_images), community.test_labels
    community_test_accuracy = float(np.mean(network.logits(community_inputs).argmax(axis=1) == community_labels))
    report.line(f"Community test accuracy: {community_test_accuracy:.4f} on {len(community_labels)} images")
    try:
        served = store.load_served()
        served_version = served.version
        served_logits = served.network().logits(community_inputs)
        served_community_accuracy = float(np.mean(served_logits.argmax(axis=1) == community_labels))
    except StoreError:
        pass  # nothing served yet: nothing to compare with

# Save the weights as a new version in the model store, with its model card.
card = ModelCard(
    architecture=options.spec,
    hyperparameters=options.hyperparameters(train_images=len(train_images)),
    test_accuracy=float(test_accuracy),
    test_loss=float(test_loss),
    per_digit_accuracy=tuple(per_digit_accuracy(predicted, mnist.test_labels)),
    created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    training_seconds=round(fit_seconds, 3),
    library_versions=library_versions(),
    dataset_sha256=IDX_SHA256,
    temperature=round(temperature, 6),
    test_ece=round(test_ece, 6),
    test_ece_calibrated=round(test_ece_calibrated, 6),
    typed_fonts=0 if typed is None else len(fonts),
    community_examples=0 if community_train is None else len(community_train[1]),
    community_test_images=0 if community is None else len(community.test_labels),
    community_test_accuracy=community_test_accuracy,
)
weights_file = scratch / "model.weights.h5"
model.save_weights(weights_file)
try:
    version = store.save(weights_file, card, promote=command.promote)
except StoreError as error:
    report.fail(error)
    sys.exit(1)

report.done(Done(
    version=version,
    promoted=command.promote,
    store=store.location,
    test_accuracy=float(test_accuracy),
    test_loss=float(test_loss),
    epochs=options.epochs,
    batch_size=options.batch_size,
    fit_seconds=round(fit_seconds, 3),
    first_predictions=predicted[:5].tolist(),
    first_labels=mnist.test_labels[:5].tolist(),
    community_test_images=card.community_test_images,
    community_test_accuracy=community_test_accuracy,
    compared_version=served_version,
    compared_community_test_accuracy=served_community_accuracy,
))
