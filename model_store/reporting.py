"""What `train.py` tells its reader: a progress bar and lines on a terminal, or JSON lines for a program."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass
from importlib import metadata
from typing import Any


@dataclass(frozen=True)
class EpochProgress:
    """Where training is: `step` of `steps` batches done in `epoch` (1-based) of `epochs`."""

    epoch: int
    epochs: int
    step: int
    steps: int
    loss: float
    accuracy: float

    @property
    def fraction(self) -> float:
        """How much of the whole run is done, 0..1."""
        return (self.epoch - 1 + self.step / self.steps) / self.epochs


class ProgressReporter:
    """Progress as Keras shows it (`Epoch 1/5` and a bar), or with `json_lines` one JSON object per line.

    JSON events: `progress` (several per epoch; the last of each has step == steps), `warning`,
    `error`, and a final `done` with the run's summary.
    """

    def __init__(self, json_lines: bool) -> None:
        self.json_lines = json_lines
        self._started = time.monotonic()
        self._bar: Any = None
        self._bar_epoch = 0

    def _emit(self, event: str, **fields: Any) -> None:
        print(json.dumps({"event": event, **fields}), flush=True)

    def progress(self, progress: EpochProgress) -> None:
        if self.json_lines:
            done = progress.fraction
            elapsed = time.monotonic() - self._started
            self._emit("progress", **asdict(progress), elapsed_seconds=round(elapsed, 2),
                       eta_seconds=round(elapsed * (1 - done) / done, 1))
            return
        from keras.utils import Progbar  # keras is loaded by now: training is running

        if progress.epoch != self._bar_epoch:
            self._bar_epoch = progress.epoch
            print(f"Epoch {progress.epoch}/{progress.epochs}")
            self._bar = Progbar(progress.steps, stateful_metrics=["loss", "accuracy"])
        self._bar.update(progress.step, values=[("loss", progress.loss), ("accuracy", progress.accuracy)], finalize=progress.step == progress.steps)

    def line(self, text: str) -> None:
        """A line for a person; JSON readers get the summary in `done` instead."""
        if not self.json_lines:
            print(text, flush=True)

    def warning(self, text: str) -> None:
        if self.json_lines:
            self._emit("warning", message=text)
        print(text, file=sys.stderr, flush=True)

    def fail(self, error: Exception) -> None:
        if self.json_lines:
            self._emit("error", message=str(error))
        print(f"train.py: error: {error}", file=sys.stderr, flush=True)

    def done(self, **summary: Any) -> None:
        if self.json_lines:
            self._emit("done", **summary)
        else:
            promoted = "and is now served" if summary["promoted"] else "(not promoted: the served version is unchanged)"
            print(f"Saved version {summary['version']} in {summary['store']} {promoted}.", flush=True)


def library_versions() -> dict[str, str]:
    """Versions of the libraries a saved model depends on."""
    return {name: metadata.version(name) for name in ("keras", "tensorflow-cpu", "numpy", "h5py")}
