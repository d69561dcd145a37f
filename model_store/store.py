"""The model store's one interface: integer versions (weights and model card, checked at load), one of them served.

`ModelStore(location)` opens the kind of store the location names, as `Path(...)` gives a `PosixPath`: a folder
(`model_store.folder.FolderStore`, laid out like TensorFlow Serving's) or a `postgresql://` URL
(`model_store.postgres.PostgresStore`, versions as rows). What does not depend on where the versions are lives
here: which version a process serves when the pointer is damaged, promotion and rollback, the pointer's history.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import logging
from collections.abc import AsyncIterator, Callable, Hashable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import h5py
import numpy as np

from model_store.database import DatabaseError, is_database_url, redact
from model_store.locks import Holder, Lock
from network.architecture import ArchitectureSpec, NumpyNetwork, Weights
from network.card import ModelCard

log = logging.getLogger(__name__)

POINTER = "the serving pointer"
_KIND_MODULES = {False: "model_store.folder", True: "model_store.postgres"}  # by is_database_url(location)
TRAINER_LOCK = "trainer"  # the lock every trainer of a store holds for the whole training


class StoreError(RuntimeError):
    """A model store operation failed; the message says why in one line."""


class CorruptVersionError(StoreError):
    """A stored version is damaged (missing pieces, bad checksum, wrong shapes)."""


@dataclass(frozen=True)
class Pointer:
    """The served version (None if nothing was promoted) and those served before it, oldest first.

    `damage` says why the pointer could not be read (then `version` is None and `history` empty).
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


def read_weights(source: Path | bytes, spec: ArchitectureSpec, where: str) -> Weights:
    """Read a Keras 3 `.weights.h5` file (a path, or its bytes) into (kernel, bias) pairs checked against the spec's
    shapes; `where` names it in errors."""
    weights: Weights = []
    try:
        with h5py.File(io.BytesIO(source) if isinstance(source, bytes) else source, "r") as h5:
            for index, (layer, (kernel_shape, bias_shape)) in enumerate(zip(spec.dense_layers(), spec.weight_shapes())):
                # Keras 3 files name each layer by its class in snake case, numbered in order: dense, dense_1, …
                group = h5.get(f"layers/dense{f'_{index}' if index else ''}/vars")
                if group is None:
                    raise CorruptVersionError(f"{where}: no weights for layer {layer.name}")
                kernel, bias = np.asarray(group["0"], np.float32), np.asarray(group["1"], np.float32)
                if kernel.shape != kernel_shape or bias.shape != bias_shape:
                    raise CorruptVersionError(
                        f"{where}: layer {layer.name} has shapes {kernel.shape}/{bias.shape}, "
                        f"the spec needs {kernel_shape}/{bias_shape}"
                    )
                weights.append((kernel, bias))
    except (OSError, KeyError) as error:
        raise CorruptVersionError(f"{where}: unreadable weights ({error})") from None
    return weights


# Writes the pointer inside a backend's pointer transaction: (version, history).
PointerWriter = Callable[[int, list[int]], None]


class ModelStore:
    """Integer versions, one of them served: in a folder or in PostgreSQL, chosen by the location."""

    _kinds: ClassVar[dict[bool, type[ModelStore]]] = {}
    location: str  # where the store is, as people are shown it (a URL without its password)

    def __new__(cls, location: str | Path) -> ModelStore:  # noqa: D102 - as Path(...) picks PosixPath
        if cls is ModelStore:
            if isinstance(location, str) and "://" in location and not is_database_url(location):
                raise StoreError(f"{redact(location)} is neither a folder nor a postgresql:// URL")
            database = is_database_url(location)
            # Each kind registers itself when its module is imported (`__init_subclass__`), and a kind's module is
            # imported by name when a store of that kind is first opened: a folder store never loads the driver.
            importlib.import_module(_KIND_MODULES[database])
            cls = ModelStore._kinds[database]
        return super().__new__(cls)

    def __init_subclass__(cls, *, database: bool, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        ModelStore._kinds[database] = cls

    # -- what each kind of store provides ------------------------------------------------------

    def versions(self) -> list[int]:
        """Every stored version, intact or damaged (`load` tells), oldest first."""
        raise NotImplementedError

    def card(self, version: int) -> ModelCard:
        """A version's model card; CorruptVersionError if it is missing or not a card."""
        raise NotImplementedError

    def pointer(self) -> Pointer:
        """What the serving pointer says; a damaged one reads as nothing promoted, with the damage described."""
        raise NotImplementedError

    def pointer_stamp(self) -> Hashable:
        """Something cheap to compare that changes whenever the pointer does (None when there is none)."""
        raise NotImplementedError

    def load(self, version: int) -> LoadedModel:
        """Load and verify one version: the weights' SHA-256 against the card, then their shapes against the spec."""
        raise NotImplementedError

    def weights_of(self, version: int) -> tuple[bytes, ModelCard]:
        """A verified version's weights file, as bytes, and its card (to copy it into another store)."""
        raise NotImplementedError

    def check_writable(self) -> None:
        """Raise StoreError unless new versions can be written."""
        raise NotImplementedError

    def staging(self) -> contextlib.AbstractContextManager[Path]:
        """A scratch folder for files on their way into the store (a trainer's weights), removed after the block."""
        raise NotImplementedError

    def save(self, weights_file: Path, card: ModelCard, promote: bool = True) -> int:
        """Add a new version from a written Keras weights file and its card; return its number. It appears whole or
        not at all, and concurrent savers get distinct numbers."""
        raise NotImplementedError

    def add(self, version: int, weights: bytes, card: ModelCard) -> None:
        """Store a version under the number it has elsewhere (`copy`); StoreError if that number is taken."""
        raise NotImplementedError

    def _pointer_transaction(self) -> contextlib.AbstractContextManager[tuple[Pointer, PointerWriter]]:
        """The pointer, read under the store's write lock (a damaged one as `_repairable`), and how to replace it."""
        raise NotImplementedError

    def note(self, name: str) -> str | None:
        """The text of a note kept in the store beside the versions (work in progress a start must resume), or None."""
        raise NotImplementedError

    def set_note(self, name: str, text: str | None) -> None:
        """Keep a note in the store under `name` (a dotted file name: `.first-start-upgrade`); None removes it."""
        raise NotImplementedError

    def lock(self, name: str) -> Lock:
        """A lock of this store that every process using it sees (the trainer's: TRAINER_LOCK)."""
        raise NotImplementedError

    def changes(self, interval: float) -> AsyncIterator[None]:
        """Yield whenever the served version may have changed (at most `interval` s after it did)."""
        raise NotImplementedError

    def connect(self) -> None:
        """Make sure the store can be reached (StoreError with one line if not): nothing to do for a folder."""

    def close(self) -> None:
        """Let go of connections (nothing for a folder)."""

    def handover(self) -> tuple[list[str], dict[str, str]]:
        """How a child process (train.py) is told where this store is: its flags and its environment. A folder goes
        on the command line; a URL, which may hold a password, in the environment (`MODEL_STORE`), never in argv."""
        raise NotImplementedError

    # -- the same for every kind ---------------------------------------------------------------

    def current(self) -> int | None:
        """The version the pointer says is served, or None when nothing was promoted; StoreError if it is damaged."""
        pointer = self.pointer()
        if pointer.damage is not None:
            raise StoreError(f"{self.pointer_name} is damaged: {pointer.damage}")
        return pointer.version

    @property
    def pointer_name(self) -> str:
        """How messages name the pointer."""
        return POINTER

    def load_served(self) -> LoadedModel:
        """Load the served version; if it is damaged, the newest intact version instead, saying so.

        Raises StoreError when the store holds no intact version at all.
        """
        model, reason = self.select_served()
        if reason is not None:
            log.warning("model store %s: serving version %d, the newest intact one: %s", self.location, model.version, reason)
        return model

    def select_served(self) -> tuple[LoadedModel, str | None]:
        """The version a process serves: the one the pointer names if it loads, else the newest intact one and why.

        Raises StoreError when the store holds no intact version at all.
        """
        pointer = self.pointer()
        if pointer.damage is not None:
            reason = f"{self.pointer_name} is damaged: {pointer.damage}"
        elif pointer.version is None:
            reason = "nothing is promoted"
        else:
            try:
                return self.load(pointer.version), None
            except CorruptVersionError as error:
                reason = f"{self.pointer_name} names version {pointer.version}, which cannot be served: {error}"
        for version in sorted(self.versions(), reverse=True):
            if version == pointer.version:
                continue
            try:
                return self.load(version), reason
            except CorruptVersionError as error:
                log.error("model store %s: not serving damaged version: %s", self.location, error)
        raise StoreError(f"no trained model in {self.location}: run `python train.py` first")

    def has_previous(self) -> bool:
        """Whether a rollback has a previously served version to go back to (it may still turn out damaged)."""
        return bool(self.pointer().history)

    def promote(self, version: int, loaded: LoadedModel | None = None) -> None:
        """Serve `version` (after verifying it loads, unless `loaded` is it); the previous one is kept for rollback.
        A damaged pointer is replaced."""
        if loaded is None or loaded.version != version:
            self.load(version)
        with self._pointer_transaction() as (pointer, write):
            if pointer.version == version and pointer.damage is None:
                return
            previous = [] if pointer.version in (None, version) else [pointer.version]
            write(version, [*pointer.history, *previous])
        log.info("model store %s: now serving version %d", self.location, version)

    def rollback(self) -> int:
        """Serve the previously served version again; return it. A damaged pointer is replaced."""
        with self._pointer_transaction() as (pointer, write):
            history = list(pointer.history)
            while history:
                previous = history.pop()
                try:
                    self.load(previous)
                except CorruptVersionError as error:
                    log.error("model store %s: skipping damaged version in rollback: %s", self.location, error)
                    continue
                write(previous, history)
                log.info("model store %s: rolled back from version %s to %d", self.location, pointer.version, previous)
                return previous
        raise StoreError("there is no previous version to roll back to")

    def _repairable(self, pointer: Pointer) -> Pointer:
        """A damaged pointer read as serving `load_served`'s choice after every older version in turn."""
        if pointer.damage is None:
            return pointer
        served = self.load_served().version
        return Pointer(served, tuple(v for v in self.versions() if v < served), pointer.damage)

    def restore_pointer(self, version: int, history: list[int]) -> None:
        """Set the pointer as another store has it (`copy`): `version` served, `history` before it."""
        self.load(version)
        with self._pointer_transaction() as (_, write):
            write(version, history)

    def trainer(self) -> Holder | None:
        """Who is training into this store now (None when nobody is)."""
        try:
            return self.lock(TRAINER_LOCK).holder()
        except DatabaseError as error:
            raise StoreError(f"model store: {error}") from None


@contextlib.contextmanager
def opened(location: str | Path) -> Iterator[ModelStore]:
    """A store for the block, closed after it."""
    store = ModelStore(location)
    try:
        yield store
    finally:
        store.close()


def copy_versions(source: ModelStore, target: ModelStore) -> list[str]:
    """`python -m model_store copy`: every intact version of `source` into `target` under its own number, and the
    pointer when `target` serves nothing yet; returns what was done, a line each. Nothing is written when a number
    is taken by other weights. Running it again copies only what is missing."""
    lines, wanted = [], []
    taken = set(target.versions())
    for version in source.versions():
        try:
            weights, card = source.weights_of(version)
        except CorruptVersionError as error:
            lines.append(f"skipped version {version}: {error}")
            continue
        if version in taken:
            if target.card(version).weights_sha256 != card.weights_sha256:
                raise StoreError(f"version {version} exists in {target.location} with other weights: nothing copied")
            lines.append(f"version {version} is already there")
        else:
            wanted.append((version, weights, card))
    for version, weights, card in wanted:
        target.add(version, weights, card)
        lines.append(f"copied version {version}")
    pointer = source.pointer()
    if target.pointer().version is None and pointer.version is not None:
        copied = set(target.versions())
        if pointer.version in copied:
            target.restore_pointer(pointer.version, [v for v in pointer.history if v in copied])
            lines.append(f"{target.location} serves version {pointer.version}, as {source.location} does")
    elif pointer.version is not None:
        lines.append(f"{target.location} still serves version {target.current()} (promote another with: "
                     f"python -m model_store --store DST promote N)")
    return lines
