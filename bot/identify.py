"""Starting sessions in Discord's order across every process of the bot.

Discord allows one IDENTIFY per bucket per 5 seconds, the bucket being `shard_id % max_concurrency`; an early one
is answered with Invalid Session (discord-api-docs, events/gateway › Rate Limiting, Session Start Limit Object ›
max_concurrency). Every process of the bot shares those buckets, so each shard's IDENTIFY waits for its bucket's lock,
which every process can see (`IdentifyLock`), and the lock is released `interval` seconds after Discord answered with
READY (or, failing that, `interval` seconds after a later try): the next holder may identify at once.

`IdentifyLock` is the one thing a new place to keep the lock needs: `FileIdentifyLock` (a file per bucket beside the
model store, for processes on one machine) here; a PostgreSQL advisory lock for several machines.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Protocol

from filelock import AsyncFileLock

log = logging.getLogger(__name__)

# Discord: one IDENTIFY per bucket per 5 s (events/gateway › Rate Limiting).
IDENTIFY_INTERVAL = 5.0
# If READY never comes (a dropped connection, a refused IDENTIFY), the bucket is released this long after the
# IDENTIFY: discord.py tries again with a new IDENTIFY, which waits its turn like any other.
READY_TIMEOUT = 30.0


class IdentifyLock(Protocol):
    """A lock per identify bucket that every process of the bot sees.

    `acquire(bucket)` returns once this process holds the bucket's lock (waiting as long as another holds it);
    `release(bucket)` gives it back; a process that dies releases what it held. Within one process, callers take
    each bucket once at a time (`IdentifyGate` does), so an implementation need not be reentrant or thread-safe.
    """

    async def acquire(self, bucket: int) -> None: ...

    async def release(self, bucket: int) -> None: ...

    async def close(self) -> None: ...


class FileIdentifyLock:
    """`IdentifyLock` as one lock file per bucket in `folder` (flock: released by the kernel when a process dies)."""

    POLL = 0.01  # seconds between tries while another process holds the lock

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._held: dict[int, AsyncFileLock] = {}

    def path(self, bucket: int) -> Path:
        return self.folder / f".identify-{bucket}.lock"

    async def acquire(self, bucket: int) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        lock = AsyncFileLock(self.path(bucket), is_singleton=False)
        await lock.acquire(poll_interval=self.POLL)
        self._held[bucket] = lock

    async def release(self, bucket: int) -> None:
        lock = self._held.pop(bucket, None)
        if lock is not None:
            await lock.release()

    async def close(self) -> None:
        for bucket in list(self._held):
            await self.release(bucket)


def file_lock_beside(store: Path) -> FileIdentifyLock:
    """The identify lock of every bot process serving `store` on this machine: its files in the store's folder, or,
    when that folder is read-only, in a temporary folder named after the store's path."""
    try:
        store.mkdir(parents=True, exist_ok=True)
        writable = os.access(store, os.W_OK)
    except OSError:
        writable = False
    if writable:
        return FileIdentifyLock(store)
    name = hashlib.sha256(str(store.resolve()).encode()).hexdigest()[:16]
    return FileIdentifyLock(Path(tempfile.gettempdir()) / f"digitbot-identify-{name}")


class IdentifyGate:
    """discord.py's `before_identify_hook` and READY, turned into turns per bucket under an `IdentifyLock`."""

    def __init__(self, lock: IdentifyLock, interval: float = IDENTIFY_INTERVAL) -> None:
        self.lock = lock
        self.interval = interval
        self.max_concurrency = 1  # from /gateway/bot's session_start_limit, once logged in
        self._turns: dict[int, asyncio.Lock] = {}  # one turn at a time per bucket within this process
        self._holding: dict[int, tuple[int, float]] = {}  # shard id → (bucket, when it last identified)
        self._releases: dict[int, asyncio.Task[None]] = {}  # bucket → its release, once scheduled

    def bucket(self, shard_id: int) -> int:
        return shard_id % self.max_concurrency

    async def before_identify(self, shard_id: int) -> None:
        """Wait until this shard's bucket is ours and its interval has passed; the IDENTIFY follows at once."""
        if shard_id in self._holding:  # the last IDENTIFY got no READY: keep the turn, keep the interval
            bucket, last = self._holding[shard_id]
            self._cancel_release(bucket)
            await asyncio.sleep(max(0.0, last + self.interval - time.monotonic()))
        else:
            bucket = self.bucket(shard_id)
            turn = self._turns.setdefault(bucket, asyncio.Lock())
            await turn.acquire()
            try:
                await self.lock.acquire(bucket)
            except BaseException:
                turn.release()
                raise
        self._holding[shard_id] = (bucket, time.monotonic())
        self._schedule_release(shard_id, bucket, READY_TIMEOUT)

    def ready(self, shard_id: int) -> None:
        """Discord answered this shard's IDENTIFY: its bucket is free for the next one `interval` seconds from now."""
        if shard_id in self._holding:
            bucket, _ = self._holding[shard_id]
            self._schedule_release(shard_id, bucket, self.interval)

    def _schedule_release(self, shard_id: int, bucket: int, delay: float) -> None:
        self._cancel_release(bucket)
        self._releases[bucket] = asyncio.create_task(self._release_after(shard_id, bucket, delay),
                                                     name=f"identify bucket {bucket}")

    def _cancel_release(self, bucket: int) -> None:
        task = self._releases.pop(bucket, None)
        if task is not None:
            task.cancel()

    async def _release_after(self, shard_id: int, bucket: int, delay: float) -> None:
        await asyncio.sleep(delay)
        self._releases.pop(bucket, None)
        self._holding.pop(shard_id, None)
        await self.lock.release(bucket)
        self._turns[bucket].release()

    async def close(self) -> None:
        for task in list(self._releases.values()):
            task.cancel()
        self._releases.clear()
        await self.lock.close()
