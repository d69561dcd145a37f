"""Verified MNIST for the tests, model cards and trained stores (the pictures come from `samples.pictures`)."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from digits.mnist import ensure_mnist, load_mnist
from digits.settings import Paths
from network.architecture import ArchitectureSpec
from network.card import Hyperparameters, ModelCard

REPO = Path(__file__).resolve().parents[1]
# The shared data folder lies beside the work tree (and beside CI's clone).
DEFAULT_MNIST_DIR = str(REPO.parent / "shared" / "data" / "mnist")


@functools.cache
def verified_mnist_dir() -> Path:
    """A folder of verified MNIST files: MNIST_DIR or the copy beside the checkout, else the user cache (fetched once)."""
    preferred = Path(os.environ.get("MNIST_DIR") or DEFAULT_MNIST_DIR)
    return ensure_mnist(preferred, Paths.from_env(os.environ).mnist_cache).resolve()


def model_card(spec: ArchitectureSpec = ArchitectureSpec(), accuracy: float = 0.9) -> ModelCard:
    """A model card for weights made in a test (not by train.py)."""
    return ModelCard(
        architecture=spec,
        hyperparameters=Hyperparameters(epochs=1, batch_size=32, learning_rate=0.001, seed=0, train_images=3000),
        test_accuracy=accuracy,
        test_loss=0.25,
        per_digit_accuracy=(accuracy,) * 10,
        created="2024-01-01T00:00:00+00:00",
        training_seconds=1.0,
    )


def mnist_folder(cache_dir: Path) -> Path:
    """The verified MNIST folder; loads it so that the `mnist` package reads from it."""
    folder = ensure_mnist(verified_mnist_dir(), cache_dir)
    load_mnist(folder)
    return folder


def raw_test_digits(cache_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """MNIST's 10,000 raw test images (uint8, n×28×28) and their labels."""
    import mnist

    mnist_folder(cache_dir)
    return mnist.test_images(), mnist.test_labels().astype(np.int64)


def train_version(store: Path, *flags: str) -> int:
    """Run train.py into `store` (promoting the new version) and return the version number."""
    env = {**os.environ, "MNIST_DIR": str(verified_mnist_dir())}
    result = subprocess.run(
        [sys.executable, str(REPO / "train.py"), "--store", str(store), "--json", *flags],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    done = json.loads(result.stdout.strip().splitlines()[-1])
    return int(done["version"])


