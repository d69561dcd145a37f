"""Accuracy figures shared by training and serving."""

from __future__ import annotations

import numpy as np


def per_digit_accuracy(predicted: np.ndarray, labels: np.ndarray, num_classes: int = 10) -> list[float]:
    """Accuracy on the images of each digit 0..9 (NaN-free: a digit with no images counts 0)."""
    return [float(np.mean(predicted[labels == digit] == digit)) if np.any(labels == digit) else 0.0 for digit in range(num_classes)]
