"""The model store in a folder, laid out like TensorFlow Serving's (the default, for one machine).

    <store>/<version>/model.weights.h5   the Keras weights file
    <store>/<version>/model.json         its model card (network.card): spec, training, metrics, SHA-256 of the weights
    <store>/SERVING                      {"version": N, "history": [...]}: the served version

A version is written in a hidden temporary folder and renamed into place, so it appears
whole or not at all; the serving pointer is replaced atomically. Loading checks the
weights' SHA-256 and shapes, and never serves a damaged version. One trainer at a time: the trainer lock is a
file lock in the folder (`.trainer.lock`).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import hashlib
import json
import logging
import os
import shutil
import stat
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from model_store.files import atomic_write, sha256_file
from model_store.locks import FileLock, Lock
from model_store.store import (
    CorruptVersionError,
    LoadedModel,
    ModelStore,
    Pointer,
    PointerWriter,
    StoreError,
    read_weights,
)
from network.card import CardError, ModelCard

log = logging.getLogger(__name__)

WEIGHTS_FILE = "model.weights.h5"
METADATA_FILE = "model.json"
POINTER_FILE = "SERVING"
LOCK_FILE = ".lock"
STAGING_PREFIX = ".staging-"
# Inside a staging folder: locked by the process using the folder, for as long as it does.
IN_USE_FILE = ".in-use"


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


class FolderStore(ModelStore, database=False):
    """Integer versions under one folder, one of them served."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.location = str(self.root)

    @property
    def pointer_name(self) -> str:
        return POINTER_FILE

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

    def load(self, version: int) -> LoadedModel:
        """Load and verify one version: checksum of the weights, then their shapes against the spec."""
        card = self.card(version)
        weights_path = self.root / str(version) / WEIGHTS_FILE
        if not weights_path.is_file():
            raise CorruptVersionError(f"version {version}: {WEIGHTS_FILE} is missing")
        if sha256_file(weights_path) != card.weights_sha256:
            raise CorruptVersionError(f"version {version}: {WEIGHTS_FILE} does not match its SHA-256 (corrupted or truncated)")
        return LoadedModel(version, read_weights(weights_path, card.architecture, str(weights_path)), card)

    def weights_of(self, version: int) -> tuple[bytes, ModelCard]:
        model = self.load(version)
        return (self.root / str(version) / WEIGHTS_FILE).read_bytes(), model.card

    async def changes(self, interval: float) -> AsyncIterator[None]:
        """Polls the pointer file every `interval` seconds (stat only: cheap, never blocking)."""
        seen = await asyncio.to_thread(self.pointer_stamp)
        while True:
            await asyncio.sleep(interval)
            stamp = await asyncio.to_thread(self.pointer_stamp)
            if stamp != seen:
                seen = stamp
                yield

    def note(self, name: str) -> str | None:
        try:
            return (self.root / name).read_text()
        except FileNotFoundError:
            return None
        except OSError as error:
            raise StoreError(f"cannot read {self.root / name}: {error.strerror or error}") from None

    def set_note(self, name: str, text: str | None) -> None:
        """A hidden file in the folder (never a version: versions are numbered folders)."""
        if not name.startswith("."):
            raise ValueError(f"a note's name starts with a dot, not {name!r}")
        try:
            if text is None:
                (self.root / name).unlink(missing_ok=True)
            else:
                with atomic_write(self.root / name) as out:
                    out.write(text.encode())
        except OSError as error:
            raise self._not_writable(error) from None

    def lock(self, name: str) -> Lock:
        """A file lock in the folder; when the folder is read-only (a bot may serve a store it cannot write), in a
        temporary folder named after it, which every process serving it on this machine finds as well."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            writable = os.access(self.root, os.W_OK)
        except OSError:
            writable = False
        if writable:
            return FileLock(self.root, name)
        name_of_root = hashlib.sha256(str(self.root.resolve()).encode()).hexdigest()[:16]
        return FileLock(Path(tempfile.gettempdir()) / f"digitbot-locks-{name_of_root}", name)

    def handover(self) -> tuple[list[str], dict[str, str]]:
        return ["--store", str(self.root)], {}

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
            read_weights(staging / WEIGHTS_FILE, card.architecture, str(staging / WEIGHTS_FILE))  # refuse what the spec cannot load
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

    def add(self, version: int, weights: bytes, card: ModelCard) -> None:
        with self.staging() as staging:
            (staging / WEIGHTS_FILE).write_bytes(weights)
            read_weights(staging / WEIGHTS_FILE, card.architecture, f"version {version}")
            _write_json_atomically(staging / METADATA_FILE, card.with_weights_sha256(sha256_file(staging / WEIGHTS_FILE)).to_json())
            with self._locked():
                (staging / IN_USE_FILE).unlink()
                try:
                    os.rename(staging, self.root / str(version))
                except OSError as error:
                    if error.errno in (errno.EEXIST, errno.ENOTEMPTY):
                        raise StoreError(f"version {version} already exists in {self.root}") from None
                    raise self._not_writable(error) from None

    @contextlib.contextmanager
    def _pointer_transaction(self) -> Iterator[tuple[Pointer, PointerWriter]]:
        with self._locked():
            yield self._repairable(self.pointer()), self._write_pointer

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
