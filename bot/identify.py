"""Starting sessions in Discord's order across every process of the bot.

Discord allows one IDENTIFY per bucket per 5 seconds, the bucket being `shard_id % max_concurrency`; an early one
is answered with Invalid Session (discord-api-docs, events/gateway › Rate Limiting, Session Start Limit Object ›
max_concurrency). Every process of the bot shares those buckets, so each shard's IDENTIFY waits for its bucket's lock,
which every process can see, and the lock is released `interval` seconds after Discord answered with
READY (or, failing that, `interval` seconds after a later try): the next holder may identify at once.

The lock is the model store's (`ModelStore.lock`, one per bucket, `identify-N`): every process of the bot uses the
same store, so a folder store gives a file lock in it (processes on one machine) and a PostgreSQL store an advisory
lock in its database (processes on several machines). Either way a process that dies lets go of what it held.
"""

from __future__ import annotations

import asyncio
import logging
import time

from model_store import DatabaseError, Lock, ModelStore

log = logging.getLogger(__name__)

# Discord: one IDENTIFY per bucket per 5 s (events/gateway › Rate Limiting).
IDENTIFY_INTERVAL = 5.0
# If READY never comes (a dropped connection, a refused IDENTIFY), the bucket is released this long after the
# IDENTIFY: discord.py tries again with a new IDENTIFY, which waits its turn like any other.
READY_TIMEOUT = 30.0
DATABASE_RETRY = 1.0  # seconds between tries while the database holding the locks cannot be reached


class IdentifyGate:
    """discord.py's `before_identify_hook` and READY, turned into turns per bucket under the store's locks."""

    def __init__(self, store: ModelStore, interval: float = IDENTIFY_INTERVAL) -> None:
        self.store = store
        self.interval = interval
        self.max_concurrency = 1  # from /gateway/bot's session_start_limit, once logged in
        self._turns: dict[int, asyncio.Lock] = {}  # one turn at a time per bucket within this process
        self._holding: dict[int, tuple[int, float]] = {}  # shard id → (bucket, when it last identified)
        self._releases: dict[int, asyncio.Task[None]] = {}  # bucket → its release, once scheduled
        self._locks: dict[int, Lock] = {}  # bucket → this process's handle on its lock

    def lock(self, bucket: int) -> Lock:
        """The lock of a bucket, which every process of the bot sees."""
        if bucket not in self._locks:
            self._locks[bucket] = self.store.lock(f"identify-{bucket}")
        return self._locks[bucket]

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
                await self._take(self.lock(bucket), shard_id)
            except BaseException:
                turn.release()
                raise
        self._holding[shard_id] = (bucket, time.monotonic())
        self._schedule_release(shard_id, bucket, READY_TIMEOUT)

    async def _take(self, lock: Lock, shard_id: int) -> None:
        """Wait for the bucket's lock; while the database holding it cannot be reached, wait for the database too
        (a shard reconnecting during an outage starts once it is back, instead of failing)."""
        while True:
            try:
                return await lock.acquire_async(f"shard {shard_id}'s IDENTIFY")
            except DatabaseError as error:
                log.warning("shard %d waits to start its session: %s; trying again in %g s", shard_id, error,
                            DATABASE_RETRY)
                await asyncio.sleep(DATABASE_RETRY)

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
        await asyncio.to_thread(self.lock(bucket).release)
        self._turns[bucket].release()

    async def close(self) -> None:
        for task in list(self._releases.values()):
            task.cancel()
        self._releases.clear()
        for lock in self._locks.values():
            await asyncio.to_thread(lock.release)
