"""The network's one definition (network/architecture.py): the spec and its limits, the NumPy network, the softmax."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from network.architecture import ArchitectureSpec, NumpyNetwork, normalize, softmax


def test_numpy_network_rejects_wrong_shapes() -> None:
    spec = ArchitectureSpec(input_dim=6, hidden_units=(4,), num_classes=3)
    good = [(np.zeros((6, 4), np.float32), np.zeros(4, np.float32)), (np.zeros((4, 3), np.float32), np.zeros(3, np.float32))]
    probabilities = NumpyNetwork(spec, good).predict(np.ones((5, 6), np.float32))
    np.testing.assert_allclose(probabilities, np.full((5, 3), 1 / 3), rtol=1e-6)
    with pytest.raises(ValueError, match="expected 2 Dense layers, got 1"):
        NumpyNetwork(spec, good[:1])
    with pytest.raises(ValueError, match="hidden_0"):
        NumpyNetwork(spec, [(np.zeros((4, 6), np.float32), np.zeros(4, np.float32)), good[1]])
    with pytest.raises(ValueError, match="output"):
        NumpyNetwork(spec, [good[0], (np.zeros((4, 3), np.float32), np.zeros(4, np.float32))])


@pytest.mark.parametrize("bad", [{"activation": "swish"}, {"dropout": 1.0}, {"dropout": -0.1}, {"hidden_units": ()}, {"hidden_units": (64, 0)}])
def test_architecture_spec_refuses_bad_values(bad: dict) -> None:
    with pytest.raises(ValueError):
        ArchitectureSpec(**bad)


@settings(max_examples=50, deadline=None)
@given(
    input_dim=st.integers(1, 2000),
    hidden=st.lists(st.integers(1, 4096), min_size=1, max_size=10),
    activation=st.sampled_from(["relu", "sigmoid", "tanh"]),
    dropout=st.floats(0.0, 1.0, exclude_max=True),
    classes=st.integers(1, 100),
)
def test_architecture_spec_round_trips(input_dim: int, hidden: list[int], activation: str, dropout: float, classes: int) -> None:
    spec = ArchitectureSpec(input_dim, tuple(hidden), activation, dropout, classes)
    assert ArchitectureSpec.from_dict(spec.to_dict()) == spec
    assert ArchitectureSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec
    shapes = spec.weight_shapes()
    assert shapes[0][0][0] == input_dim and shapes[-1][1] == (classes,) and len(shapes) == len(hidden) + 1


def test_default_spec_is_the_tutorials() -> None:
    spec = ArchitectureSpec()
    assert [(layer.units, layer.activation) for layer in spec.dense_layers()] == [(64, "relu"), (64, "relu"), (10, "softmax")]
    assert spec.weight_shapes() == [((784, 64), (64,)), ((64, 64), (64,)), ((64, 10), (10,))]


def test_one_softmax_for_serving_and_calibration() -> None:
    logits = np.array([[1.0, 2.0, 3.0], [1000.0, 0.0, -1000.0]], np.float32)
    probabilities = softmax(logits)
    assert probabilities.dtype == np.float32 and np.allclose(probabilities.sum(axis=1), 1.0)
    np.testing.assert_allclose(probabilities[0], np.exp([1, 2, 3]) / np.exp([1, 2, 3]).sum(), rtol=1e-6)
    np.testing.assert_allclose(softmax(logits.astype(np.float64), 2.0)[0], softmax(logits[:1] / 2)[0], rtol=1e-6)
    assert softmax(logits) is not logits and logits[0, 0] == 1.0  # the logits are left as they were


def test_normalize_is_the_tutorials() -> None:
    images = np.random.default_rng(0).integers(0, 256, size=(7, 28, 28), dtype=np.uint8)
    images[0, 0, 0], images[0, 0, 1] = 0, 255
    result = normalize(images)
    assert result.shape == (7, 784) and result.dtype == np.float32
    expected = (images.astype(np.float32) / 255 - 0.5).reshape(7, 784)
    np.testing.assert_allclose(result, expected, rtol=0, atol=1e-7)
    assert result[0, 0] == -0.5 and result[0, 1] == 0.5
