"""The digit core's one-home concepts: training options, the model card, train.py's records."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import pytest

from bot.cogs.admin import RetrainFlags
from digits.options import OptionError, TrainingOptions, option_infos, parse_train_command
from digits.records import RECORDS, Done, Failure, Notice, Progress, RecordError, read_record
from model_store import CorruptVersionError, ModelStore
from network.card import CardError, ModelCard
from tests.inference_fixtures import model_card

REPO = Path(__file__).resolve().parents[1]


# -- training options ------------------------------------------------------------------------------


def test_options_survive_argv_and_text_round_trips() -> None:
    options = TrainingOptions(epochs=3, batch_size=64, learning_rate=0.0025, layers=(128, 32, 16), activation="tanh",
                              dropout=0.125, seed=7)
    assert parse_train_command(options.to_argv(), default_store=Path("m")).options == options
    assert TrainingOptions.from_text(options.to_text()) == options
    assert TrainingOptions.from_text({}) == TrainingOptions() == parse_train_command([], Path("m")).options


def test_options_take_aliases_and_refuse_unknown_or_unreadable_words() -> None:
    assert TrainingOptions.from_text({"batch": "16", "LR": "0.01", "Activation": "SIGMOID"}) == TrainingOptions(
        batch_size=16, learning_rate=0.01, activation="sigmoid")
    with pytest.raises(OptionError, match="unknown option 'epoch'.*epochs"):
        TrainingOptions.from_text({"epoch": "3"})
    with pytest.raises(OptionError, match="cannot read 'x,64' as layers"):
        TrainingOptions.from_text({"layers": "x,64"})


@pytest.mark.parametrize("values, message", [
    ({"epochs": "0"}, "epochs must be between 1 and 100, got 0"),
    ({"batch_size": "60001"}, "batch size must be between 1 and 60000"),
    ({"learning_rate": "0"}, "learning rate must be in (0, 1]"),
    ({"layers": "64,0"}, "layers must be 1 to 10 sizes from 1 to 4096"),
    ({"layers": ",".join(["8"] * 11)}, "layers must be 1 to 10 sizes"),
    ({"activation": "gelu"}, "activation must be one of relu, sigmoid, tanh"),
    ({"dropout": "1"}, "dropout must be in [0, 1)"),
])
def test_each_limit_is_checked_once_with_one_message(values: dict[str, str], message: str) -> None:
    with pytest.raises(OptionError) as raised:
        TrainingOptions.from_text(values)
    assert message in str(raised.value)
    flags = [part for name, text in values.items() for part in (f"--{name.replace('_', '-')}", text)]
    result = subprocess.run([sys.executable, str(REPO / "train.py"), *flags], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert result.returncode == 2 and message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_retrain_flags_are_the_training_options() -> None:
    """!retrain's words and /retrain's options are generated from the options: nothing is declared twice."""
    declared = {flag.name: flag for flag in RetrainFlags.get_flags().values()}
    assert list(declared) == list(option_infos())
    assert declared["batch_size"].aliases == ["batch"] and all(len(flag.description) <= 100 for flag in declared.values())
    assert all(flag.default is None for flag in declared.values())  # unset words keep train.py's defaults


# -- the model card --------------------------------------------------------------------------------


def test_model_card_round_trips_through_json() -> None:
    card = model_card().with_weights_sha256("ab" * 32)
    assert ModelCard.from_json(json.loads(json.dumps(card.to_json()))) == card
    assert "1 epochs, batch size 32, learning rate 0.001, layers 64,64 relu, on 3000 images" in card.describe_training()


def _without(data: dict, key: str) -> dict:
    return {k: v for k, v in data.items() if k != key}


@pytest.mark.parametrize("damage", [
    lambda card: [1, 2],
    lambda card: {**card, "test_accuracy": "high"},
    lambda card: {**card, "test_accuracy": True},
    lambda card: {**card, "test_loss": math.nan},
    lambda card: _without(card, "weights_sha256"),
    lambda card: {**card, "hyperparameters": {**card["hyperparameters"], "epochs": 2.5}},
    lambda card: {**card, "architecture": {**card["architecture"], "activation": "gelu"}},
    lambda card: {**card, "per_digit_accuracy": ["?"] * 10},
])
def test_a_json_that_is_not_a_model_card_is_refused_by_name(damage) -> None:
    with pytest.raises(CardError):
        ModelCard.from_json(damage(model_card().to_json()))


def test_a_version_with_a_wrong_shape_card_is_damaged_everywhere(tmp_path: Path, trained_store: Path) -> None:
    import shutil

    root = tmp_path / "models"
    shutil.copytree(trained_store, root)
    (root / "1" / "model.json").write_text(json.dumps({**json.loads((root / "1" / "model.json").read_text()), "test_accuracy": "high"}))
    with pytest.raises(CorruptVersionError, match="not a model card.*test_accuracy"):
        ModelStore(root).card(1)
    listed = subprocess.run([sys.executable, "-m", "model_store", "--store", str(root), "list"], capture_output=True, text=True, cwd=REPO)
    assert listed.returncode == 0 and "damaged" in listed.stdout and "Traceback" not in listed.stderr


# -- train.py's records ------------------------------------------------------------------------------


RECORD_EXAMPLES = [
    Progress(epoch=1, epochs=5, step=188, steps=1875, loss=0.4, accuracy=0.88, elapsed_seconds=1.5, eta_seconds=30.0),
    Notice("MNIST: cache not usable"),
    Failure("model store is not writable"),
    Done(version=3, promoted=False, store="models", test_accuracy=0.97, test_loss=0.1, epochs=5, batch_size=32,
         fit_seconds=4.2, first_predictions=[7, 2, 1, 0, 4], first_labels=[7, 2, 1, 0, 4]),
]


@pytest.mark.parametrize("record", RECORD_EXAMPLES, ids=lambda r: r.event)
def test_each_record_round_trips(record) -> None:
    assert read_record(record.to_json()) == record
    assert set(RECORDS) == {"progress", "warning", "error", "done"}


@pytest.mark.parametrize("change, error", [
    (lambda d: {**d, "event": "finished"}, "not a train.py record"),
    (lambda d: _without(d, "test_accuracy"), "missing \\['test_accuracy'\\]"),
    (lambda d: {**_without(d, "test_accuracy"), "accuracy": 0.9}, "unexpected \\['accuracy'\\]"),
    (lambda d: {**d, "version": "3"}, "version must be"),
])
def test_a_renamed_or_mistyped_field_is_refused_not_dropped(change, error) -> None:
    done = json.loads(RECORD_EXAMPLES[-1].to_json())
    with pytest.raises(RecordError, match=error):
        read_record(json.dumps(change(done)))
    with pytest.raises(RecordError):
        read_record("Epoch 1/5")


def test_train_py_writes_the_records_the_bot_reads(tmp_path: Path) -> None:
    from tests.inference_fixtures import verified_mnist_dir

    result = subprocess.run([sys.executable, str(REPO / "train.py"), "--json", "--store", str(tmp_path / "m"), "--epochs", "1",
                             "--train-limit", "500"], capture_output=True, text=True, cwd=REPO, timeout=300,
                            env={**__import__("os").environ, "MNIST_DIR": str(verified_mnist_dir())})
    assert result.returncode == 0, result.stderr[-2000:]
    records = [read_record(line) for line in result.stdout.splitlines()]
    assert all(isinstance(r, Progress) for r in records[:-1]) and isinstance(records[-1], Done)
    assert asdict(records[-1])["version"] == 1
