"""A versioned model store laid out like TensorFlow Serving's.

    <store>/<version>/model.weights.h5   the Keras weights file
    <store>/<version>/model.json         its model card (digits.card): spec, training, metrics, SHA-256 of the weights
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
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from digits.card import CardError, ModelCard
from digits.files import atomic_write, sha256_file
from digits.network import ArchitectureSpec, NumpyNetwork, Weights

log = logging.getLogger(__name__)

WEIGHTS_FILE = "model.weights.h5"
METADATA_FILE = "model.json"
POINTER_FILE = "SERVING"
LOCK_FILE = ".lock"


class StoreError(RuntimeError):
    """A model store operation failed; the message says why in one line."""


class CorruptVersionError(StoreError):
    """A version on disk is damaged (missing files, bad checksum, wrong shapes)."""


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
        return sorted(int(p.name) for p in self.root.iterdir() if p.name.isdigit() and p.is_dir())

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

    def _pointer(self) -> dict[str, Any]:
        try:
            pointer = json.loads((self.root / POINTER_FILE).read_text())
            return {"version": int(pointer["version"]), "history": [int(v) for v in pointer.get("history", [])]}
        except FileNotFoundError:
            return {"version": None, "history": []}
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise StoreError(f"{self.root / POINTER_FILE} is unreadable ({error})") from None

    def pointer_stamp(self) -> bytes | None:
        """The serving pointer's raw bytes (None when there is none): cheap to compare, to notice a switch."""
        try:
            return (self.root / POINTER_FILE).read_bytes()
        except OSError:
            return None

    def current(self) -> int | None:
        """The version the pointer says is served, or None when nothing was promoted."""
        return self._pointer()["version"]

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
        current = self.current()
        candidates = sorted(self.versions(), reverse=True)
        if current is not None:
            candidates = [current] + [v for v in candidates if v != current]
        for version in candidates:
            try:
                model = self.load(version)
            except CorruptVersionError as error:
                log.error("model store %s: not serving damaged version: %s", self.root, error)
                continue
            if version != current:
                log.warning("model store %s: serving version %d instead of %s", self.root, version, current)
            return model
        raise StoreError(f"no trained model in {self.root}: run `python train.py` first")

    # -- writing -------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / LOCK_FILE, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def check_writable(self) -> None:
        """Raise StoreError unless new versions can be written under the root."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=self.root):
                pass
        except OSError as error:
            raise StoreError(f"model store {self.root} is not writable ({error.strerror or error})") from None

    def save(self, weights_file: Path, card: ModelCard, promote: bool = True) -> int:
        """Add a new version from a written Keras weights file and its model card; return its number.

        The version folder is assembled under a hidden name and renamed into place, so a crash
        leaves no visible version, and two concurrent savers always get distinct numbers.
        """
        self.check_writable()
        staging = Path(tempfile.mkdtemp(dir=self.root, prefix=".staging-"))
        try:
            staging.chmod(0o755)  # mkdtemp makes it private; the bot may run as another user than the trainer
            shutil.copyfile(weights_file, staging / WEIGHTS_FILE)
            read_weights(staging / WEIGHTS_FILE, card.architecture)  # refuse to store weights the spec cannot load
            card = card.with_weights_sha256(sha256_file(staging / WEIGHTS_FILE))
            _write_json_atomically(staging / METADATA_FILE, card.to_json())
            for path in (staging / WEIGHTS_FILE, staging):
                fd = os.open(path, os.O_RDONLY)
                os.fsync(fd)
                os.close(fd)
            version = self._claim_version(staging)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        log.info("model store %s: saved version %d", self.root, version)
        if promote:
            self.promote(version)
        return version

    def _claim_version(self, staging: Path) -> int:
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
        """Serve `version` (after verifying it loads, unless `loaded` is it); the previous one is remembered for rollback."""
        if loaded is None or loaded.version != version:
            self.load(version)
        with self._locked():
            pointer = self._pointer()
            if pointer["version"] == version:
                return
            history = pointer["history"] + ([pointer["version"]] if pointer["version"] is not None else [])
            _write_json_atomically(self.root / POINTER_FILE, {"version": version, "history": history})
        log.info("model store %s: now serving version %d", self.root, version)

    def has_previous(self) -> bool:
        """Whether a rollback has a previously served version to go back to (it may still turn out damaged)."""
        return bool(self._pointer()["history"])

    def rollback(self) -> int:
        """Serve the previously served version again; return it."""
        with self._locked():
            pointer = self._pointer()
            history = list(pointer["history"])
            while history:
                previous = history.pop()
                try:
                    self.load(previous)
                except CorruptVersionError as error:
                    log.error("model store %s: skipping damaged version in rollback: %s", self.root, error)
                    continue
                _write_json_atomically(self.root / POINTER_FILE, {"version": previous, "history": history})
                log.info("model store %s: rolled back from version %s to %d", self.root, pointer["version"], previous)
                return previous
        raise StoreError("there is no previous version to roll back to")
