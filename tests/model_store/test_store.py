"""The model store (issue 2, §4; issue 23) and `python -m model_store`: real files, a real PostgreSQL, real processes.

The tests about what a store promises take `any_store` and run on both kinds (a folder, PostgreSQL); those about
the folder's own files take `store`.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from collections.abc import Iterator

import h5py
import numpy as np
import psycopg
import pytest

from model_store import CorruptVersionError, FolderStore, ModelStore, StoreError
from model_store.postgres import PostgresStore
from model_store.files import sha256_file
from model_store.folder import METADATA_FILE, POINTER_FILE, WEIGHTS_FILE
from model_store.store import Pointer
from network.architecture import ArchitectureSpec
from network.card import ModelCard
from tests.fixtures.mnist import REPO
from tests.fixtures.models import TINY_SPEC, model_card, write_weights

SPEC = TINY_SPEC


def metadata(accuracy: float = 0.9, spec: ArchitectureSpec = SPEC) -> ModelCard:
    return model_card(spec, accuracy)


@pytest.fixture
def weights(tmp_path: Path) -> Path:
    return write_weights(tmp_path / "source.weights.h5")


@pytest.fixture
def store(tmp_path: Path) -> FolderStore:
    return FolderStore(tmp_path / "models")


@pytest.fixture
def any_store(store_location: Path | str) -> Iterator[ModelStore]:
    """An empty store of each kind: a folder, a PostgreSQL database."""
    opened = ModelStore(store_location)
    yield opened
    opened.close()


def save_versions(store: ModelStore, weights: Path, count: int, promote: bool = True) -> list[int]:
    return [store.save(weights, metadata(0.9 + v / 100), promote=promote) for v in range(count)]


def flipped(data: bytes) -> bytes:
    changed = bytearray(data)
    changed[len(data) // 2] ^= 0xFF
    return bytes(changed)


def halved(data: bytes) -> bytes:
    return data[: len(data) // 2]


def flip_byte(path: Path) -> None:
    path.write_bytes(flipped(path.read_bytes()))


def truncate(path: Path) -> None:
    path.write_bytes(halved(path.read_bytes()))


def damage(store: ModelStore, version: int, how=flipped) -> None:
    """Damage a version's stored weights behind the store's back: the file, or the row."""
    if isinstance(store, FolderStore):
        path = weights_path(store, version)
        path.write_bytes(how(path.read_bytes()))
    else:
        assert isinstance(store, PostgresStore)
        with psycopg.connect(store.url) as db:
            [(weights,)] = db.execute("SELECT weights FROM model_versions WHERE version = %s", (version,)).fetchall()
            db.execute("UPDATE model_versions SET weights = %s WHERE version = %s", (how(bytes(weights)), version))


def weights_path(store: FolderStore, version: int) -> Path:
    return store.root / str(version) / WEIGHTS_FILE


# -- saving, listing, loading ----------------------------------------------------------------------


def test_save_numbers_versions_and_loads_them(any_store: ModelStore, weights: Path) -> None:
    store = any_store
    assert store.versions() == [] and store.current() is None
    assert save_versions(store, weights, 2) == [1, 2]
    assert store.versions() == [1, 2] and store.current() == 2
    model = store.load(1)
    assert model.version == 1 and model.spec == SPEC
    with h5py.File(weights) as h5:
        np.testing.assert_array_equal(model.weights[1][0], h5["layers/dense_1/vars/0"][()])
    assert model.card.weights_sha256 == sha256_file(weights) and store.weights_of(1)[0] == weights.read_bytes()
    assert model.card.test_accuracy == 0.9 and store.card(2).test_accuracy == 0.91
    assert model.network().predict(np.zeros((2, 6), np.float32)).shape == (2, 3)
    if isinstance(store, FolderStore):
        assert not [p for p in store.root.iterdir() if p.name.startswith(".staging-")]


def test_save_without_promote_keeps_the_pointer(any_store: ModelStore, weights: Path) -> None:
    store = any_store
    assert store.save(weights, metadata(), promote=False) == 1 and store.current() is None
    store.promote(1)
    assert store.save(weights, metadata(), promote=False) == 2 and store.current() == 1


def test_a_note_is_kept_beside_the_versions_and_is_never_one(any_store: ModelStore, weights: Path) -> None:
    """A start's work in progress (the first start's `.first-start-upgrade`) is kept by the store, on either kind."""
    save_versions(any_store, weights, 1)
    assert any_store.note(".first-start-upgrade") is None
    any_store.set_note(".first-start-upgrade", "the robust recipe, trained while version 1 served\n")
    any_store.set_note(".first-start-upgrade", "again\n")
    assert any_store.note(".first-start-upgrade") == "again\n"
    assert any_store.versions() == [1] and any_store.current() == 1
    any_store.set_note(".first-start-upgrade", None)
    assert any_store.note(".first-start-upgrade") is None


def test_save_refuses_weights_the_spec_cannot_load(any_store: ModelStore, tmp_path: Path) -> None:
    store = any_store
    other = write_weights(tmp_path / "other.h5", ArchitectureSpec(input_dim=6, hidden_units=(7,), num_classes=3))
    with pytest.raises(CorruptVersionError, match="shapes"):
        store.save(other, metadata())
    assert store.versions() == [] and store.current() is None
    if isinstance(store, FolderStore):
        assert [p.name for p in store.root.iterdir() if p.name != ".lock"] == []


def test_promote_and_rollback_history(any_store: ModelStore, weights: Path) -> None:
    store = any_store
    save_versions(store, weights, 3)
    assert store.current() == 3
    assert store.rollback() == 2 and store.current() == 2
    assert store.rollback() == 1 and store.current() == 1
    with pytest.raises(StoreError, match="no previous version"):
        store.rollback()
    assert store.current() == 1
    store.promote(3)
    stamp = store.pointer_stamp()
    store.promote(3)  # promoting the served version changes nothing
    assert store.pointer() == Pointer(3, (1,)) and store.pointer_stamp() == stamp
    assert store.rollback() == 1


def test_rollback_skips_a_damaged_version(any_store: ModelStore, weights: Path) -> None:
    store = any_store
    save_versions(store, weights, 3)
    damage(store, 2)
    assert store.rollback() == 1 and store.current() == 1


def test_rollback_with_no_history_raises(any_store: ModelStore, weights: Path) -> None:
    store = any_store
    with pytest.raises(StoreError):
        store.rollback()
    store.save(weights, metadata())
    with pytest.raises(StoreError, match="no previous version"):
        store.rollback()
    assert store.current() == 1


@pytest.mark.parametrize("how", [flipped, halved], ids=["flipped-byte", "truncated"])
def test_load_verifies_the_checksum(any_store: ModelStore, weights: Path, how) -> None:
    store = any_store
    save_versions(store, weights, 1)
    damage(store, 1, how)
    with pytest.raises(CorruptVersionError, match="SHA-256"):
        store.load(1)
    with pytest.raises(CorruptVersionError, match="SHA-256"):
        store.weights_of(1)


def test_load_of_missing_pieces(store: ModelStore, weights: Path) -> None:
    save_versions(store, weights, 2)
    weights_path(store, 1).unlink()
    with pytest.raises(CorruptVersionError, match="missing"):
        store.load(1)
    (store.root / "2" / METADATA_FILE).write_text("{not json")
    with pytest.raises(CorruptVersionError, match="unreadable"):
        store.load(2)
    with pytest.raises(CorruptVersionError, match="does not exist"):
        store.load(9)


def test_load_served_falls_back_to_the_newest_intact_version(
    any_store: ModelStore, weights: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = any_store
    save_versions(store, weights, 3)
    damage(store, 3, halved)
    with caplog.at_level(logging.WARNING, logger="model_store.store"):
        model = store.load_served()
    assert model.version == 2
    assert f"serving version 2, the newest intact one: {store.pointer_name} names version 3, which cannot be served" in caplog.text
    assert store.current() == 3  # the pointer is left for an operator to fix; 3 is simply never served
    damage(store, 2)
    assert store.load_served().version == 1


def test_load_served_prefers_the_pointer_and_fails_clearly_when_all_are_damaged(
    store: ModelStore, weights: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(StoreError, match="no trained model"):
        store.load_served()
    save_versions(store, weights, 3)
    store.promote(1)
    with caplog.at_level(logging.WARNING, logger="model_store.store"):
        assert store.load_served().version == 1
    assert caplog.text == ""
    for version in (1, 2, 3):
        truncate(weights_path(store, version))
    with pytest.raises(StoreError, match="no trained model"):
        store.load_served()


def test_half_written_versions_are_never_served(store: ModelStore, weights: Path) -> None:
    save_versions(store, weights, 1)
    staging = store.root / ".staging-abc123"
    staging.mkdir()
    write_weights(staging / WEIGHTS_FILE, seed=5)
    half = store.root / "7"
    half.mkdir()
    write_weights(half / WEIGHTS_FILE, seed=6)  # weights, but no model.json yet
    assert 7 in store.versions() and all(not str(v).startswith(".") for v in store.versions())
    (store.root / POINTER_FILE).unlink()  # nothing promoted: the newest version would be chosen
    assert store.load_served().version == 1
    with pytest.raises(CorruptVersionError):
        store.promote(7)
    assert store.current() is None
    assert store.save(weights, metadata()) == 8  # a new save never reuses a taken number


@pytest.mark.parametrize("name", ["٣", "0005", "0", "+4", "²", "-1", "1.0", " 6"])
def test_only_canonical_ascii_integers_are_versions(store: ModelStore, weights: Path, name: str) -> None:
    save_versions(store, weights, 1)
    (store.root / name).mkdir()
    assert store.versions() == [1]
    assert store.load_served().version == 1
    assert store.save(weights, metadata()) == 2


DAMAGED_POINTERS = ["two", "-1", "1.9", "null", "[2]", "{}", '{"version": "2"}', '{"version": true}', '{"version": 0}',
                    '{"version": 2, "history": "1"}', '{"version": 2, "history": [1.5]}', "{broken", ""]


def damage_pointer(store: ModelStore, text: str | None) -> None:
    """Replace SERVING with `text`, or with a directory when `text` is None."""
    path = store.root / POINTER_FILE
    path.unlink()
    if text is None:
        path.mkdir()
        (path / "2").write_text("an operator's file")
    else:
        path.write_text(text + "\n")


@pytest.mark.parametrize("text", [*DAMAGED_POINTERS, None], ids=[*DAMAGED_POINTERS, "directory"])
def test_a_damaged_pointer_serves_the_newest_intact_version_and_is_repaired(
    store: ModelStore, weights: Path, text: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    save_versions(store, weights, 3)
    store.promote(2)
    truncate(weights_path(store, 3))
    damage_pointer(store, text)
    with caplog.at_level(logging.WARNING, logger="model_store.store"):
        assert store.load_served().version == 2  # the newest intact one, as docs/operating.md promises
    assert f"{POINTER_FILE} is damaged" in caplog.text
    with pytest.raises(StoreError, match=f"{POINTER_FILE} is damaged"):
        store.current()  # what the pointer says is unknown; a reload must not guess

    store.promote(1)
    assert store.current() == 1 and store.load_served().version == 1
    if text is None:  # the directory was set aside, not deleted
        assert [p.read_text() for p in store.root.glob(f".{POINTER_FILE}.damaged-*/{POINTER_FILE}/2")] == ["an operator's file"]

    damage_pointer(store, text) if text is not None else (store.root / POINTER_FILE).write_text("two")
    assert store.rollback() == 1  # the previous of what is served (2, the newest intact), skipping damaged 3
    assert store.current() == 1


def test_a_pointer_naming_a_missing_version_is_left_to_the_operator(store: ModelStore, weights: Path) -> None:
    save_versions(store, weights, 2)
    (store.root / POINTER_FILE).write_text('{"version": 9, "history": [1]}')
    assert store.current() == 9 and store.load_served().version == 2
    assert store.rollback() == 1
    (store.root / POINTER_FILE).write_text('{"version": 9, "history": [1]}')
    store.promote(2)
    assert json.loads((store.root / POINTER_FILE).read_text()) == {"version": 2, "history": [1, 9]}


def test_promote_of_a_damaged_version_leaves_the_pointer(store: ModelStore, weights: Path) -> None:
    save_versions(store, weights, 2)
    flip_byte(weights_path(store, 1))
    before = (store.root / POINTER_FILE).read_bytes()
    with pytest.raises(CorruptVersionError):
        store.promote(1)
    with pytest.raises(CorruptVersionError):
        store.promote(42)
    assert (store.root / POINTER_FILE).read_bytes() == before and store.current() == 2


def test_an_unwritable_store_is_refused(tmp_path: Path, weights: Path) -> None:
    with pytest.raises(StoreError, match="not writable"):
        ModelStore("/proc/digitbot-nope").check_writable()
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="not writable"):
        ModelStore(blocker / "models").save(weights, metadata())


# -- crashes and concurrency (real processes) ------------------------------------------------------

SAVER = """
import json, sys, time
from pathlib import Path
from network.card import ModelCard
from model_store import ModelStore
store, weights, meta = ModelStore(sys.argv[1]), Path(sys.argv[2]), ModelCard.from_json(json.loads(sys.argv[3]))
mode = sys.argv[4]
store.connect()  # a database store's connections are made before the race, not during it
if mode == "loop":
    print("ready", flush=True)
    while True:
        store.save(weights, meta)
else:
    go = Path(sys.argv[5])
    while not go.exists():
        time.sleep(0.002)
    print(json.dumps([store.save(weights, meta) for _ in range(int(mode))]), flush=True)
"""


def saver(store: ModelStore, weights: Path, mode: str, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", SAVER, where(store), str(weights), json.dumps(metadata().to_json()), mode, *extra],
        stdout=subprocess.PIPE, text=True, cwd=REPO,
    )


def where(store: ModelStore) -> str:
    """What to give another process for it to open the same store (the folder, or the URL with its password)."""
    return str(store.root) if isinstance(store, FolderStore) else store.url  # type: ignore[attr-defined]


def test_a_crash_mid_save_leaves_no_broken_version(any_store: ModelStore, weights: Path) -> None:
    store = any_store
    # A version served before the kills: a kill between a save's claim of its number and its promotion leaves that
    # version unserved, and on a loaded machine every kill may fall there (current() was None once with 4 versions).
    store.save(weights, metadata())
    rng = random.Random(2)
    for _ in range(10):
        child = saver(store, weights, "loop")
        assert child.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 0.06))
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        child.stdout.close()
    versions = store.versions()
    assert versions == list(range(1, len(versions) + 1)) and len(versions) >= 3
    for version in versions:
        assert store.load(version).spec == SPEC
    assert store.current() in versions
    assert store.load_served().version == store.current()
    # Whatever the kills left behind is hidden, and the store keeps working.
    if isinstance(store, FolderStore):
        assert all(p.name.startswith(".") or p.name.isdigit() or p.name == POINTER_FILE for p in store.root.iterdir())
    assert store.save(weights, metadata()) == versions[-1] + 1


HOLDER = """
import sys, time
from model_store import ModelStore
with ModelStore(sys.argv[1]).staging() as folder:
    (folder / "scratch").write_text("x")
    print(folder, flush=True)
    time.sleep(600)
"""


def test_staging_folders_of_killed_processes_are_removed_at_the_next_save(store: ModelStore, weights: Path) -> None:
    save_versions(store, weights, 1)
    killed, alive = (subprocess.Popen([sys.executable, "-c", HOLDER, str(store.root)], stdout=subprocess.PIPE, text=True, cwd=REPO)
                     for _ in range(2))
    try:
        killed_folder, alive_folder = Path(killed.stdout.readline().strip()), Path(alive.stdout.readline().strip())
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=10)
        assert (killed_folder / "scratch").is_file() and (alive_folder / "scratch").is_file()
        legacy = store.root / ".staging-abc123"  # what a saver killed before staging folders were locked left
        legacy.mkdir()
        write_weights(legacy / WEIGHTS_FILE)
        half_promoted = store.root / f".{POINTER_FILE}.k2j4x9"  # a promote killed before its rename
        half_promoted.write_text('{"version": 1')

        assert store.save(weights, metadata()) == 2
        assert not killed_folder.exists() and not legacy.exists() and not half_promoted.exists()
        assert (alive_folder / "scratch").read_text() == "x"  # a live process's folder is left alone
        assert sorted(p.name for p in (store.root / "2").iterdir()) == sorted([WEIGHTS_FILE, METADATA_FILE])
    finally:
        for child in (killed, alive):
            child.kill()
            child.wait(timeout=10)
            child.stdout.close()
    assert store.save(weights, metadata()) == 3
    assert not list(store.root.glob(".staging-*"))  # once its process is gone, the next save removes it too


def test_staging_folders_are_removed_at_the_end_of_their_block(store: ModelStore) -> None:
    with store.staging() as folder:
        (folder / "scratch").write_text("x")
        assert folder.parent == store.root and folder.name.startswith(".staging-")
    assert not folder.exists()
    with pytest.raises(RuntimeError), store.staging() as folder:
        raise RuntimeError
    assert not folder.exists()


def test_concurrent_saves_get_distinct_versions(any_store: ModelStore, weights: Path, tmp_path: Path) -> None:
    store = any_store
    go = tmp_path / "go"
    children = [saver(store, weights, "5", str(go)) for _ in range(4)]
    time.sleep(0.8)  # let them all import and wait at the line
    go.touch()
    claimed = []
    for child in children:
        out, _ = child.communicate(timeout=60)
        assert child.returncode == 0
        claimed += json.loads(out)
    assert sorted(claimed) == list(range(1, 21)) == store.versions()
    for version in claimed:
        store.load(version)
    assert store.current() in claimed
    assert len(store.pointer().history) == 19  # every promotion was recorded, none lost to a race


# -- python -m model_store ------------------------------------------------------------------------


def cli(store: ModelStore, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "MODEL_STORE"}
    return subprocess.run([sys.executable, "-m", "model_store", "--store", where(store), *args],
                          capture_output=True, text=True, cwd=REPO, env=env, timeout=60)


def break_card(store: ModelStore, version: int) -> None:
    if isinstance(store, FolderStore):
        (store.root / str(version) / METADATA_FILE).write_text("{broken")
    else:
        with psycopg.connect(where(store)) as db:
            db.execute("UPDATE model_versions SET card = '{broken' WHERE version = %s", (version,))


def test_cli_list_show_promote_rollback(any_store: ModelStore, weights: Path) -> None:
    store = any_store
    empty = cli(store, "list")
    assert empty.returncode == 0 and "No versions" in empty.stdout
    save_versions(store, weights, 3)
    damage(store, 1)
    break_card(store, 1)

    listing = cli(store, "list")
    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.splitlines()
    assert lines[0].split() == ["version", "accuracy", "loss", "layers", "epochs", "batch", "created"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert set(rows) == {"1", "2", "*3"}
    assert "damaged" in rows["1"]
    assert "92.00%" in rows["*3"] and "5-4 tanh" in rows["*3"] and "0.2500" in rows["*3"]

    shown = cli(store, "show", "2")
    assert shown.returncode == 0 and json.loads(shown.stdout)["test_accuracy"] == pytest.approx(0.91)

    promoted = cli(store, "promote", "2")
    assert promoted.returncode == 0 and "version 2" in promoted.stdout and store.current() == 2
    assert "*2" in cli(store, "list").stdout.split()

    rolled = cli(store, "rollback")
    assert rolled.returncode == 0 and "version 3" in rolled.stdout and store.current() == 3


def test_cli_list_and_current_when_nothing_is_promoted(store: ModelStore, weights: Path) -> None:
    assert cli(store, "current").returncode == 1
    save_versions(store, weights, 2, promote=False)
    listing = cli(store, "list")
    assert listing.returncode == 0 and [line.split()[0] for line in listing.stdout.splitlines()[1:3]] == ["1", "*2"]
    assert listing.stdout.splitlines()[-1] == "Serving version 2, the newest intact one: nothing is promoted."
    current = cli(store, "current")
    assert current.returncode == 0 and current.stdout == "2 (the newest intact version: nothing is promoted)\n"


def test_cli_list_and_current_show_what_a_process_serves_and_why(store: ModelStore, weights: Path) -> None:
    save_versions(store, weights, 3)
    store.promote(2)
    current = cli(store, "current")
    assert current.returncode == 0 and current.stdout == "2\n" and current.stderr == ""
    truncate(weights_path(store, 2))
    listing = cli(store, "list")
    rows = {line.split()[0]: line for line in listing.stdout.splitlines()[1:4]}
    assert set(rows) == {"1", "2", "*3"} and "damaged" in rows["2"] and "SHA-256" in rows["2"]
    why = f"{POINTER_FILE} names version 2, which cannot be served: version 2: {WEIGHTS_FILE} does not match its SHA-256"
    assert listing.stdout.splitlines()[-1].startswith(f"Serving version 3, the newest intact one: {why}")
    current = cli(store, "current")
    assert current.returncode == 0 and current.stdout.startswith(f"3 (the newest intact version: {why}")

    (store.root / POINTER_FILE).write_text('{"version": 9, "history": []}')
    assert cli(store, "current").stdout.startswith(f"3 (the newest intact version: {POINTER_FILE} names version 9, which cannot be served")
    (store.root / POINTER_FILE).write_text("two")
    assert cli(store, "current").stdout == f"3 (the newest intact version: {POINTER_FILE} is damaged: it is not JSON)\n"
    assert "*3" in cli(store, "list").stdout.split()

    for version in (1, 3):
        flip_byte(weights_path(store, version))
    listing, current = cli(store, "list"), cli(store, "current")
    assert listing.returncode == 0 and "*" not in listing.stdout and "No intact version" in listing.stdout
    assert current.returncode == 1 and current.stdout == "" and "no trained model" in current.stderr.splitlines()[-1]


def test_cli_errors_are_one_line_with_exit_1(any_store: ModelStore, weights: Path) -> None:
    store = any_store
    save_versions(store, weights, 2)
    damage(store, 1)
    pointer = store.pointer_stamp()
    for args in (["show", "9"], ["promote", "9"], ["promote", "1"]):
        result = cli(store, *args)
        assert result.returncode == 1, (args, result)
        assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith("python -m model_store: error:"), (args, result.stderr)
        assert result.stdout == ""
    assert store.pointer_stamp() == pointer


@pytest.mark.parametrize("command", [["promote", "1"], ["rollback"]])
def test_cli_repairs_a_damaged_pointer_and_says_so(store: ModelStore, weights: Path, command: list[str]) -> None:
    save_versions(store, weights, 2)
    (store.root / POINTER_FILE).write_text("two\n")
    result = cli(store, *command)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"{'Now serving' if command[0] == 'promote' else 'Rolled back: now serving'} version 1.",
        f"Repaired {POINTER_FILE} in {store.root}, which was damaged: it is not JSON.",
    ]
    assert store.current() == 1


def run_on_read_only_store(store: ModelStore, *args: str) -> subprocess.CompletedProcess:
    """`python -m model_store` with the store read-only: unwritable folders, or for root (whom permissions do not
    bind) the store mounted read-only in a private mount namespace."""
    command = [sys.executable, "-m", "model_store", "--store", str(store.root), *args]
    if os.geteuid() != 0:
        for path in [store.root, *store.root.iterdir()]:
            path.chmod(path.stat().st_mode & ~0o222)
        try:
            return subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=60)
        finally:
            store.root.chmod(0o755)
    remount = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"'
    return subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", remount, str(store.root), *command],
                          capture_output=True, text=True, cwd=REPO, timeout=60)


@pytest.mark.parametrize("command", [["promote", "1"], ["rollback"]])
def test_cli_on_a_read_only_store_is_one_line_with_exit_1(store: ModelStore, weights: Path, command: list[str]) -> None:
    save_versions(store, weights, 2)
    pointer = (store.root / POINTER_FILE).read_bytes()
    result = run_on_read_only_store(store, *command)
    assert result.returncode == 1 and result.stdout == "", result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert re.fullmatch(rf"python -m model_store: error: model store {store.root} is not writable "
                        r"\((Permission denied|Read-only file system)\)\n", result.stderr), result.stderr
    assert (store.root / POINTER_FILE).read_bytes() == pointer


def test_cli_rollback_errors(store: ModelStore, weights: Path, tmp_path: Path) -> None:
    save_versions(store, weights, 1)
    result = cli(store, "rollback")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.splitlines() == ["python -m model_store: error: there is no previous version to roll back to"]
    # With only a damaged previous version, the skipped version is logged, then the one-line error ends it.
    store.save(weights, metadata())
    flip_byte(weights_path(store, 1))
    result = cli(store, "rollback")
    assert result.returncode == 1 and store.current() == 2
    assert result.stderr.splitlines()[-1] == "python -m model_store: error: there is no previous version to roll back to"


def test_a_version_with_a_wrong_shape_card_is_damaged_everywhere(store: ModelStore, weights: Path) -> None:
    save_versions(store, weights, 1)
    card = store.root / "1" / METADATA_FILE
    card.write_text(json.dumps({**json.loads(card.read_text()), "test_accuracy": "high"}))
    with pytest.raises(CorruptVersionError, match="not a model card.*test_accuracy"):
        store.card(1)
    listed = subprocess.run([sys.executable, "-m", "model_store", "--store", str(store.root), "list"], capture_output=True,
                            text=True, cwd=REPO)
    assert listed.returncode == 0 and "damaged" in listed.stdout and "Traceback" not in listed.stderr
