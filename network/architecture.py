"""The one definition of the digit network: an architecture spec (with its limits), evaluated by NumPy.

Training builds the Keras model from an `ArchitectureSpec` (`digits.training`); inference
rebuilds the same layers from the same spec with NumPy (no TensorFlow) and the saved weights.
Both feed it images normalized the tutorial's way (`normalize`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

ACTIVATIONS = ("relu", "sigmoid", "tanh")
MAX_LAYERS = 10
MAX_UNITS = 4096


@dataclass(frozen=True)
class DenseLayer:
    """One Dense layer of the network, as named in the Keras weights file."""

    name: str
    units: int
    activation: str


@dataclass(frozen=True)
class ArchitectureSpec:
    """The tutorial's network by default: 784 → Dense 64 relu → Dense 64 relu → Dense 10 softmax."""

    input_dim: int = 784
    hidden_units: tuple[int, ...] = field(default=(64, 64))
    activation: str = "relu"
    dropout: float = 0.0
    num_classes: int = 10

    def __post_init__(self) -> None:
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {self.activation!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if not 1 <= len(self.hidden_units) <= MAX_LAYERS or not all(1 <= units <= MAX_UNITS for units in self.hidden_units):
            raise ValueError(
                f"layers must be 1 to {MAX_LAYERS} sizes from 1 to {MAX_UNITS}, got {','.join(map(str, self.hidden_units))}"
            )
        if self.input_dim < 1 or self.num_classes < 1:
            raise ValueError(f"the network needs inputs and classes, got {self.input_dim} → {self.num_classes}")

    def dense_layers(self) -> list[DenseLayer]:
        """The Dense layers in order; dropout layers carry no weights and are left out."""
        hidden = [DenseLayer(f"hidden_{i}", units, self.activation) for i, units in enumerate(self.hidden_units)]
        return [*hidden, DenseLayer("output", self.num_classes, "softmax")]

    def weight_shapes(self) -> list[tuple[tuple[int, int], tuple[int]]]:
        """(kernel shape, bias shape) of each Dense layer."""
        shapes = []
        fan_in = self.input_dim
        for layer in self.dense_layers():
            shapes.append(((fan_in, layer.units), (layer.units,)))
            fan_in = layer.units
        return shapes

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["hidden_units"] = list(self.hidden_units)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ArchitectureSpec:
        return cls(
            input_dim=int(data["input_dim"]),
            hidden_units=tuple(int(u) for u in data["hidden_units"]),
            activation=str(data["activation"]),
            dropout=float(data["dropout"]),
            num_classes=int(data["num_classes"]),
        )


Weights = list[tuple[np.ndarray, np.ndarray]]


def normalize(images: np.ndarray) -> np.ndarray:
    """The tutorial's normalization, for training and serving alike: uint8 28×28 images → rows of 784 in [-0.5, 0.5]."""
    flat = np.asarray(images, dtype=np.float32).reshape(len(images), -1)
    return flat / 255.0 - 0.5


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Row-wise softmax of `logits / temperature`, computed in the logits' own float type (a new array)."""
    z = logits if temperature == 1.0 else logits / np.asarray(temperature, logits.dtype)
    z = z - z.max(axis=-1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=-1, keepdims=True)
    return z


Activation = Callable[[np.ndarray], np.ndarray]

_NUMPY_ACTIVATIONS: dict[str, Activation] = {
    "relu": lambda z: np.maximum(z, 0.0, out=z),
    "sigmoid": lambda z: np.reciprocal(1.0 + np.exp(-z)),
    "tanh": np.tanh,
    "softmax": softmax,
}


class NumpyNetwork:
    """The spec's Dense layers evaluated with NumPy: the same function as the Keras model in inference mode."""

    def __init__(self, spec: ArchitectureSpec, weights: Weights) -> None:
        expected = spec.weight_shapes()
        if len(weights) != len(expected):
            raise ValueError(f"expected {len(expected)} Dense layers, got {len(weights)}")
        for layer, (kernel, bias), (kernel_shape, bias_shape) in zip(spec.dense_layers(), weights, expected):
            if kernel.shape != kernel_shape or bias.shape != bias_shape:
                raise ValueError(
                    f"layer {layer.name}: weights have shapes {kernel.shape}/{bias.shape}, "
                    f"the spec needs {kernel_shape}/{bias_shape}"
                )
        self.spec = spec
        self._layers = [
            (np.ascontiguousarray(kernel, np.float32), np.ascontiguousarray(bias, np.float32), _NUMPY_ACTIVATIONS[layer.activation])
            for layer, (kernel, bias) in zip(spec.dense_layers(), weights)
        ]

    def predict(self, inputs: np.ndarray, temperature: float = 1.0) -> np.ndarray:
        """Class probabilities for a batch of flattened, normalized inputs of shape (n, input_dim).

        With a `temperature` other than 1 the output layer's logits are divided by it first (calibration).
        """
        if temperature != 1.0:
            return softmax(self.logits(inputs), temperature)
        activations = np.asarray(inputs, dtype=np.float32)
        for kernel, bias, activation in self._layers:
            activations = activation(activations @ kernel + bias)
        return activations

    def logits(self, inputs: np.ndarray) -> np.ndarray:
        """The output layer's inputs to its softmax (its logits) for a batch of inputs."""
        activations = np.asarray(inputs, dtype=np.float32)
        for kernel, bias, activation in self._layers[:-1]:
            activations = activation(activations @ kernel + bias)
        kernel, bias, _ = self._layers[-1]
        return activations @ kernel + bias
