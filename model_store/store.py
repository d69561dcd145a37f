"""A versioned model store laid out like TensorFlow Serving's.

    <store>/<version>/model.weights.h5   the Keras weights file
    <store>/<version>/model.json         its model card (network.card): spec, training, metrics, SHA-256 of the weights
    <store>/SERVING                      {"version": N, "history": [...]}: the served version

A version is written in a hidden temporary folder and renamed into place, so it appears
whole or not at all; the serving pointer is replaced atomically. Loading checks the
weights' SHA-256 and shapes, and never serves a damaged version.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from model_store.files import atomic_write, sha256_file
from network.architecture import ArchitectureSpec, NumpyNetwork, Weights
from network.card import CardError, ModelCard

log = logging.getLogger(__name__)

WEIGHTS_FILE = "model.weights.h5"
METADATA_FILE = "model.json"
POINTER_FILE = "SERVING"
LOCK_FILE = ".lock"
STAGING_PREFIX = ".staging-"
# Inside a staging folder: locked by the process using the folder, for as long as it does.
IN_USE_FILE = ".in-use"


class StoreError(RuntimeError):
    """A model store operation failed; the message says why in one line."""


class CorruptVersionError(StoreError):
    """A version on disk is damaged (missing files, bad checksum, wrong shapes)."""


@dataclass(frozen=True)
class Pointer:
    """What `SERVING` says: the served version (None if nothing was promoted) and those served before it, oldest first.

    `damage` says why the file could not be read (then `version` is None and `history` empty).
    """

    version: int | None
    history: tuple[int, ...]
    damage: str | None = None


@dataclass(frozen=True)
class LoadedModel:
    """A verified version: its weights (NumPy arrays, no TensorFlow) and its model card."""

    version: int
    weights: Weights
    card: ModelCard

    @property
    def spec(self) -> ArchitectureSpec:
        return self.card.architecture

    def network(self) -> NumpyNetwork:
        return NumpyNetwork(self.spec, self.weights)


def read_weights(path: Path, spec: ArchitectureSpec) -> Weights:
    """Read a Keras 3 `.weights.h5` file into (kernel, bias) pairs, checked against the spec's shapes."""
    weights: Weights = []
    try:
        with h5py.File(path, "r") as h5:
            for index, (layer, (kernel_shape, bias_shape)) in enumerate(zip(spec.dense_layers(), spec.weight_shapes())):
                # Keras 3 files name each layer by its class in snake case, numbered in order: dense, dense_1, …
                group = h5.get(f"layers/dense{f'_{index}' if index else ''}/vars")
                if group is None:
                    raise CorruptVersionError(f"{path}: no weights for layer {layer.name}")
                kernel, bias = np.asarray(group["0"], np.float32), np.asarray(group["1"], np.float32)
                if kernel.shape != kernel_shape or bias.shape != bias_shape:
                    raise CorruptVersionError(
                        f"{path}: layer {layer.name} has shapes {kernel.shape}/{bias.shape}, "
                        f"the spec needs {kernel_shape}/{bias_shape}"
                    )
                weights.append((kernel, bias))
    except (OSError, KeyError) as error:
        raise CorruptVersionError(f"{path}: unreadable weights ({error})") from None
    return weights


def _is_version_name(name: str) -> bool:
    """Whether a folder name is a version: a canonical ASCII integer from 1 (not `0005`, `٣` or `²`)."""
    return name.isascii() and name.isdigit() and name[0] != "0"


def _is_version_number(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _in_use(staging: Path) -> bool:
    """Whether a live process holds the staging folder's in-use file."""
    try:
        with open(staging / IN_USE_FILE) as in_use:
            fcntl.flock(in_use, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except FileNotFoundError:
        return False
    except OSError:
        return True  # locked; or not a folder, or another user's that we may not read: not ours to remove
    return False


def _write_json_atomically(path: Path, data: dict[str, Any]) -> None:
    with atomic_write(path) as out:
        out.write((json.dumps(data, indent=2) + "\n").encode())


class ModelStore:
    """Integer versions under one folder, one of them served."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    # -- reading -------------------------------------------------------------------------

    def versions(self) -> list[int]:
        """Every numeric version folder on disk, intact or damaged (`load` tells), oldest first."""
        if not self.root.is_dir():
            return []
        return sorted(int(p.name) for p in self.root.iterdir() if _is_version_name(p.name) and p.is_dir())

    def card(self, version: int) -> ModelCard:
        """The model card (`model.json`) of a version; CorruptVersionError if it is missing or not a card."""
        path = self.root / str(version) / METADATA_FILE
        try:
            return ModelCard.from_json(json.loads(path.read_text()))
        except FileNotFoundError:
            raise CorruptVersionError(f"version {version} does not exist") from None
        except CardError as error:
            raise CorruptVersionError(f"version {version}: {METADATA_FILE} is not a model card ({error})") from None
        except (OSError, ValueError) as error:
            raise CorruptVersionError(f"version {version}: unreadable {METADATA_FILE} ({error})") from None

    def pointer(self) -> Pointer:
        """What `SERVING` says; a damaged one reads as nothing promoted, with the damage described."""
        path = self.root / POINTER_FILE
        try:
            # Only a regular file is read: a directory fails, and a named pipe would block the reader.
            kind = os.stat(path).st_mode
            if not stat.S_ISREG(kind):
                return Pointer(None, (), "it is a directory" if stat.S_ISDIR(kind) else "it is not a regular file")
            text = path.read_text()
        except FileNotFoundError:
            return Pointer(None, ())
        except OSError as error:
            return Pointer(None, (), f"it cannot be read ({error.strerror or error})")
        try:
            data = json.loads(text)
        except ValueError:
            return Pointer(None, (), "it is not JSON")
        version = data.get("version") if isinstance(data, dict) else None
        history = data.get("history", []) if isinstance(data, dict) else None
        if not _is_version_number(version) or not isinstance(history, list) or not all(map(_is_version_number, history)):
            return Pointer(None, (), f'it holds {text.strip()[:80]!r}, not {{"version": N, "history": [...]}}')
        return Pointer(version, tuple(history))

    def pointer_stamp(self) -> tuple[int, int, int] | None:
        """Identity, size and time of the serving pointer (None when there is none): cheap to compare, to notice
        a switch, and never blocking (the pointer is replaced by renaming, so a switch is a new file)."""
        try:
            found = os.stat(self.root / POINTER_FILE)
        except OSError:
            return None
        return found.st_ino, found.st_size, found.st_mtime_ns

    def current(self) -> int | None:
        """The version the pointer says is served, or None when nothing was promoted; StoreError if it is damaged."""
        pointer = self.pointer()
        if pointer.damage is not None:
            raise StoreError(f"{self.root / POINTER_FILE} is damaged: {pointer.damage}")
        return pointer.version

    def load(self, version: int) -> LoadedModel:
        """Load and verify one version: checksum of the weights, then their shapes against the spec."""
        card = self.card(version)
        weights_path = self.root / str(version) / WEIGHTS_FILE
        if not weights_path.is_file():
            raise CorruptVersionError(f"version {version}: {WEIGHTS_FILE} is missing")
        if sha256_file(weights_path) != card.weights_sha256:
            raise CorruptVersionError(f"version {version}: {WEIGHTS_FILE} does not match its SHA-256 (corrupted or truncated)")
        return LoadedModel(version, read_weights(weights_path, card.architecture), card)

    def load_served(self) -> LoadedModel:
        """Load the served version; if it is damaged, the newest intact version instead, saying so.

        Raises StoreError when the store holds no intact version at all.
        """
        model, reason = self.select_served()
        if reason is not None:
            log.warning("model store %s: serving version %d, the newest intact one: %s", self.root, model.version, reason)
        return model

    def select_served(self) -> tuple[LoadedModel, str | None]:
        """The version a process serves: the one SERVING names if it loads, else the newest intact one and why.

        Raises StoreError when the store holds no intact version at all.
        """
        pointer = self.pointer()
        if pointer.damage is not None:
            reason = f"{POINTER_FILE} is damaged: {pointer.damage}"
        elif pointer.version is None:
            reason = "nothing is promoted"
        else:
            try:
                return self.load(pointer.version), None
            except CorruptVersionError as error:
                reason = f"{POINTER_FILE} names version {pointer.version}, which cannot be served: {error}"
        for version in sorted(self.versions(), reverse=True):
            if version == pointer.version:
                continue
            try:
                return self.load(version), reason
            except CorruptVersionError as error:
                log.error("model store %s: not serving damaged version: %s", self.root, error)
        raise StoreError(f"no trained model in {self.root}: run `python train.py` first")

    # -- writing -------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            lock = open(self.root / LOCK_FILE, "a")
        except OSError as error:
            raise self._not_writable(error) from None
        with lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def _not_writable(self, error: OSError) -> StoreError:
        return StoreError(f"model store {self.root} is not writable ({error.strerror or error})")

    def check_writable(self) -> None:
        """Raise StoreError unless new versions can be written under the root."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=self.root):
                pass
        except OSError as error:
            raise self._not_writable(error) from None

    @contextlib.contextmanager
    def staging(self) -> Iterator[Path]:
        """A new folder in the store for files on their way into it (such as the weights to `save`), removed after the block.

        The folders that killed processes left behind are removed here, at the next staging (every save stages).
        """
        with self._locked():
            self._remove_leftovers()
            try:
                folder = Path(tempfile.mkdtemp(dir=self.root, prefix=STAGING_PREFIX))
                folder.chmod(0o755)  # mkdtemp makes it private; the bot may run as another user than the trainer
                in_use = open(folder / IN_USE_FILE, "w")
            except OSError as error:
                raise self._not_writable(error) from None
            fcntl.flock(in_use, fcntl.LOCK_EX)
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)
            in_use.close()

    def _remove_leftovers(self) -> None:
        """Remove what killed processes left: staging folders no live process holds, half-written pointers.

        Called under the store lock, which pointers are written under and staging folders are created (with
        their in-use file) and claimed under: so any pointer temporary, or staging folder without an in-use
        file, is a dead process's.
        """
        for folder in self.root.glob(f"{STAGING_PREFIX}*"):
            if not _in_use(folder):
                shutil.rmtree(folder, ignore_errors=True)
                log.info("model store %s: removed %s, left by a process that was killed", self.root, folder.name)
        for leftover in self.root.glob(f".{POINTER_FILE}.*"):
            if leftover.is_file():  # the folders beside them are damaged pointers set aside for the operator
                leftover.unlink(missing_ok=True)

    def save(self, weights_file: Path, card: ModelCard, promote: bool = True) -> int:
        """Add a new version from a written Keras weights file and its model card; return its number.

        The version folder is assembled in a staging folder and renamed into place, so a crash
        leaves no visible version, and two concurrent savers always get distinct numbers.
        """
        with self.staging() as staging:
            shutil.copyfile(weights_file, staging / WEIGHTS_FILE)
            read_weights(staging / WEIGHTS_FILE, card.architecture)  # refuse to store weights the spec cannot load
            card = card.with_weights_sha256(sha256_file(staging / WEIGHTS_FILE))
            _write_json_atomically(staging / METADATA_FILE, card.to_json())
            for path in (staging / WEIGHTS_FILE, staging):
                fd = os.open(path, os.O_RDONLY)
                os.fsync(fd)
                os.close(fd)
            version = self._claim_version(staging)
        log.info("model store %s: saved version %d", self.root, version)
        if promote:
            self.promote(version)
        return version

    def _claim_version(self, staging: Path) -> int:
        with self._locked():
            (staging / IN_USE_FILE).unlink()  # a version holds its two files only
            version = max(self.versions(), default=0) + 1
            while True:
                try:
                    # rename(2) onto an existing non-empty folder fails, so a number is never taken twice.
                    os.rename(staging, self.root / str(version))
                    return version
                except OSError as error:
                    if error.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                        raise
                    version += 1

    def promote(self, version: int, loaded: LoadedModel | None = None) -> None:
        """Serve `version` (after verifying it loads, unless `loaded` is it); the previous one is kept for rollback. A damaged pointer is replaced."""
        if loaded is None or loaded.version != version:
            self.load(version)
        with self._locked():
            pointer = self._repairable_pointer()
            if pointer.version == version and pointer.damage is None:
                return
            previous = [] if pointer.version in (None, version) else [pointer.version]
            self._write_pointer(version, [*pointer.history, *previous])
        log.info("model store %s: now serving version %d", self.root, version)

    def has_previous(self) -> bool:
        """Whether a rollback has a previously served version to go back to (it may still turn out damaged)."""
        return bool(self.pointer().history)

    def rollback(self) -> int:
        """Serve the previously served version again; return it. A damaged pointer is replaced."""
        with self._locked():
            pointer = self._repairable_pointer()
            history = list(pointer.history)
            while history:
                previous = history.pop()
                try:
                    self.load(previous)
                except CorruptVersionError as error:
                    log.error("model store %s: skipping damaged version in rollback: %s", self.root, error)
                    continue
                self._write_pointer(previous, history)
                log.info("model store %s: rolled back from version %s to %d", self.root, pointer.version, previous)
                return previous
        raise StoreError("there is no previous version to roll back to")

    def _repairable_pointer(self) -> Pointer:
        """The pointer, a damaged one read as serving `load_served`'s choice after every older version in turn."""
        pointer = self.pointer()
        if pointer.damage is None:
            return pointer
        served = self.load_served().version
        return Pointer(served, tuple(v for v in self.versions() if v < served), pointer.damage)

    def _write_pointer(self, version: int, history: list[int]) -> None:
        path = self.root / POINTER_FILE
        try:
            if path.is_dir() and not path.is_symlink():
                # A directory cannot be replaced by a file, and what is in it is not ours to delete: set it aside.
                aside = Path(tempfile.mkdtemp(dir=self.root, prefix=f".{POINTER_FILE}.damaged-")) / POINTER_FILE
                os.rename(path, aside)
                log.warning("model store %s: moved the directory %s to %s", self.root, path, aside)
            _write_json_atomically(path, {"version": version, "history": history})
        except OSError as error:
            raise self._not_writable(error) from None
