"""`make run` (bot/run.py, bot/first_start.py): the bot on Discord with a token, the playground without; a first start."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError
from bot.first_start import needs_first_model, robust_upgrade, serve_with_upgrade, train_tutorial, wants_robust_upgrade
from bot.run import command
from digits.options import TrainingOptions
from digits.retraining import RetrainJob
from model_store import ModelStore
from tests.fixtures.mnist import verified_mnist_dir


def test_with_a_token_the_bot_runs_on_discord() -> None:
    assert command({"DISCORD_TOKEN": "abc"}) == [sys.executable, "-m", "bot"]
    # BOT_PROCESSES=N: the launcher; the playground keeps one process.
    assert command({"DISCORD_TOKEN": "abc", "BOT_PROCESSES": "3"}) == [sys.executable, "-m", "bot", "cluster"]
    assert command({"BOT_PROCESSES": "3"})[-3:] == [sys.executable, "-m", "bot"]


def test_without_a_token_the_playground_runs_the_bot_with_its_upload_limits() -> None:
    argv = command({"BOT_MAX_IMAGE_BYTES": "1234"})
    assert argv[:3] == [sys.executable, "-m", "discord_twin.playground"]
    assert argv[argv.index("--max-upload-bytes") + 1] == "1234"
    assert argv[argv.index("--") + 1:] == [sys.executable, "-m", "bot"]


def test_a_bad_setting_stops_before_the_playground() -> None:
    with pytest.raises(ConfigError, match="BOT_MAX_IMAGE_PIXELS"):
        command({"BOT_MAX_IMAGE_PIXELS": "lots"})


# -- a first start: the tutorial's network at once, the robust recipe swapped in when it is trained ------------

SMALL = ["--train-limit", "2000", "--epochs", "1"]


def small_upgrade(store: ModelStore) -> RetrainJob:
    # A floor of 100 points: the verdict always promotes; the rule itself is tested in test_retraining.py.
    return robust_upgrade(store, floor_points=100.0, mnist_dir=verified_mnist_dir(),
                          options=TrainingOptions.for_recipe("robust", epochs=1, validation=500), train_limit=2000)


def waits_for_version(store: ModelStore, version: int, seconds: float) -> list[str]:
    """A stand-in for the bot: a process that exits 0 once the store serves `version` (3 if it never does)."""
    script = (f"import sys, time\nfrom model_store import ModelStore\nstore = ModelStore({str(store.root)!r})\n"
              f"deadline = time.monotonic() + {seconds}\n"
              f"while store.current() != {version}:\n"
              f"    if time.monotonic() > deadline: sys.exit(3)\n"
              f"    time.sleep(0.2)\n")
    return [sys.executable, "-c", script]


@pytest.fixture
def first_store(tmp_path: Path) -> ModelStore:
    store = ModelStore(tmp_path / "models")
    assert needs_first_model(store)
    lines: list[str] = []
    assert train_tutorial(store, {**os.environ, "MNIST_DIR": str(verified_mnist_dir())}, SMALL, say=lines.append)
    assert "training the tutorial's network first" in lines[0]
    assert not needs_first_model(store) and store.current() == 1
    assert store.card(1).hyperparameters.recipe == "tutorial" and wants_robust_upgrade(store)
    return store


def test_a_first_start_serves_the_tutorial_then_swaps_in_the_robust_recipe(first_store: ModelStore) -> None:
    lines: list[str] = []
    code = asyncio.run(serve_with_upgrade(waits_for_version(first_store, 2, 300), os.environ,
                                          small_upgrade(first_store), say=lines.append))
    assert code == 0  # the "bot" saw version 2 served while it ran
    assert not wants_robust_upgrade(first_store)
    assert first_store.current() == 2 and first_store.card(2).hyperparameters.recipe == "robust"
    assert "in the background" in lines[0]
    assert "robust recipe: version 2 is now serving" in lines[-1]


def test_the_background_training_stops_with_the_bot_and_changes_nothing(first_store: ModelStore) -> None:
    lines: list[str] = []
    code = asyncio.run(serve_with_upgrade([sys.executable, "-c", "raise SystemExit(4)"], os.environ,
                                          small_upgrade(first_store), say=lines.append))
    assert code == 4  # the bot's own exit code
    assert first_store.current() == 1 and first_store.versions() == [1]
    assert "stopped with the bot" in lines[-1]
    assert wants_robust_upgrade(first_store)  # the next start trains it again


def test_a_train_failure_is_reported(tmp_path: Path) -> None:
    store = ModelStore(tmp_path / "models")
    assert not train_tutorial(store, {**os.environ, "MNIST_DIR": str(verified_mnist_dir())}, ["--epochs", "0"],
                              say=lambda line: None)
    assert needs_first_model(store)
