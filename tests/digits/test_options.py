"""Training options, declared once (digits/options.py): train.py's flags, !retrain's words, the bot's record."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from digits.options import OptionError, TrainingOptions, parse_train_command
from tests.fixtures.mnist import REPO


def test_options_survive_the_record_and_text_round_trips() -> None:
    options = TrainingOptions(epochs=3, batch_size=64, learning_rate=0.0025, layers=(128, 32, 16), activation="tanh",
                              dropout=0.125, seed=7, community=Path("data/c.sqlite3"))
    assert TrainingOptions.from_record(options.to_record()) == options
    assert parse_train_command(["--options", options.to_record()], default_store=Path("m")).options == options
    assert TrainingOptions.from_text(options.to_text()) == options
    assert TrainingOptions.from_text({}) == TrainingOptions() == parse_train_command([], Path("m")).options


@pytest.mark.parametrize("record", ['{"epochs": 3}', "[1]", '{"epochs": "3"}', "not json"])
def test_a_record_that_is_not_the_options_is_refused(record: str) -> None:
    full = TrainingOptions().to_record()
    text = full.replace('"epochs": 5', '"epochs": "3"') if record == '{"epochs": "3"}' else record
    with pytest.raises(OptionError, match="unreadable options record"):
        TrainingOptions.from_record(text)


def test_the_record_is_checked_as_the_flags_are() -> None:
    with pytest.raises(OptionError, match="epochs must be between 1 and 100, got 0"):
        TrainingOptions.from_record(TrainingOptions().to_record().replace('"epochs": 5', '"epochs": 0'))


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


def test_options_and_option_flags_do_not_mix() -> None:
    result = subprocess.run([sys.executable, str(REPO / "train.py"), "--options", TrainingOptions().to_record(), "--epochs", "3"],
                            capture_output=True, text=True, cwd=REPO, timeout=60)
    assert result.returncode == 2 and "--options replaces the option flags; drop --epochs" in result.stderr
