"""What `train.py --json` tells the bot, one record per line: written and read by the classes here alone.

    {"event": "progress", "epoch": 1, "epochs": 5, "step": 188, "steps": 1875, ...}   several per epoch
    {"event": "warning", "message": "..."}
    {"event": "error", "message": "..."}
    {"event": "done", "version": 3, "test_accuracy": 0.9694, ...}                    the run's summary

`Reporter` is train.py's side (JSON lines, or lines for a person); `read_record` the bot's.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar, TypeVar, get_type_hints

R = TypeVar("R", bound="TrainerRecord")


class RecordError(ValueError):
    """A line that is not one of train.py's records (unknown event, missing or mistyped field)."""


class TrainerRecord:
    """A JSON-lines record: a frozen dataclass whose `event` names it on the wire."""

    event: ClassVar[str]

    def to_json(self) -> str:
        return json.dumps({"event": self.event, **asdict(self)})  # type: ignore[call-overload]

    @classmethod
    def from_json(cls: type[R], data: dict[str, Any]) -> R:
        """The record from a parsed line; RecordError unless its fields are exactly this record's."""
        hints = get_type_hints(cls)
        names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        given = set(data) - {"event"}
        if given != names:
            raise RecordError(f"{cls.event} record: missing {sorted(names - given)}, unexpected {sorted(given - names)}")
        values = {}
        for name in names:
            value, kind = data[name], hints[name]
            if kind is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            origin = getattr(kind, "__origin__", kind)  # list[int] → list; `float | None` is checked as it is
            if not isinstance(value, origin) or isinstance(value, bool) and origin is not bool:
                raise RecordError(f"{cls.event} record: {name} must be {kind}, got {value!r}"[:200])
            values[name] = value
        return cls(**values)


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


@dataclass(frozen=True)
class Progress(EpochProgress, TrainerRecord):
    """Training progress with its timing."""

    event: ClassVar[str] = "progress"
    elapsed_seconds: float
    eta_seconds: float


@dataclass(frozen=True)
class Notice(TrainerRecord):
    """Something the operator should know; training goes on."""

    event: ClassVar[str] = "warning"
    message: str


@dataclass(frozen=True)
class Failure(TrainerRecord):
    """Why the run stopped without saving anything."""

    event: ClassVar[str] = "error"
    message: str


@dataclass(frozen=True)
class Done(TrainerRecord):
    """The run's summary: the version it saved and its test figures."""

    event: ClassVar[str] = "done"
    version: int
    promoted: bool
    store: str
    test_accuracy: float
    test_loss: float
    epochs: int
    batch_size: int
    fit_seconds: float
    first_predictions: list[int]
    first_labels: list[int]
    # The community test set (0 images and None without one), read by the new version and by the version that was
    # served when training ended (`compared_version`; None when nothing was served).
    community_test_images: int
    community_test_accuracy: float | None
    compared_version: int | None
    compared_community_test_accuracy: float | None


RECORDS: dict[str, type[TrainerRecord]] = {kind.event: kind for kind in (Progress, Notice, Failure, Done)}


def read_record(line: str | bytes) -> TrainerRecord:
    """Parse one line of `train.py --json`; RecordError if it is not one of its records."""
    try:
        data = json.loads(line)
    except ValueError:
        raise RecordError(f"not JSON: {line[:80]!r}") from None
    if not isinstance(data, dict) or data.get("event") not in RECORDS:
        raise RecordError(f"not a train.py record: {str(line)[:80]!r}")
    return RECORDS[data["event"]].from_json(data)


class Reporter:
    """train.py's output: lines for a person, or with `json_lines` one record per line (people's lines then go silent)."""

    def __init__(self, json_lines: bool) -> None:
        self.json_lines = json_lines
        self._started = time.monotonic()

    def _emit(self, record: TrainerRecord) -> None:
        print(record.to_json(), flush=True)

    def progress(self, progress: EpochProgress) -> None:
        """A progress record, timed from the reporter's creation."""
        elapsed = time.monotonic() - self._started
        self._emit(Progress(**asdict(progress), elapsed_seconds=round(elapsed, 2),
                            eta_seconds=round(elapsed * (1 - progress.fraction) / progress.fraction, 1)))

    def line(self, text: str) -> None:
        """A line for a person; JSON readers get the summary in `done` instead."""
        if not self.json_lines:
            print(text, flush=True)

    def warning(self, text: str) -> None:
        if self.json_lines:
            self._emit(Notice(text))
        print(text, file=sys.stderr, flush=True)

    def fail(self, error: Exception) -> None:
        if self.json_lines:
            self._emit(Failure(str(error)))
        print(f"train.py: error: {error}", file=sys.stderr, flush=True)

    def done(self, summary: Done) -> None:
        if self.json_lines:
            self._emit(summary)
        else:
            promoted = "and is now served" if summary.promoted else "(not promoted: the served version is unchanged)"
            print(f"Saved version {summary.version} in {summary.store} {promoted}.", flush=True)
