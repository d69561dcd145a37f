"""Training options: the tutorial's defaults, their limits, and `train.py`'s command line.

The bot's `!retrain` validates with the same limits and drives `train.py` through `to_argv`.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from model_store.network import ACTIVATIONS, ArchitectureSpec

MAX_EPOCHS = 100
MAX_BATCH_SIZE = 60_000
MAX_LAYERS = 10
MAX_UNITS = 4096
DEFAULT_SEED = 0


class OptionError(ValueError):
    """A training option is out of its limits; the message says which and why, in one line."""


@dataclass(frozen=True)
class TrainingOptions:
    """Hyperparameters of one training run; the defaults reproduce the tutorial."""

    epochs: int = 5
    batch_size: int = 32
    learning_rate: float = 0.001
    layers: tuple[int, ...] = (64, 64)
    activation: str = "relu"
    dropout: float = 0.0
    seed: int = DEFAULT_SEED

    def __post_init__(self) -> None:
        if not 1 <= self.epochs <= MAX_EPOCHS:
            raise OptionError(f"epochs must be between 1 and {MAX_EPOCHS}, got {self.epochs}")
        if not 1 <= self.batch_size <= MAX_BATCH_SIZE:
            raise OptionError(f"batch size must be between 1 and {MAX_BATCH_SIZE}, got {self.batch_size}")
        if not 0 < self.learning_rate <= 1:
            raise OptionError(f"learning rate must be in (0, 1], got {self.learning_rate}")
        if not 1 <= len(self.layers) <= MAX_LAYERS or not all(1 <= units <= MAX_UNITS for units in self.layers):
            raise OptionError(f"layers must be 1 to {MAX_LAYERS} sizes from 1 to {MAX_UNITS}, got {','.join(map(str, self.layers))}")
        if self.activation not in ACTIVATIONS:
            raise OptionError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {self.activation!r}")
        if not 0 <= self.dropout < 1:
            raise OptionError(f"dropout must be in [0, 1), got {self.dropout}")

    @property
    def spec(self) -> ArchitectureSpec:
        return ArchitectureSpec(hidden_units=self.layers, activation=self.activation, dropout=self.dropout)

    def to_argv(self) -> list[str]:
        """These options as `train.py` flags."""
        return [
            "--epochs", str(self.epochs),
            "--batch-size", str(self.batch_size),
            "--learning-rate", repr(self.learning_rate),
            "--layers", ",".join(map(str, self.layers)),
            "--activation", self.activation,
            "--dropout", repr(self.dropout),
            "--seed", str(self.seed),
        ]


def parse_layers(text: str) -> tuple[int, ...]:
    """`"64,64"` → `(64, 64)`; OptionError on anything else."""
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise OptionError(f"layers must be comma-separated integers like 64,64, got {text!r}") from None


@dataclass(frozen=True)
class TrainCommand:
    """Everything `train.py` was asked to do."""

    options: TrainingOptions
    store: Path
    promote: bool
    json: bool
    train_limit: int | None


class _OneLineParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: error: {message} (see --help)", file=sys.stderr)
        sys.exit(2)


def parse_train_command(argv: list[str], default_store: Path) -> TrainCommand:
    """Parse and validate `train.py`'s flags; on a bad flag, print one line and exit with code 2."""
    defaults = TrainingOptions()
    parser = _OneLineParser(prog="train.py", description="Train the MNIST digit network and save it in the model store.")
    parser.add_argument("--epochs", type=int, default=defaults.epochs, help=f"passes over the training data (1-{MAX_EPOCHS}, default %(default)s)")
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size, help=f"images per update (1-{MAX_BATCH_SIZE}, default %(default)s)")
    parser.add_argument("--learning-rate", type=float, default=defaults.learning_rate, help="Adam's learning rate (default %(default)s)")
    parser.add_argument("--layers", default=",".join(map(str, defaults.layers)), help="hidden layer sizes, comma-separated (default %(default)s)")
    parser.add_argument("--activation", default=defaults.activation, help=f"hidden activation: {', '.join(ACTIVATIONS)} (default %(default)s)")
    parser.add_argument("--dropout", type=float, default=defaults.dropout, help="dropout after each hidden layer, in [0, 1) (default %(default)s)")
    parser.add_argument("--seed", type=int, default=defaults.seed, help="random seed: same seed, same weights on the same machine (default %(default)s)")
    parser.add_argument("--store", type=Path, default=default_store, help="model store folder (default $MODEL_STORE or ./models: %(default)s)")
    parser.add_argument("--no-promote", action="store_true", help="save the new version without serving it")
    parser.add_argument("--json", action="store_true", help="print one JSON object per line: progress events, then a summary")
    parser.add_argument("--train-limit", type=int, default=None, metavar="N", help="train on the first N images only (for quick tests)")
    args = parser.parse_args(argv)
    try:
        options = TrainingOptions(
            epochs=args.epochs,
            batch_size=args.batch_size,
            learning_rate=args.learning_rate,
            layers=parse_layers(args.layers),
            activation=args.activation,
            dropout=args.dropout,
            seed=args.seed,
        )
    except OptionError as error:
        parser.error(str(error))
    if args.train_limit is not None and args.train_limit < 1:
        parser.error(f"--train-limit must be at least 1, got {args.train_limit}")
    return TrainCommand(options, args.store, promote=not args.no_promote, json=args.json, train_limit=args.train_limit)
