"""Honest confidence: a temperature fitted on held-out images, the calibration error, and when to say "unsure".

The network's softmax is overconfident on pictures unlike its training digits. Temperature
scaling divides the logits by one number T fitted (by likelihood) on images held out from
training, which keeps every answer and only makes the probabilities mean what they say.
The expected calibration error (ECE) is the gap between confidence and accuracy, averaged over
confidence bins weighted by their counts.

An answer is *unsure* when its calibrated probability is below `UNSURE_BELOW`, or when the
runner-up is within `CLOSE_MARGIN` of it; the bot then says "probably a 4, maybe a 9". Both
numbers were chosen on the user-like set of `benchmarks/recipes.py` (docs/benchmarks.md): for the
robust recipe they flag most wrong answers while flagging few right ones. With UNSURE_BELOW at 0.8
the margin rule is implied (a top answer of 0.8 leaves the runner-up at most 0.2); it matters only
if the threshold is lowered below 2/3.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from network.architecture import softmax
from network.card import TEMPERATURE_RANGE

UNSURE_BELOW = 0.8
CLOSE_MARGIN = 0.3
ECE_BINS = 15
RELIABILITY_BINS = 10
_TINY = 1e-12


def negative_log_likelihood(logits: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    probabilities = softmax(np.asarray(logits, np.float64), temperature)  # float64 for the fit's sake
    return float(-np.mean(np.log(np.maximum(probabilities[np.arange(len(labels)), labels], _TINY))))


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature (in TEMPERATURE_RANGE) minimizing the negative log-likelihood of `labels` under softmax(logits / T)."""
    from scipy.optimize import minimize_scalar  # only here: SciPy's optimizers cost every serving process 50 ms to import
    labels = np.asarray(labels, np.int64)
    low, high = TEMPERATURE_RANGE
    result = minimize_scalar(lambda log_t: negative_log_likelihood(logits, labels, float(np.exp(log_t))),
                             bounds=(np.log(low), np.log(high)), method="bounded", options={"xatol": 1e-4})
    return float(np.exp(result.x))


@dataclass(frozen=True)
class ReliabilityBin:
    """Answers whose confidence fell in [low, high): how many, their mean confidence and their accuracy."""

    low: float
    high: float
    count: int
    confidence: float
    accuracy: float


def reliability(probabilities: np.ndarray, labels: np.ndarray, bins: int = RELIABILITY_BINS) -> list[ReliabilityBin]:
    """The reliability diagram's bins: confidence of the top answer vs. how often it was right."""
    confidence = np.asarray(probabilities).max(axis=1)
    correct = np.asarray(probabilities).argmax(axis=1) == np.asarray(labels)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    out = []
    for b in range(bins):
        members = which == b
        count = int(members.sum())
        out.append(ReliabilityBin(float(edges[b]), float(edges[b + 1]), count,
                                  float(confidence[members].mean()) if count else 0.0,
                                  float(correct[members].mean()) if count else 0.0))
    return out


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> float:
    """ECE: Σ over confidence bins of (share of answers) × |accuracy − mean confidence|."""
    total = len(labels)
    return float(sum(b.count / total * abs(b.accuracy - b.confidence) for b in reliability(probabilities, labels, bins)))


def is_unsure(probabilities: np.ndarray) -> bool:
    """Whether one answer's calibrated probabilities call for "probably …, maybe …"."""
    return bool(unsure_mask(np.asarray(probabilities)[np.newaxis])[0])


def unsure_mask(probabilities: np.ndarray, below: float = UNSURE_BELOW, margin: float = CLOSE_MARGIN) -> np.ndarray:
    """`is_unsure` for each row of a batch (the thresholds can be varied to choose them)."""
    ranked = np.sort(np.asarray(probabilities), axis=1)
    top, second = ranked[:, -1], ranked[:, -2]
    return np.asarray((top < below) | (top - second < margin))
