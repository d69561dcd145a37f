"""`make run` (bot/run.py, bot/first_start.py): the bot on Discord with a token, the playground without; a first start."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import psutil
import pytest

from bot.config import ConfigError
from bot.first_start import (
    UPGRADE_NOTE,
    needs_first_model,
    robust_upgrade,
    serve_with_upgrade,
    train_tutorial,
    wants_robust_upgrade,
)
from bot.run import command
from digits.options import TrainingOptions
from digits.retraining import RetrainJob
from model_store import ModelStore
from tests.fixtures.mnist import REPO, verified_mnist_dir
from tests.fixtures.models import shared_folder
from tests.fixtures.processes import free_port


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


@pytest.fixture(scope="session")
def first_start_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What a first start's foreground training leaves (the tutorial's network, small), made once per session and
    shared by every xdist worker; read-only: each test takes a copy (`first_store`)."""
    folder, lock = shared_folder(tmp_path_factory, "first-start")
    with lock:
        if not (folder / "made").is_file():
            shutil.rmtree(folder, ignore_errors=True)
            store = ModelStore(folder / "models")
            assert needs_first_model(store)
            lines: list[str] = []
            assert train_tutorial(store, {**os.environ, "MNIST_DIR": str(verified_mnist_dir())}, SMALL, say=lines.append)
            assert "training the tutorial's network first" in lines[0]
            store.close()
            (folder / "made").touch()
    return folder / "models"


@pytest.fixture
def first_store(first_start_store: Path, tmp_path: Path) -> ModelStore:
    """A private copy of the first start's store."""
    shutil.copytree(first_start_store, tmp_path / "models")
    store = ModelStore(tmp_path / "models")
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


def environments_of_trainers(store: Path, running: threading.Event, seen: dict[int, dict[str, str]]) -> None:
    """Until `running` is cleared: the environment of every train.py into `store` that this process starts, read
    from /proc/PID/environ once it has exec'd (a forked child shows its parent's environment until then).
    Only this process's own children: what a trainer forks in turn shows the trainer's command line too."""
    def trains_into_store(child: psutil.Process) -> bool:
        return str(store) in child.cmdline() and any(part.endswith("train.py") for part in child.cmdline())

    while running.is_set():
        for child in psutil.Process().children():
            try:
                if child.pid not in seen and trains_into_store(child):
                    environ = child.environ()
                    if trains_into_store(child):  # still the trainer: the environment was read after its exec
                        seen[child.pid] = environ
            except psutil.Error:
                pass  # gone meanwhile
        time.sleep(0.005)


def test_the_first_starts_trainer_never_sees_the_token(tmp_path: Path) -> None:
    """Issue 25 item 6: `make run` with a token and an empty store trains the tutorial's network without the token
    in the trainer's environment (/proc/PID/environ), as `!retrain`'s trainer already was."""
    running, seen = threading.Event(), {}
    running.set()
    watcher = threading.Thread(target=environments_of_trainers, args=(tmp_path / "models", running, seen))
    watcher.start()
    env = {**os.environ, "MNIST_DIR": str(verified_mnist_dir()), "DISCORD_TOKEN": "secret.token.value"}
    try:
        # A run that stops at its options (--epochs 0) starts and ends like any other, without training.
        assert not train_tutorial(ModelStore(tmp_path / "models"), env, ["--epochs", "0"], say=lambda line: None)
    finally:
        running.clear()
        watcher.join()
    [environ] = seen.values()
    assert "DISCORD_TOKEN" not in environ and "secret.token.value" not in "".join(environ.values())
    assert environ["MNIST_DIR"] == str(verified_mnist_dir()) and environ["PATH"] == os.environ["PATH"]


def test_a_train_failure_is_reported(tmp_path: Path) -> None:
    store = ModelStore(tmp_path / "models")
    assert not train_tutorial(store, {**os.environ, "MNIST_DIR": str(verified_mnist_dir())}, ["--epochs", "0"],
                              say=lambda line: None)
    assert needs_first_model(store)


# -- a first start killed (kill -9): nothing of it keeps running, and what it saved is not lost --------------------


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


async def make_run(store: ModelStore, port: int, cwd: Path) -> asyncio.subprocess.Process:
    """`make run` without a token (`python -m bot.run`: the playground on `port`, with the bot in it), in its own
    session, with a clean environment (no DISCORD_ or BOT_ variables of the test's own)."""
    base = {key: value for key, value in os.environ.items() if not key.startswith(("DISCORD_", "BOT_", "PLAYGROUND_"))}
    env = {**base, "PYTHONPATH": str(REPO), "MODEL_STORE": str(store.root), "MNIST_DIR": str(verified_mnist_dir()),
           "PLAYGROUND_PORT": str(port)}
    return await asyncio.create_subprocess_exec(sys.executable, "-m", "bot.run", cwd=cwd, env=env,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
                                                start_new_session=True)


async def read_until(process: asyncio.subprocess.Process, lines: list[str], text: str, timeout: float = 60) -> None:
    """Collect the process's output lines into `lines` until one contains `text`."""
    assert process.stdout is not None
    async with asyncio.timeout(timeout):
        while not any(text in line for line in lines):
            line = await process.stdout.readline()
            assert line, f"the process ended before saying {text!r}:\n" + "\n".join(lines)
            lines.append(line.decode(errors="replace").rstrip())


def trainers(process: psutil.Process) -> list[psutil.Process]:
    return [child for child in process.children(recursive=True)
            if any(part.endswith("train.py") for part in child.cmdline())]


@pytest.mark.timeout(180)
async def test_a_killed_first_start_leaves_nothing_running_and_its_saved_upgrade_is_served_next_time(
        first_store: ModelStore, tmp_path: Path) -> None:
    """Issue 25 item 7. `kill -9` of a first `make run` while the playground, its bot and the robust recipe's
    trainer run: they all stop with it and the port is free again. A robust version the trainer saved before the
    kill (and nobody promoted) is served by the next start, as it clears the floor, without training again."""
    port = free_port()
    first = await make_run(first_store, port, tmp_path)
    lines: list[str] = []
    family: list[psutil.Process] = []
    try:
        await read_until(first, lines, "playground: open")
        parent = psutil.Process(first.pid)
        async with asyncio.timeout(60):
            while not trainers(parent):
                await asyncio.sleep(0.05)
        family = parent.children(recursive=True)  # the playground, its bot, the trainer
        assert len(family) >= 3, [child.cmdline() for child in family]
        first.kill()
        _, alive = await asyncio.to_thread(psutil.wait_procs, [parent, *family], 20)
        assert alive == [], f"still running after the kill: {[child.cmdline() for child in alive]}"
        assert port_is_free(port)
    finally:
        for child in family:
            with contextlib.suppress(psutil.Error):
                child.kill()
        await first.wait()  # once its output pipe is closed: by the last of the family to end
    assert first_store.versions() == [1] and first_store.current() == 1
    assert (first_store.root / UPGRADE_NOTE).is_file()  # the upgrade was not decided on

    # What a kill right after the trainer saved leaves: the robust version, saved and not promoted.
    weights = first_store.root / "1" / "model.weights.h5"
    card = first_store.card(1)
    robust = replace(card, hyperparameters=replace(card.hyperparameters, recipe="robust"))
    assert first_store.save(weights, robust, promote=False) == 2

    second = await make_run(first_store, port, tmp_path)
    lines = []
    try:
        await read_until(second, lines, "playground: open")
        assert first_store.current() == 2, "\n".join(lines)
        assert any("version 2" in line and "now serving" in line for line in lines), "\n".join(lines)
        assert not any("in the background" in line for line in lines) and not trainers(psutil.Process(second.pid))
        second.terminate()
        assert await asyncio.wait_for(second.wait(), 30) == 0
    finally:
        if second.returncode is None:
            second.kill()
    assert first_store.versions() == [1, 2] and not (first_store.root / UPGRADE_NOTE).exists()
