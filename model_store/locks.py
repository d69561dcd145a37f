"""Locks every process of a bot sees: the trainer's (one training at a time) and the gateway's identify turns.

    lock = open_lock(location, "trainer")        # a folder, or a postgresql:// URL
    with lock.held("alice's !retrain"):          # LockBusy (saying who holds it) if another process does
        ...
    await lock.acquire_async("shard 3", timeout=30)   # waits its turn without blocking the event loop
    lock.release()
    lock.holder()                                # Holder(who, since, process) or None

On one machine the lock is a file in the folder (`flock`, `.NAME.lock`); across machines it is a PostgreSQL
session advisory lock. Either way a process that dies, however it dies, lets go of it (the kernel closes the
file, the server ends the session), and whoever holds it is written beside it, so that others can say who.
A `Lock` object is one process's handle: not re-entrant, and used by one holder at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import json
import os
import socket
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, TYPE_CHECKING

from model_store.database import DatabaseError, connect, is_database_url, migrate, redact, statements

if TYPE_CHECKING:  # the driver is imported by the advisory lock only: a file lock never loads it
    import psycopg

POLL_SECONDS = 0.05  # how often a waiting acquire tries again
_ADVISORY_SPACE = 0x64627401  # the first key of our two-int advisory locks; the second is a hash of the name


@dataclass(frozen=True)
class Holder:
    """Who holds a lock: what they said they are doing, since when (UTC), and which process (`host:pid`)."""

    who: str
    since: datetime
    process: str

    def describe(self) -> str:
        return f"{self.who}, since {self.since:%Y-%m-%d %H:%M:%S} UTC, on process {self.process}"


class LockBusy(RuntimeError):
    """Another process holds the lock; `holder` is who (None if it could not be told)."""

    def __init__(self, name: str, holder: Holder | None) -> None:
        self.holder = holder
        super().__init__(f"the {name} lock is held by {holder.describe() if holder else 'another process'}: "
                         f"one at a time")


def this_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Lock:
    """A named lock shared by every process using the same folder or database."""

    def __init__(self, name: str) -> None:
        self.name = name

    def try_acquire(self, who: str) -> bool:
        """Take the lock if it is free (recording `who` holds it); False at once if another process holds it."""
        raise NotImplementedError

    def release(self) -> None:
        """Let go of the lock (nothing if this handle does not hold it)."""
        raise NotImplementedError

    def holder(self) -> Holder | None:
        """Who holds the lock now; None when it is free."""
        raise NotImplementedError

    def acquire(self, who: str, timeout: float = 0.0) -> None:
        """Take the lock, waiting up to `timeout` seconds for it; LockBusy (naming the holder) after that."""
        deadline = time.monotonic() + timeout
        while not self.try_acquire(who):
            if time.monotonic() >= deadline:
                holder = self.holder()
                self.release()  # (what a handle keeps while it waits)
                raise LockBusy(self.name, holder)
            time.sleep(POLL_SECONDS)

    async def acquire_async(self, who: str, timeout: float | None = None) -> None:
        """`acquire` for an event loop: waits (forever when `timeout` is None) without blocking it; cancellable."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        try:
            while not await asyncio.to_thread(self.try_acquire, who):
                if deadline is not None and loop.time() >= deadline:
                    raise LockBusy(self.name, await asyncio.to_thread(self.holder))
                await asyncio.sleep(POLL_SECONDS)
        except BaseException:  # LockBusy, or cancelled while waiting: let go of what the handle keeps meanwhile
            await asyncio.to_thread(self.release)
            raise

    @contextlib.contextmanager
    def held(self, who: str, timeout: float = 0.0) -> Iterator[None]:
        """The lock for the duration of the block."""
        self.acquire(who, timeout)
        try:
            yield
        finally:
            self.release()


class FileLock(Lock):
    """`flock` on `<folder>/.NAME.lock`, which holds the holder as JSON while it is held (one machine)."""

    def __init__(self, folder: Path, name: str) -> None:
        super().__init__(name)
        self.path = folder / f".{name}.lock"
        self._file: IO[str] | None = None
        self._guard = threading.Lock()

    def try_acquire(self, who: str) -> bool:
        with self._guard:
            if self._file is not None:
                raise RuntimeError(f"the {self.name} lock is already held by this handle")
            self.path.parent.mkdir(parents=True, exist_ok=True)
            file = open(self.path, "a+")
            try:
                fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as error:
                file.close()
                if error.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                    return False
                raise
            file.truncate(0)
            file.write(json.dumps({"who": who, "since": datetime.now(timezone.utc).isoformat(), "process": this_process()}))
            file.flush()
            self._file = file
            return True

    def release(self) -> None:
        with self._guard:
            if self._file is None:
                return
            self._file.truncate(0)  # a released lock names nobody (a killed holder's stale name is ignored: see holder)
            self._file.close()  # closing lets go of the flock
            self._file = None

    def holder(self) -> Holder | None:
        try:
            file = open(self.path)
        except FileNotFoundError:
            return None
        with file:
            try:
                fcntl.flock(file, fcntl.LOCK_SH | fcntl.LOCK_NB)  # granted only while nobody holds it exclusively
                return None
            except OSError as error:
                if error.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                    raise
            return _holder_from(file.read())


def _holder_from(text: str) -> Holder | None:
    try:
        data = json.loads(text)
        return Holder(str(data["who"]), datetime.fromisoformat(data["since"]), str(data["process"]))
    except (ValueError, KeyError, TypeError):
        return None  # held, but the holder has not written its name yet


_LOCKS_SCHEMA = (statements("""CREATE TABLE digitbot_locks (
    name text PRIMARY KEY,
    who text NOT NULL,
    since timestamptz NOT NULL,
    process text NOT NULL,
    backend integer NOT NULL)"""),)


class AdvisoryLock(Lock):
    """A PostgreSQL session advisory lock, held on a connection of its own; the holder is a row of `digitbot_locks`.

    The server lets go of it when the holder's session ends: a killed process, or a lost connection.
    """

    def __init__(self, url: str, name: str) -> None:
        super().__init__(name)
        self.url = url
        self.key = (_ADVISORY_SPACE, zlib.crc32(name.encode()) - 2**31)
        self._connection: psycopg.Connection[tuple[object, ...]] | None = None  # kept between tries while waiting
        self._held = False
        self._guard = threading.Lock()

    def _connected(self) -> psycopg.Connection[tuple[object, ...]]:
        if self._connection is None or self._connection.closed:
            connection = connect(self.url, f"lock {self.name}")
            try:
                migrate(connection, "locks", _LOCKS_SCHEMA, lambda version: (
                    f"the locks in {redact(self.url)} have schema version {version}, newer than this code's "
                    f"{len(_LOCKS_SCHEMA)}: update it"))
            except BaseException:
                connection.close()
                raise
            self._connection = connection
        return self._connection

    def try_acquire(self, who: str) -> bool:
        import psycopg

        with self._guard:
            if self._held:
                raise RuntimeError(f"the {self.name} lock is already held by this handle")
            connection = self._connected()
            try:
                row = connection.execute("SELECT pg_try_advisory_lock(%s, %s)", self.key).fetchone()
                if not row or not row[0]:
                    return False
                connection.execute(
                    "INSERT INTO digitbot_locks (name, who, since, process, backend) "
                    "VALUES (%s, %s, now(), %s, pg_backend_pid()) ON CONFLICT (name) DO UPDATE SET who = excluded.who, "
                    "since = excluded.since, process = excluded.process, backend = excluded.backend",
                    (self.name, who, this_process()))
            except psycopg.Error as error:
                connection.close()  # whatever it held goes with its session
                self._connection = None
                raise DatabaseError(f"the {self.name} lock in {redact(self.url)}: {error}".splitlines()[0]) from None
            self._held = True
            return True

    def release(self) -> None:
        with self._guard:
            connection, self._connection, self._held = self._connection, None, False
        if connection is not None:
            connection.close()  # ending the session lets go of its advisory locks

    def holder(self) -> Holder | None:
        with connect(self.url, f"lock {self.name}") as connection:
            row = connection.execute(
                "SELECT l.who, l.since, l.process, true FROM pg_locks p LEFT JOIN digitbot_locks l "
                "ON l.name = %s AND l.backend = p.pid WHERE p.locktype = 'advisory' AND p.granted "
                "AND p.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                "AND p.classid = %s::integer::oid AND p.objid = %s::integer::oid AND p.objsubid = 2",
                (self.name, self.key[0], self.key[1])).fetchone() if _has_locks_table(connection) else None
        if row is None:
            return None
        who, since, process, _ = row
        if who is None:  # held by a session that has not written its name yet
            return Holder("another process", datetime.now(timezone.utc), "?")
        assert isinstance(since, datetime)
        return Holder(str(who), since.astimezone(timezone.utc), str(process))


def _has_locks_table(connection: psycopg.Connection[tuple[object, ...]]) -> bool:
    row = connection.execute("SELECT to_regclass('digitbot_locks') IS NOT NULL").fetchone()
    return bool(row and row[0])


def open_lock(location: str | Path, name: str) -> Lock:
    """The lock `name` of a folder (a file lock in it) or of a PostgreSQL database (an advisory lock)."""
    if isinstance(location, str) and is_database_url(location):
        return AdvisoryLock(location, name)
    return FileLock(Path(location), name)
