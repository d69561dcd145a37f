"""Train the Keras beginners' MNIST network and save it as a new version in the model store.

    python train.py                      # the tutorial: 784 → 64 relu → 64 relu → 10 softmax, Adam, 5 epochs
    python train.py --epochs 3 --layers 64,64,64,64 --activation sigmoid --dropout 0.5
    python train.py --json               # one JSON object per line (the bot's !retrain reads these)

`python train.py --help` lists every flag.
"""

import atexit
import contextlib
import os
import sys
import tempfile
import time
from datetime import datetime, timezone

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter would bury the tutorial's output

from digits.card import Hyperparameters, ModelCard, library_versions
from digits.evaluation import per_digit_accuracy
from digits.images import normalize
from digits.mnist import IDX_SHA256, MnistError, ensure_mnist, load_mnist
from digits.options import parse_train_command
from digits.records import Done, Reporter
from digits.settings import Paths
from model_store import ModelStore, StoreError

paths = Paths.from_env()
command = parse_train_command(sys.argv[1:], default_store=paths.model_store)
options = command.options
report = Reporter(json_lines=command.json)
store = ModelStore(command.store)
try:
    store.check_writable()
    data_dir = ensure_mnist(paths.mnist_dir, paths.mnist_cache, report=report.warning)
except (StoreError, MnistError) as error:
    report.fail(error)
    sys.exit(2)

# The data: 60,000 training and 10,000 test images, flattened to 784 values in [-0.5, 0.5].
mnist = load_mnist(data_dir)
train_images = normalize(mnist.train_images[: command.train_limit])
train_labels = mnist.train_labels[: command.train_limit]
test_images = normalize(mnist.test_images)

# Scratch files (TensorFlow's autograph sources, the weights before they are stored) go to a staging folder of
# the store: removed at exit, or by the next save if this process is killed.
scratch_files = contextlib.ExitStack()
atexit.register(scratch_files.close)
scratch = scratch_files.enter_context(store.staging())
tempfile.tempdir = str(scratch)

# TensorFlow is imported only once the flags and the data are known to be good.
import keras  # noqa: E402
import numpy as np  # noqa: E402

from digits.training import ProgressBar, build_keras_model, configure_tensorflow, fit  # noqa: E402

configure_tensorflow(options.seed)

# Build the model: 784 → Dense 64 relu → Dense 64 relu → Dense 10 softmax (or as the flags say).
model = build_keras_model(options.spec)

# Compile the model.
model.compile(
    optimizer=keras.optimizers.Adam(learning_rate=options.learning_rate),
    loss="categorical_crossentropy",
    metrics=["accuracy"],
)

# Train the model: what model.fit(images, to_categorical(labels), epochs=5, batch_size=32) does, faster.
started = time.perf_counter()
fit(model, train_images, train_labels, options.epochs, options.batch_size,
    on_progress=report.progress if command.json else ProgressBar())
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

# Save the weights as a new version in the model store, with its model card.
card = ModelCard(
    architecture=options.spec,
    hyperparameters=Hyperparameters.of_run(options, train_images=len(train_images)),
    test_accuracy=float(test_accuracy),
    test_loss=float(test_loss),
    per_digit_accuracy=tuple(per_digit_accuracy(predicted, mnist.test_labels)),
    created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    training_seconds=round(fit_seconds, 3),
    library_versions=library_versions(),
    dataset_sha256=IDX_SHA256,
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
    store=str(store.root),
    test_accuracy=float(test_accuracy),
    test_loss=float(test_loss),
    epochs=options.epochs,
    batch_size=options.batch_size,
    fit_seconds=round(fit_seconds, 3),
    first_predictions=predicted[:5].tolist(),
    first_labels=mnist.test_labels[:5].tolist(),
))
