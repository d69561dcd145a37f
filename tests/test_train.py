"""`train.py` end to end (issue 2, §3 and §6): real subprocesses, real Keras training on real MNIST."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from digits.mnist import IDX_SHA256
from model_store import TRAINER_LOCK, ModelStore
from model_store.files import sha256_file
from network.architecture import ArchitectureSpec
from tests.fixtures.mnist import REPO, verified_mnist_dir
from tests.fixtures.models import TINY_SPEC, model_card, weights_of, write_weights
from tests.fixtures.processes import SMALL, json_events, run_train


def test_json_lines_progress_then_done(small_run: tuple[Path, list[dict]]) -> None:
    store, events = small_run
    assert [e["event"] for e in events[:-1]] == ["progress"] * (len(events) - 1) and len(events) >= 2
    assert events[-1]["event"] == "done"
    steps = -(-2000 // 32)
    progress = events[:-1]
    assert all(e["epoch"] == 1 and e["epochs"] == 1 and e["steps"] == steps for e in progress)
    assert [e["step"] for e in progress] == sorted(e["step"] for e in progress) and progress[-1]["step"] == steps
    assert all(0 <= e["accuracy"] <= 1 and e["loss"] > 0 for e in progress)
    done = events[-1]
    assert done["version"] == 1 and done["promoted"] is True
    assert done["epochs"] == 1 and done["batch_size"] == 32 and done["fit_seconds"] > 0
    assert 0.5 < done["test_accuracy"] <= 1 and done["test_loss"] > 0
    assert done["first_labels"] == [7, 2, 1, 0, 4]
    assert ModelStore(store).current() == 1


def test_model_json_records_the_run(small_run: tuple[Path, list[dict]]) -> None:
    store, events = small_run
    done = events[-1]
    meta = json.loads((store / "1" / "model.json").read_text())
    assert meta["architecture"] == ArchitectureSpec().to_dict()
    assert meta["hyperparameters"] == {
        "optimizer": "adam", "loss": "categorical_crossentropy", "epochs": 1, "batch_size": 32,
        "learning_rate": 0.001, "seed": 0, "train_images": 2000, "recipe": "tutorial", "augment": False, "ema": False,
        "fonts": 0.0, "outliers": 0.0, "schedule": "constant", "validation_images": 0,
    }
    assert meta["temperature"] == 1.0 and meta["typed_fonts"] == 0  # nothing held out: no calibration
    assert meta["test_ece"] == meta["test_ece_calibrated"] and 0 <= meta["test_ece"] < 1
    assert meta["test_accuracy"] == done["test_accuracy"] and meta["test_loss"] == done["test_loss"]
    assert len(meta["per_digit_accuracy"]) == 10 and all(0 <= a <= 1 for a in meta["per_digit_accuracy"])
    assert meta["weights_sha256"] == sha256_file(store / "1" / "model.weights.h5")
    assert meta["dataset_sha256"] == IDX_SHA256
    assert set(meta["library_versions"]) == {"keras", "tensorflow-cpu", "numpy", "h5py"}
    assert all(meta["library_versions"].values())
    assert meta["training_seconds"] > 0 and meta["created"]
    loaded = ModelStore(store).load(1)
    assert loaded.spec == ArchitectureSpec()


def test_same_seed_gives_identical_weights_and_the_tutorial_recipe_is_the_tutorial(
        small_run: tuple[Path, list[dict]], tmp_path: Path) -> None:
    """The run of the small_run fixture again, seed 0, named `--recipe tutorial`: the very same weights."""
    store, _ = small_run
    again = tmp_path / "models"
    json_events(run_train(again, *SMALL, "--json", "--seed", "0", "--recipe", "tutorial"))
    first, second = weights_of(store), weights_of(again)
    assert len(first) == len(second) == 6
    assert all(np.array_equal(a, b) for a, b in zip(first, second))
    card = json.loads((again / "1" / "model.json").read_text())
    assert card["hyperparameters"]["recipe"] == "tutorial" and card["temperature"] == 1.0
    assert card["hyperparameters"]["validation_images"] == 0 and card["hyperparameters"]["train_images"] == 2000


def test_no_promote_and_another_seed(small_run: tuple[Path, list[dict]], tmp_path: Path) -> None:
    """--no-promote saves version 2 beside the served 1; a different seed trains different weights."""
    copy = tmp_path / "models"
    shutil.copytree(small_run[0], copy)
    done = json_events(run_train(copy, *SMALL, "--json", "--seed", "1", "--no-promote"))[-1]
    assert done["version"] == 2 and done["promoted"] is False
    store = ModelStore(copy)
    assert store.versions() == [1, 2] and store.current() == 1
    assert store.load(2).card.hyperparameters.seed == 1
    assert not all(np.array_equal(a, b) for a, b in zip(weights_of(copy, 1), weights_of(copy, 2)))


def test_extension_flags_train_a_matching_version_and_no_promote_into_an_empty_store_serves_nothing(tmp_path: Path) -> None:
    """The extension flags with --no-promote into an empty store: version 1 has the asked shape and nothing is served."""
    store = tmp_path / "models"
    flags = ["--layers", "64,64,64,64", "--activation", "sigmoid", "--dropout", "0.5", *SMALL, "--json", "--no-promote"]
    done = json_events(run_train(store, *flags))[-1]
    assert done["version"] == 1 and done["promoted"] is False
    assert ModelStore(store).versions() == [1] and ModelStore(store).current() is None
    loaded = ModelStore(store).load(done["version"])
    assert loaded.spec == ArchitectureSpec(hidden_units=(64, 64, 64, 64), activation="sigmoid", dropout=0.5)
    assert [k.shape for k, _ in loaded.weights] == [(784, 64), (64, 64), (64, 64), (64, 64), (64, 10)]
    assert loaded.network().predict(np.zeros((3, 784), np.float32)).shape == (3, 10)


def test_a_killed_trainer_leaves_nothing_after_the_next_save(tmp_path: Path) -> None:
    store, scratch = tmp_path / "models", tmp_path / "tmp"
    scratch.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "MODEL_STORE"}
    trainer = subprocess.Popen(
        [sys.executable, str(REPO / "train.py"), "--store", str(store), "--json", "--epochs", "50", "--train-limit", "10000"],
        stdout=subprocess.PIPE, text=True, cwd=REPO, env={**env, "MNIST_DIR": str(verified_mnist_dir()), "TMPDIR": str(scratch)},
    )
    try:
        assert '"progress"' in trainer.stdout.readline()  # the training graph is traced: autograph wrote its sources
    finally:
        trainer.kill()
        trainer.wait(timeout=60)
        trainer.stdout.close()
    assert list(scratch.iterdir()) == []  # nothing in the temporary folder: TensorFlow's sources went to the store
    [staging] = store.glob(".staging-*")
    assert list(staging.rglob("__autograph_generated_file*.py"))
    assert ModelStore(store).trainer() is None  # the killed trainer let go of the store's trainer lock
    weights = write_weights(tmp_path / "source.weights.h5")
    assert ModelStore(store).save(weights, model_card(TINY_SPEC), promote=False) == 1
    assert sorted(p.name for p in store.iterdir()) == [".lock", ".trainer.lock", "1"]


def test_one_trainer_at_a_time(tmp_path: Path) -> None:
    """While another process trains into the store, train.py stops at once, saying who and since when."""
    store = tmp_path / "models"
    with ModelStore(store).lock(TRAINER_LOCK).held("carol's !retrain"):
        result = run_train(store, "--json", cache=tmp_path / "cache")
    assert result.returncode == 2 and not (tmp_path / "cache").exists()
    [line] = result.stderr.splitlines()
    assert re.fullmatch(rf"train.py: error: the trainer lock is held by carol's !retrain, since 20\S+ \S+ UTC, on process "
                        rf"\S+:{os.getpid()}: one at a time", line), line
    assert json.loads(result.stdout) == {"event": "error", "message": line.removeprefix("train.py: error: ")}


@pytest.mark.parametrize("flags", [
    ["--epochs", "0"], ["--epochs", "101"], ["--batch-size", "0"], ["--batch-size", "60001"],
    ["--activation", "swish"], ["--dropout", "1"], ["--dropout", "-0.1"], ["--layers", "64,x"], ["--store", "/proc/nope"],
], ids=lambda flags: " ".join(flags))
def test_bad_flags_fail_before_training(flags: list[str], tmp_path: Path) -> None:
    store = tmp_path / "models"
    result = run_train(store, *flags, cache=tmp_path / "cache")
    assert result.returncode == 2, result
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert "error" in result.stderr and result.stdout == ""
    assert ModelStore(store).versions() == [] and not (tmp_path / "cache").exists()


def test_full_default_run_reproduces_the_tutorial(tmp_path: Path) -> None:
    store = tmp_path / "models"
    result = run_train(store)
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "Epoch 1/5" in out and "Epoch 5/5" in out
    accuracy = float(re.search(r"Test loss: [\d.]+ - test accuracy: ([\d.]+)", out).group(1))
    assert accuracy >= 0.955, out[-2000:]
    assert re.search(r"^Predictions: \[7 2 1 0 4\]$", out, re.MULTILINE), out[-2000:]
    assert re.search(r"^Labels: +\[7 2 1 0 4\]$", out, re.MULTILINE), out[-2000:]
    assert "Saved version 1" in out
    served = ModelStore(store).load_served()
    assert served.version == 1 and served.card.test_accuracy >= 0.955
    assert served.card.hyperparameters.epochs == 5 and served.card.hyperparameters.train_images == 60000
