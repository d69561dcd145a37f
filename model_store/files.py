"""Files written whole or not at all, and their SHA-256: used by the MNIST cache and the model store."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

CHUNK = 1 << 20


def sha256_stream(stream: BinaryIO) -> str:
    """SHA-256 of everything left in a binary stream."""
    digest = hashlib.sha256()
    while chunk := stream.read(CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def sha256_file(path: Path) -> str:
    with open(path, "rb") as stream:
        return sha256_stream(stream)


@contextlib.contextmanager
def atomic_write(path: Path) -> Iterator[BinaryIO]:
    """Write `path` through a temporary file beside it, renamed into place only if the block succeeds.

    Readers see the old file or the complete new one, never a part; the file is made readable
    by other users (the bot may run as another user than the trainer).
    """
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", suffix=".part", delete=False) as tmp:
        try:
            yield tmp  # type: ignore[misc]
            tmp.flush()
            os.fsync(tmp.fileno())
            os.fchmod(tmp.fileno(), 0o644)
        except BaseException:
            os.unlink(tmp.name)
            raise
    os.replace(tmp.name, path)
