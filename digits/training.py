"""The Keras side: the network built from its spec, and a fast `model.fit` whose batches run inside one graph.

This is the only module that imports TensorFlow (through Keras); only train.py imports it.

`model.fit` pays Python and data-pipeline overhead on every one of the 1,875 batches of an
epoch, which for a 55k-parameter network costs more than the arithmetic itself. Here the
data lives in tensors, each epoch is shuffled with one permutation, and a compiled
`tf.function` loops over a run of batches, so Python is entered a few times per epoch.
The maths is the same: shuffled mini-batches, the model's loss and optimizer, one update
per batch, the last partial batch included.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

from digits.augment import soft_targets
from digits.records import EpochProgress
from network.architecture import ArchitectureSpec

# Progress is reported this many times per epoch; each report is one return to Python.
CHUNKS_PER_EPOCH = 10


def build_keras_model(spec: ArchitectureSpec) -> keras.Model:
    """Build the (uncompiled) Keras Sequential model described by `spec`."""
    layers: list[keras.Layer] = [keras.Input(shape=(spec.input_dim,))]
    for dense in spec.dense_layers():
        layers.append(keras.layers.Dense(dense.units, activation=dense.activation, name=dense.name))
        if spec.dropout and dense.activation != "softmax":
            layers.append(keras.layers.Dropout(spec.dropout))
    return keras.Sequential(layers, name="digit_network")


class ProgressBar:
    """Progress as Keras prints it: `Epoch 1/5` and a bar with the loss and accuracy, one per epoch."""

    def __init__(self) -> None:
        self._bar: keras.utils.Progbar | None = None
        self._epoch = 0

    def __call__(self, progress: EpochProgress) -> None:
        if progress.epoch != self._epoch or self._bar is None:
            self._epoch = progress.epoch
            print(f"Epoch {progress.epoch}/{progress.epochs}")
            self._bar = keras.utils.Progbar(progress.steps, stateful_metrics=["loss", "accuracy"])
        self._bar.update(progress.step, values=[("loss", progress.loss), ("accuracy", progress.accuracy)],
                         finalize=progress.step == progress.steps)


def configure_tensorflow(seed: int) -> None:
    """Seed every generator and make TensorFlow reproducible and quick for small ops.

    One intra-op thread is both faster for this network's tiny matrices (no thread hand-off
    per op) and keeps float reductions in one order, so the same seed gives the same weights.
    """
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def fit(
    model: keras.Model,
    epoch_data: Callable[[], tuple[np.ndarray, np.ndarray]],
    epochs: int,
    batch_size: int,
    on_progress: Callable[[EpochProgress], None] = lambda progress: None,
) -> list[EpochProgress]:
    """Train a compiled model like `model.fit(images, to_categorical(labels), epochs, batch_size)`.

    `epoch_data()` gives each epoch's normalized (n, 784) images and labels: the same arrays every time for the
    tutorial, drawn anew (augmented, on another thread) for the robust recipe; a label NOT_A_DIGIT is a picture
    that is not one digit, taught with a uniform target (`soft_targets`). Returns the end-of-epoch figures (mean
    loss over the epoch's samples, accuracy over its digits).
    """
    optimizer = model.optimizer
    optimizer.build(model.trainable_variables)
    num_classes = model.output_shape[-1]

    @tf.function
    def run_batches(x: tf.Tensor, y: tf.Tensor, order: tf.Tensor, first: tf.Tensor,
                    last: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        count = tf.shape(x, out_type=tf.int64)[0]
        loss_sum = tf.constant(0.0)
        correct = tf.constant(0.0)
        digits = tf.constant(0.0)
        for step in tf.range(first, last):
            batch = order[step * batch_size : tf.minimum((step + 1) * batch_size, count)]
            batch_x, batch_y = tf.gather(x, batch), tf.gather(y, batch)
            with tf.GradientTape() as tape:
                probabilities = model(batch_x, training=True)
                loss = model.compute_loss(x=batch_x, y=batch_y, y_pred=probabilities, training=True)
            gradients = tape.gradient(loss, model.trainable_variables)
            optimizer.apply(gradients, model.trainable_variables)
            loss_sum += loss * tf.cast(tf.shape(batch)[0], tf.float32)
            is_digit = tf.equal(tf.reduce_max(batch_y, axis=1), 1.0)
            hits = tf.equal(tf.argmax(probabilities, axis=1), tf.argmax(batch_y, axis=1)) & is_digit
            correct += tf.reduce_sum(tf.cast(hits, tf.float32))
            digits += tf.reduce_sum(tf.cast(is_digit, tf.float32))
        return loss_sum, correct, digits

    history = []
    data: tuple[np.ndarray, np.ndarray] | None = None
    for epoch in range(1, epochs + 1):
        images, labels = epoch_data()
        if data is None or images is not data[0] or labels is not data[1]:  # new data: new tensors
            data = images, labels
            x = tf.constant(images, dtype=tf.float32)
            y = tf.constant(soft_targets(labels, num_classes))
        count = len(images)
        steps = math.ceil(count / batch_size)
        bounds = np.linspace(0, steps, min(CHUNKS_PER_EPOCH, steps) + 1).round().astype(int)
        order = tf.random.shuffle(tf.range(count))
        loss_sum = correct = digits = 0.0
        for first, last in zip(bounds[:-1], bounds[1:]):
            chunk_loss, chunk_correct, chunk_digits = run_batches(x, y, order, tf.constant(first), tf.constant(last))
            loss_sum += float(chunk_loss)
            correct += float(chunk_correct)
            digits += float(chunk_digits)
            seen = min(last * batch_size, count)
            progress = EpochProgress(epoch, epochs, int(last), steps, loss_sum / seen, correct / max(digits, 1.0))
            on_progress(progress)
        history.append(progress)
    return history


def make_optimizer(learning_rate: float, ema: bool = False, schedule: str = "constant",
                   total_steps: int = 1) -> keras.optimizers.Optimizer:
    """Adam as the tutorial has it, or with weight averaging (`use_ema`) and/or a cosine-decaying learning rate."""
    if not ema and schedule == "constant":
        return keras.optimizers.Adam(learning_rate=learning_rate)  # the tutorial's, exactly
    rate: float | keras.optimizers.schedules.LearningRateSchedule = learning_rate
    if schedule == "cosine":
        rate = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=max(1, total_steps), alpha=0.02)
    return keras.optimizers.Adam(learning_rate=rate, use_ema=ema)


def finish(model: keras.Model) -> None:
    """After training: with weight averaging, the averaged weights become the model's."""
    if model.optimizer.use_ema:
        model.optimizer.finalize_variable_values(model.trainable_variables)


def dense_weights(model: keras.Model) -> list[tuple[np.ndarray, np.ndarray]]:
    """(kernel, bias) of each Dense layer, in order: what `network.architecture.NumpyNetwork` evaluates."""
    return [(layer.kernel.numpy(), layer.bias.numpy()) for layer in model.layers if isinstance(layer, keras.layers.Dense)]
