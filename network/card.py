"""The model card: what `model.json` holds for each stored version, written and read by `ModelCard` alone."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from importlib import metadata
from typing import Any

from network.architecture import ArchitectureSpec

# The libraries a saved model depends on, recorded with their versions.
LIBRARIES = ("keras", "tensorflow-cpu", "numpy", "h5py")
# A temperature is fitted within these bounds (network.calibration); one outside them is a damaged card (1e-300
# would make every probability NaN).
TEMPERATURE_RANGE = (0.05, 20.0)


class CardError(ValueError):
    """A `model.json` that is not a model card (missing or mistyped fields); the message says which."""


@dataclass(frozen=True)
class Hyperparameters:
    """How the weights were trained (the architecture is recorded beside them)."""

    epochs: int
    batch_size: int
    learning_rate: float
    seed: int
    train_images: int
    optimizer: str = "adam"
    loss: str = "categorical_crossentropy"
    # Since issue 15 (absent from older cards, which were all trained with the tutorial recipe).
    recipe: str = "tutorial"
    augment: bool = False
    ema: bool = False
    fonts: float = 0.0
    outliers: float = 0.0  # since issue 24: share of not-one-digit pictures taught as unsure
    schedule: str = "constant"
    validation_images: int = 0


@dataclass(frozen=True)
class ModelCard:
    """One version's `model.json`: architecture, training, test figures, provenance and the weights' checksum."""

    architecture: ArchitectureSpec
    hyperparameters: Hyperparameters
    test_accuracy: float
    test_loss: float
    per_digit_accuracy: tuple[float, ...]
    created: str
    training_seconds: float
    library_versions: dict[str, str] = field(default_factory=dict)
    dataset_sha256: dict[str, str] = field(default_factory=dict)
    weights_sha256: str = ""  # filled in by the store when it saves the weights
    # Honest confidence (issue 15): probabilities are softmax(logits / temperature), the temperature fitted on
    # the held-out validation images; 1.0 (uncalibrated) when none were held out, as in older cards.
    temperature: float = 1.0
    # Expected calibration error on the MNIST test images, before and after the temperature (None if not measured).
    test_ece: float | None = None
    test_ece_calibrated: float | None = None
    typed_fonts: int = 0  # how many fonts the typed digits were rendered from
    # Community corrections (issue 14; absent from older cards): accepted examples trained on, and the held-out
    # community test set (other contributors' examples) with this version's accuracy on it (None: no test set).
    community_examples: int = 0
    community_test_images: int = 0
    community_test_accuracy: float | None = None

    def with_weights_sha256(self, digest: str) -> ModelCard:
        return replace(self, weights_sha256=digest)

    def describe_training(self) -> str:
        """`5 epochs, batch size 32, learning rate 0.001, layers 64,64 relu, on 60000 images; trained <date>`."""
        h, a = self.hyperparameters, self.architecture
        layers = ",".join(map(str, a.hidden_units))
        recipe = "" if h.recipe == "tutorial" else f"{h.recipe} recipe: "
        return (f"{recipe}{h.epochs} epochs, batch size {h.batch_size}, learning rate {h.learning_rate:g}, "
                f"layers {layers} {a.activation}, on {h.train_images} images; trained {self.created}")

    def describe_community(self) -> str:
        """`Community test set: 91.2% (n=120), trained with 480 community examples`, or that there is none yet."""
        if self.community_test_accuracy is None:
            return "No community test set yet"
        return (f"Community test set: {self.community_test_accuracy:.1%} (n={self.community_test_images}), "
                f"trained with {self.community_examples} community examples")

    def to_json(self) -> dict[str, Any]:
        return {
            "architecture": self.architecture.to_dict(),
            "hyperparameters": {
                "optimizer": self.hyperparameters.optimizer,
                "loss": self.hyperparameters.loss,
                "epochs": self.hyperparameters.epochs,
                "batch_size": self.hyperparameters.batch_size,
                "learning_rate": self.hyperparameters.learning_rate,
                "seed": self.hyperparameters.seed,
                "train_images": self.hyperparameters.train_images,
                "recipe": self.hyperparameters.recipe,
                "augment": self.hyperparameters.augment,
                "ema": self.hyperparameters.ema,
                "fonts": self.hyperparameters.fonts,
                "outliers": self.hyperparameters.outliers,
                "schedule": self.hyperparameters.schedule,
                "validation_images": self.hyperparameters.validation_images,
            },
            "test_accuracy": self.test_accuracy,
            "test_loss": self.test_loss,
            "per_digit_accuracy": list(self.per_digit_accuracy),
            "created": self.created,
            "training_seconds": self.training_seconds,
            "library_versions": dict(self.library_versions),
            "dataset_sha256": dict(self.dataset_sha256),
            "weights_sha256": self.weights_sha256,
            "temperature": self.temperature,
            "test_ece": self.test_ece,
            "test_ece_calibrated": self.test_ece_calibrated,
            "typed_fonts": self.typed_fonts,
            "community_examples": self.community_examples,
            "community_test_images": self.community_test_images,
            "community_test_accuracy": self.community_test_accuracy,
        }

    @classmethod
    def from_json(cls, data: Any) -> ModelCard:
        """Read a parsed `model.json`; CardError unless every field is there with its type (extra fields are ignored)."""
        card = _Fields(data, "model.json")
        hyper = _Fields(card.get("hyperparameters", dict), "hyperparameters")
        try:
            architecture = ArchitectureSpec.from_dict(card.get("architecture", dict))
        except (KeyError, TypeError, ValueError) as error:
            raise CardError(f"architecture: {error}") from None
        temperature = card.optional("temperature", float, 1.0)
        low, high = TEMPERATURE_RANGE
        if not low <= temperature <= high:
            raise CardError(f"model.json: 'temperature' must be from {low:g} to {high:g}, got {temperature:g}")
        return cls(
            architecture=architecture,
            hyperparameters=Hyperparameters(
                epochs=hyper.get("epochs", int),
                batch_size=hyper.get("batch_size", int),
                learning_rate=hyper.get("learning_rate", float),
                seed=hyper.get("seed", int),
                train_images=hyper.get("train_images", int),
                optimizer=hyper.get("optimizer", str),
                loss=hyper.get("loss", str),
                recipe=hyper.optional("recipe", str, "tutorial"),
                augment=hyper.optional("augment", bool, False),
                ema=hyper.optional("ema", bool, False),
                fonts=hyper.optional("fonts", float, 0.0),
                outliers=hyper.optional("outliers", float, 0.0),
                schedule=hyper.optional("schedule", str, "constant"),
                validation_images=hyper.optional("validation_images", int, 0),
            ),
            test_accuracy=card.get("test_accuracy", float),
            test_loss=card.get("test_loss", float),
            per_digit_accuracy=tuple(card.get_list("per_digit_accuracy", float)),
            created=card.get("created", str),
            training_seconds=card.get("training_seconds", float),
            library_versions=card.get_mapping("library_versions"),
            dataset_sha256=card.get_mapping("dataset_sha256"),
            weights_sha256=card.get("weights_sha256", str),
            temperature=temperature,
            test_ece=card.optional("test_ece", float, None),
            test_ece_calibrated=card.optional("test_ece_calibrated", float, None),
            typed_fonts=card.optional("typed_fonts", int, 0),
            community_examples=card.optional("community_examples", int, 0),
            community_test_images=card.optional("community_test_images", int, 0),
            community_test_accuracy=card.optional("community_test_accuracy", float, None),
        )


def library_versions() -> dict[str, str]:
    """Versions of the libraries a saved model depends on."""
    return {name: metadata.version(name) for name in LIBRARIES}


class _Fields:
    """Typed access to one JSON object, raising CardError that names the field."""

    def __init__(self, data: Any, where: str) -> None:
        if not isinstance(data, dict):
            raise CardError(f"{where} must be a JSON object, got {type(data).__name__}")
        self.data, self.where = data, where

    def get(self, name: str, kind: type) -> Any:
        if name not in self.data:
            raise CardError(f"{self.where} has no {name!r}")
        return _typed(self.data[name], kind, f"{self.where}: {name!r}")

    def optional(self, name: str, kind: type, default: Any) -> Any:
        """A field added after the first cards were written: `default` when absent (or null)."""
        if self.data.get(name) is None:
            return default
        return self.get(name, kind)

    def get_list(self, name: str, kind: type) -> list[Any]:
        values = self.get(name, list)
        return [_typed(value, kind, f"{self.where}: {name!r}") for value in values]

    def get_mapping(self, name: str) -> dict[str, str]:
        values = self.get(name, dict)
        return {str(key): _typed(value, str, f"{self.where}: {name!r}") for key, value in values.items()}


def _typed(value: Any, kind: type, what: str) -> Any:
    # JSON has one number type: an int is a fine float, but a bool is no number.
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise CardError(f"{what} must be {kind.__name__}, got {value!r}"[:200])
    if isinstance(value, float) and not math.isfinite(value):
        raise CardError(f"{what} must be a finite number, got {value!r}")
    return value
