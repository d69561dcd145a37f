"""Training options: the one declaration of train.py's hyperparameters, their defaults, limits and help.

`train.py` turns each field into a flag (`--batch-size 64`), the bot's `!retrain` into a word
(`batch_size=64`) and its `/retrain start` into an option; all of them end in `TrainingOptions`,
validated here. The network's own limits (layers, activation, dropout) are `ArchitectureSpec`'s.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, NoReturn, get_type_hints

from model_store import is_database_url, location_text
from network.architecture import ACTIVATIONS, MAX_LAYERS, MAX_UNITS, ArchitectureSpec
from network.card import Hyperparameters

MAX_EPOCHS = 100
MAX_BATCH_SIZE = 60_000
MAX_FONTS_SHARE = 0.5
MAX_OUTLIERS_SHARE = 0.3
MAX_VALIDATION = 20_000
SCHEDULES = ("constant", "cosine")


class OptionError(ValueError):
    """A training option is out of its limits or unreadable; the message says which and why, in one line."""


def parse_layers(text: str) -> tuple[int, ...]:
    """`"64,64"` → `(64, 64)`."""
    return tuple(int(part) for part in text.split(","))


@dataclass(frozen=True)
class OptionInfo:
    """How one option is read from text and shown: `help` is at most 100 characters (Discord's limit)."""

    help: str
    parse: Callable[[str], Any]
    show: Callable[[Any], str] = str
    aliases: tuple[str, ...] = ()


def parse_switch(text: str) -> bool:
    """`on`, `yes`, `true`, `1` → True; `off`, `no`, `false`, `0` → False."""
    words = {"on": True, "yes": True, "true": True, "1": True, "off": False, "no": False, "false": False, "0": False}
    if text.lower() not in words:
        raise ValueError(f"not on or off: {text!r}")
    return words[text.lower()]


def _switch_text(value: bool) -> str:
    return "on" if value else "off"


def option(default: Any, help: str, parse: Callable[[str], Any], show: Callable[[Any], str] = str,
           aliases: tuple[str, ...] = ()) -> Any:
    return field(default=default, metadata={"option": OptionInfo(help, parse, show, aliases)})


def _layers_text(layers: tuple[int, ...]) -> str:
    return ",".join(map(str, layers))


def parse_database(text: str) -> Path | str | None:
    """`off` (or `none`, or nothing) → None; a `postgresql://` URL stays one; anything else is a path."""
    if text.lower() in ("", "off", "none"):
        return None
    return text if is_database_url(text) else Path(text)


def _database_text(location: Path | str | None) -> str:
    return "off" if location is None else location_text(location)


@dataclass(frozen=True)
class TrainingOptions:
    """Hyperparameters of one training run; the defaults reproduce the tutorial."""

    epochs: int = option(5, f"passes over the training data (1-{MAX_EPOCHS})", int)
    batch_size: int = option(32, f"images per update (1-{MAX_BATCH_SIZE})", int, aliases=("batch",))
    learning_rate: float = option(0.001, "Adam's learning rate, in (0, 1]", float, repr, aliases=("lr",))
    layers: tuple[int, ...] = option(
        (64, 64), f"hidden layer sizes, comma-separated (1-{MAX_LAYERS} sizes of 1-{MAX_UNITS})", parse_layers, _layers_text
    )
    activation: str = option("relu", f"hidden activation: {', '.join(ACTIVATIONS)}", str.lower)
    dropout: float = option(0.0, "dropout after each hidden layer, in [0, 1)", float, repr)
    seed: int = option(0, "random seed: same seed, same weights on the same machine", int)
    recipe: str = option("tutorial", f"named defaults for the options not given: {', '.join(('tutorial', 'robust'))}", str.lower)
    augment: bool = option(False, "draw each training digit anew each epoch (rotate, shear, scale, shift, strokes): on/off",
                           parse_switch, _switch_text)
    ema: bool = option(False, "average the weights over training (Adam's use_ema): on/off", parse_switch, _switch_text)
    fonts: float = option(0.0, f"share of each batch made of typed digits rendered from fonts, in [0, {MAX_FONTS_SHARE}]",
                          float, repr)
    outliers: float = option(0.0, f"share of each batch made of pictures that are not one digit, taught as unsure, "
                                  f"in [0, {MAX_OUTLIERS_SHARE}]", float, repr)
    schedule: str = option("constant", f"learning rate schedule: {', '.join(SCHEDULES)} (cosine decays it to 0)", str.lower)
    validation: int = option(0, f"last N training images held out to calibrate confidence (0-{MAX_VALIDATION})", int)
    community: Path | str | None = option(None, "corrections database (SQLite file or postgresql:// URL) to learn from, or off",
                                          parse_database, _database_text)

    def __post_init__(self) -> None:
        if not 1 <= self.epochs <= MAX_EPOCHS:
            raise OptionError(f"epochs must be between 1 and {MAX_EPOCHS}, got {self.epochs}")
        if not 1 <= self.batch_size <= MAX_BATCH_SIZE:
            raise OptionError(f"batch size must be between 1 and {MAX_BATCH_SIZE}, got {self.batch_size}")
        if not 0 < self.learning_rate <= 1:
            raise OptionError(f"learning rate must be in (0, 1], got {self.learning_rate}")
        if self.recipe not in RECIPES:
            raise OptionError(f"recipe must be one of {', '.join(RECIPES)}, got {self.recipe!r}")
        if not 0 <= self.fonts <= MAX_FONTS_SHARE:
            raise OptionError(f"fonts must be in [0, {MAX_FONTS_SHARE}], got {self.fonts}")
        if not 0 <= self.outliers <= MAX_OUTLIERS_SHARE:
            raise OptionError(f"outliers must be in [0, {MAX_OUTLIERS_SHARE}], got {self.outliers}")
        if self.schedule not in SCHEDULES:
            raise OptionError(f"schedule must be one of {', '.join(SCHEDULES)}, got {self.schedule!r}")
        if not 0 <= self.validation <= MAX_VALIDATION:
            raise OptionError(f"validation must be between 0 and {MAX_VALIDATION}, got {self.validation}")
        try:
            self.spec  # the network's limits
        except ValueError as error:
            raise OptionError(str(error)) from None

    @classmethod
    def for_recipe(cls, recipe: str, **overrides: Any) -> TrainingOptions:
        """The recipe's defaults, then `overrides`; OptionError for an unknown recipe."""
        name = recipe.lower()
        if name not in RECIPES:
            raise OptionError(f"recipe must be one of {', '.join(RECIPES)}, got {recipe!r}")
        return cls(**{**RECIPES[name], "recipe": name, **overrides})

    @property
    def spec(self) -> ArchitectureSpec:
        return ArchitectureSpec(hidden_units=self.layers, activation=self.activation, dropout=self.dropout)

    def hyperparameters(self, train_images: int) -> Hyperparameters:
        """How a run with these options trains, as its model card records it."""
        return Hyperparameters(self.epochs, self.batch_size, self.learning_rate, self.seed, train_images,
                               recipe=self.recipe, augment=self.augment, ema=self.ema, fonts=self.fonts,
                               outliers=self.outliers, schedule=self.schedule, validation_images=self.validation)

    @classmethod
    def from_text(cls, values: Mapping[str, str]) -> TrainingOptions:
        """Options from `{name or alias: text}`; the others keep their defaults. OptionError on anything wrong."""
        names = {alias: name for name, info in option_infos().items() for alias in (name, *info.aliases)}
        parsed: dict[str, Any] = {}
        for given, text in values.items():
            name = names.get(given.lower().replace("-", "_"))
            if name is None:
                raise OptionError(f"unknown option {given!r}; the options are {', '.join(option_infos())}")
            try:
                parsed[name] = option_infos()[name].parse(str(text).strip())
            except ValueError:
                raise OptionError(f"cannot read {text!r} as {name}: {option_infos()[name].help}") from None
        return cls.for_recipe(parsed.pop("recipe", "tutorial"), **parsed)

    def to_text(self) -> dict[str, str]:
        """Every option as text that `from_text` reads back to the same value."""
        return {name: info.show(getattr(self, name)) for name, info in option_infos().items()}

    def to_record(self) -> str:
        """These options as one JSON object, as the bot hands them to `train.py --options` (`from_record` reads it)."""
        record = {name: getattr(self, name) for name in option_infos()}
        record["layers"] = list(self.layers)
        record["community"] = None if self.community is None else str(self.community)
        return json.dumps(record)

    @classmethod
    def from_record(cls, text: str) -> TrainingOptions:
        """The options `to_record` wrote; OptionError for anything else (checked as every option is)."""
        try:
            record = json.loads(text)
            if not isinstance(record, dict) or set(record) != set(option_infos()):
                raise ValueError(f"not the {len(option_infos())} training options")
            typed = {**record, "layers": tuple(record["layers"]),
                     "community": None if record["community"] is None else parse_database(record["community"])}
            for name, kind in get_type_hints(cls).items():
                if kind in (int, float, str, bool) and not (type(typed[name]) is kind or kind is float and type(typed[name]) is int):
                    raise ValueError(f"{name} is not a {kind.__name__}")
            return cls(**typed)
        except (ValueError, TypeError) as error:
            raise OptionError(f"unreadable options record: {error}") from None

    def describe(self) -> str:
        """One line for people: `5 epochs · batch 32 · learning rate 0.001 · layers 64,64 relu · dropout 0`."""
        line = (f"{self.epochs} epochs · batch {self.batch_size} · learning rate {self.learning_rate:g} · "
                f"layers {_layers_text(self.layers)} {self.activation} · dropout {self.dropout:g}")
        extras = [f"{self.recipe} recipe"] if self.recipe != "tutorial" else []
        extras += ["augmented"] if self.augment else []
        extras += ["weight averaging"] if self.ema else []
        extras += [f"{self.fonts:.0%} typed digits"] if self.fonts else []
        extras += [f"{self.outliers:.0%} not one digit"] if self.outliers else []
        extras += [f"{self.schedule} learning rate"] if self.schedule != "constant" else []
        extras += [f"{self.validation} held out"] if self.validation else []
        extras += ["community corrections"] if self.community is not None else []
        return " · ".join([line, *extras])


# A recipe is a named set of defaults; options given explicitly win. The tutorial is every field's own default.
RECIPES: dict[str, dict[str, Any]] = {
    "tutorial": {},
    "robust": {"epochs": 40, "augment": True, "ema": False, "fonts": 0.03, "outliers": 0.1, "schedule": "cosine", "validation": 5000},
}


def option_infos() -> dict[str, OptionInfo]:
    """Each option's name and how it is read and shown, in declaration order."""
    return {f.name: f.metadata["option"] for f in fields(TrainingOptions)}


def flag(name: str) -> str:
    """`batch_size` → `--batch-size`."""
    return "--" + name.replace("_", "-")


@dataclass(frozen=True)
class TrainCommand:
    """Everything `train.py` was asked to do."""

    options: TrainingOptions
    store: Path | str
    promote: bool
    json: bool
    train_limit: int | None
    requested_by: str


class _OneLineParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: error: {message} (see --help)", file=sys.stderr)
        sys.exit(2)


def _user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name and no passwd entry (a container's numeric user)
        return "someone"


def parse_train_command(argv: list[str], default_store: Path | str) -> TrainCommand:
    """Parse and validate `train.py`'s flags; on a bad flag, print one line and exit with code 2."""
    defaults = TrainingOptions().to_text()
    parser = _OneLineParser(prog="train.py", description="Train the MNIST digit network and save it in the model store.")
    for name, info in option_infos().items():
        parser.add_argument(flag(name), dest=name, default=None, metavar=name.upper(),
                            help=f"{info.help} (default {defaults[name]})")
    parser.add_argument("--store", type=lambda text: text if is_database_url(text) else Path(text), default=default_store,
                        help=f"model store: a folder or a postgresql:// URL (default $MODEL_STORE or ./models: "
                             f"{location_text(default_store)})")
    parser.add_argument("--requested-by", default=f"{_user()} (train.py)", metavar="NAME",
                        help="who asked for this training, as others are told while it holds the trainer lock")
    parser.add_argument("--no-promote", action="store_true", help="save the new version without serving it")
    parser.add_argument("--json", action="store_true", help="print one JSON object per line: progress events, then a summary")
    parser.add_argument("--train-limit", type=int, default=None, metavar="N", help="train on the first N images only (for quick tests)")
    parser.add_argument("--options", default=None, metavar="JSON",
                        help="every training option as one JSON object, instead of the flags above (what the bot sends)")
    args = parser.parse_args(argv)
    given = {name: getattr(args, name) for name in option_infos() if getattr(args, name) is not None}
    try:
        if args.options is not None and given:
            raise OptionError(f"--options replaces the option flags; drop {', '.join(flag(name) for name in given)}")
        options = TrainingOptions.from_record(args.options) if args.options is not None else TrainingOptions.from_text(given)
    except OptionError as error:
        parser.error(str(error))
    if args.train_limit is not None and args.train_limit < 1:
        parser.error(f"--train-limit must be at least 1, got {args.train_limit}")
    return TrainCommand(options, args.store, promote=not args.no_promote, json=args.json, train_limit=args.train_limit,
                        requested_by=args.requested_by)
