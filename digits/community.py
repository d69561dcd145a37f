"""Community corrections: members say what a digit really is; the votes are kept for the next retrain, in SQLite on
one machine or in PostgreSQL for a bot on several (`BOT_DATABASE=postgresql://…`).

Per correction the database keeps the 28×28 input the model saw (not the picture), the label, who (the voter and
the picture's author), where (guild, channel and message ids, the digit's position), the model version that
answered and what it answered, and when. Nothing else. Rows stay until removed (`remove`, `purge`, `forget`),
and removal deletes them.

`Corrections` is the bot's (writer's) handle; every write is one transaction, on disk before it returns, so an
acknowledged vote survives a killed process. Both backends have the same schema and the same migrations (SQLite
keeps its version in `PRAGMA user_version`, PostgreSQL in `digitbot_schema`). SQLite: one connection behind a
lock, WAL journal, `synchronous=FULL`. PostgreSQL: a pool, safe with any number of bot processes voting at once.
The trainer reads with `accepted_examples`, read-only, while the bot writes. TensorFlow-free.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import os
import sqlite3
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import psycopg

from model_store import database
from model_store.database import (
    DatabaseError,
    connect,
    is_database_url,
    location_text,
    migrate,
    open_pool,
    redact,
    statements,
    transaction,
)

log = logging.getLogger(__name__)

DEFAULT_QUORUM = 2
DEFAULT_DATABASE = Path("data/digitbot.sqlite3")
TEST_SHARE_PERCENT = 25  # contributors (by a hash of their id) whose examples form the community test set
RATE_WINDOW_SECONDS = 3600.0
VOTES_PER_HOUR = 30  # per member, within RATE_WINDOW_SECONDS (admins are not limited)
ERASE_RETRY_SECONDS = 1.0  # how often emptying SQLite's WAL after a deletion is tried again while a reader holds it
POOL_SIZE = 4  # PostgreSQL connections per bot process (votes run on a few threads at most)
ERASE_LOCK_MS = 1000  # how long a deletion's table rewrite waits for readers before it settles for a plain VACUUM
_VOTER_LOCK_SPACE = 0x64627402  # first key of the advisory locks that serialize one voter's rate check


class CommunityError(Exception):
    """Something about corrections went wrong; the message is a polite sentence for the user."""


class RateLimited(CommunityError):
    """A member sent more corrections than `votes_per_hour` within the last hour."""


@dataclass(frozen=True)
class AnsweredDigit:
    """One digit the bot answered, as a correction needs it."""

    guild_id: int | None
    channel_id: int
    message_id: int  # the bot's reply carrying the answer
    position: int  # which digit of the number, 0 for a single digit
    author_id: int  # who posted the picture: whose handwriting it is
    image: np.ndarray  # the 28×28 input the model saw (float32 0..1, white on black, MNIST convention)
    model_version: int
    predicted: int


@dataclass(frozen=True)
class VoteOutcome:
    example_id: int
    label: int  # the label this vote gave
    status: str  # "pending" | "accepted" | "disputed"
    agreeing: int  # votes for the leading label
    disagreeing: int  # votes for any other label


@dataclass(frozen=True)
class Standing:
    """Where the votes on one example stand (`trust`)."""

    status: str  # "pending" | "accepted" | "disputed"
    label: int | None  # the leading label (the admin's, once confirmed); None without votes
    agreeing: int
    disagreeing: int


@dataclass(frozen=True)
class Ballot:
    label: int
    admin: bool


def trust(ballots: Iterable[Ballot], quorum: int) -> Standing:
    """The trust rule, in one place.

    - An admin's vote confirms: accepted with the label of the last admin vote (ballots in the order cast).
    - Otherwise accepted when the leading label has at least `quorum` votes and every other label strictly fewer.
    - Otherwise disputed when the votes name more than one label, pending when they name one (or none).
    """
    ballots = list(ballots)
    counts = Counter(b.label for b in ballots)
    admin_labels = [b.label for b in ballots if b.admin]
    if not counts:
        return Standing("pending", None, 0, 0)
    ranked = counts.most_common()
    label = admin_labels[-1] if admin_labels else ranked[0][0]
    agreeing = counts[label]
    disagreeing = len(ballots) - agreeing
    runner_up = ranked[1][1] if len(ranked) > 1 else 0
    if admin_labels or (agreeing >= quorum and runner_up < agreeing):
        return Standing("accepted", label, agreeing, disagreeing)
    return Standing("disputed" if len(counts) > 1 else "pending", label, agreeing, disagreeing)


@dataclass(frozen=True)
class ExampleView:
    """One example as the admins' picture grid shows it."""

    id: int
    image: np.ndarray  # 28×28 float32 0..1
    label: int | None
    status: str
    votes: int


@dataclass(frozen=True)
class CorrectionsSummary:
    pending: int
    accepted: int
    disputed: int
    votes: int
    contributors: int  # distinct voters
    agreement: float | None  # votes for their example's leading label / all votes; None without votes
    latest: tuple[ExampleView, ...]  # most recently voted first


@dataclass(frozen=True)
class CommunityData:
    """Accepted examples as MNIST's arrays (uint8 28×28, labels uint8), split by contributor."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray


# The schema, written once for both backends: `{id}`, `{bigint}`, `{bytes}` and `{real}` are each backend's types.
# MIGRATIONS[n] takes a database from version n to n + 1 (version 0 is an empty database).
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE examples (
            id {id},
            guild_id {bigint},
            channel_id {bigint} NOT NULL,
            message_id {bigint} NOT NULL,
            position INTEGER NOT NULL,
            author_id {bigint} NOT NULL,
            image {bytes} NOT NULL CHECK (length(image) = 784),
            model_version INTEGER NOT NULL,
            predicted INTEGER NOT NULL,
            created {real} NOT NULL,
            UNIQUE (message_id, position))""",
        """CREATE TABLE votes (
            id {id},
            example_id {bigint} NOT NULL REFERENCES examples (id) ON DELETE CASCADE,
            voter_id {bigint} NOT NULL,
            label INTEGER NOT NULL CHECK (label BETWEEN 0 AND 9),
            created {real} NOT NULL,
            UNIQUE (example_id, voter_id))""",
        "CREATE INDEX examples_author ON examples (author_id)",
    ),
    # Version 2: admin votes confirm an example; the rate limit reads a voter's recent votes through an index.
    (
        "ALTER TABLE votes ADD COLUMN admin INTEGER NOT NULL DEFAULT 0",
        "CREATE INDEX votes_voter ON votes (voter_id, created)",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)
SQLITE_TYPES = {"id": "INTEGER PRIMARY KEY", "bigint": "INTEGER", "bytes": "BLOB", "real": "REAL"}
POSTGRESQL_TYPES = {"id": "bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", "bigint": "bigint", "bytes": "bytea",
                    "real": "double precision"}
PART = "corrections"  # the corrections' row in a PostgreSQL database's digitbot_schema


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def __iter__(self) -> Iterator[Any]: ...


class Executor(Protocol):
    """One transaction's way to run SQL, written with `?` placeholders on both backends."""

    def execute(self, sql: str, parameters: Sequence[object] = ()) -> Cursor: ...


def _newer(where: str, version: int) -> CommunityError:
    return CommunityError(f"The corrections database {where} has schema version {version}, newer than this bot's "
                          f"{SCHEMA_VERSION}: update the bot.")


class _Backend(Protocol):
    where: str

    def transaction(self) -> contextlib.AbstractContextManager[Executor]: ...
    def schema_version(self, db: Executor) -> int: ...
    def serialize_voter(self, db: Executor, voter_id: int) -> None: ...
    def erase_deleted(self) -> None: ...
    def after_adopting(self, db: Executor) -> None: ...
    def close(self) -> None: ...


class Corrections:
    """The bot's read-write handle on the corrections database (a SQLite file or a `postgresql://` URL);
    thread-safe, synchronous (call it off the loop)."""

    def __init__(self, location: Path | str, *, quorum: int = DEFAULT_QUORUM, votes_per_hour: int = VOTES_PER_HOUR) -> None:
        if quorum < 1 or votes_per_hour < 1:
            raise ValueError("quorum and votes_per_hour must be at least 1")
        self.location, self.quorum, self.votes_per_hour = location, quorum, votes_per_hour
        self._backend: _Backend = (_Postgres(location) if isinstance(location, str) and is_database_url(location)
                                   else _Sqlite(Path(location)))

    def _transaction(self) -> contextlib.AbstractContextManager[Executor]:
        """One write transaction, refused politely when the database has been upgraded past this code meanwhile."""
        return _checked(self._backend)

    def vote(self, digit: AnsweredDigit, voter_id: int, label: int, *, admin: bool = False, now: float | None = None) -> VoteOutcome:
        """Record `voter_id`'s label for `digit` (replacing their earlier vote on it) and return where it stands.

        One transaction: once this returns, the vote is on disk (SQLite's `synchronous=FULL`, PostgreSQL's commit).
        """
        if isinstance(label, bool) or not isinstance(label, int) or not 0 <= label <= 9:
            raise CommunityError("A correction is a digit from 0 to 9.")
        pixels = _pixels(digit.image)
        now = time.time() if now is None else now
        with self._transaction() as db:
            if not admin:
                self._backend.serialize_voter(db, voter_id)
                self._check_rate(db, voter_id, now)
            example_id = self._example_id(db, digit, pixels, now)
            db.execute(
                "INSERT INTO votes (example_id, voter_id, label, admin, created) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (example_id, voter_id) DO UPDATE SET label = excluded.label, admin = excluded.admin, "
                "created = excluded.created",
                (example_id, voter_id, label, int(admin), now))
            standing = trust(_ballots(db, example_id), self.quorum)
        return VoteOutcome(example_id, label, standing.status, standing.agreeing, standing.disagreeing)

    @staticmethod
    def _example_id(db: Executor, digit: AnsweredDigit, pixels: bytes, now: float) -> int:
        """The example's id, inserting it on its first vote (two first votes at once: one inserts, both get its id)."""
        find = "SELECT id FROM examples WHERE message_id = ? AND position = ?"
        found = db.execute(find, (digit.message_id, digit.position)).fetchone()
        if found is None:
            inserted = db.execute(
                "INSERT INTO examples (guild_id, channel_id, message_id, position, author_id, image, model_version, "
                "predicted, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (message_id, position) DO NOTHING "
                "RETURNING id",
                (digit.guild_id, digit.channel_id, digit.message_id, digit.position, digit.author_id, pixels,
                 digit.model_version, digit.predicted, now)).fetchall()  # to the end: the statement is finished
            found = inserted[0] if inserted else None
        if found is None:  # inserted by another process since the first look
            found = db.execute(find, (digit.message_id, digit.position)).fetchone()
        return int(found[0])

    def _check_rate(self, db: Executor, voter_id: int, now: float) -> None:
        recent = db.execute("SELECT count(*), min(created) FROM votes WHERE voter_id = ? AND created > ?",
                            (voter_id, now - RATE_WINDOW_SECONDS)).fetchone()
        if recent[0] >= self.votes_per_hour:
            minutes = max(1, math.ceil((recent[1] + RATE_WINDOW_SECONDS - now) / 60))
            raise RateLimited(f"You have sent a lot of corrections; try again in {minutes} minutes.")

    def summary(self, latest: int = 16) -> CorrectionsSummary:
        """Counts by status, votes, contributors, agreement, and the `latest` most recently voted examples."""
        with self._transaction() as db:
            standings = {example_id: trust(ballots, self.quorum) for example_id, ballots in _all_ballots(db).items()}
            votes, contributors = db.execute("SELECT count(*), count(DISTINCT voter_id) FROM votes").fetchone()
            recent = db.execute("SELECT e.id, e.image FROM examples e JOIN votes v ON v.example_id = e.id "
                                "GROUP BY e.id ORDER BY max(v.created) DESC, e.id DESC LIMIT ?", (latest,)).fetchall()
        statuses = Counter(v.status for v in standings.values())
        agreeing = sum(v.agreeing for v in standings.values())
        views = tuple(ExampleView(example_id, _image(blob), standings[example_id].label, standings[example_id].status,
                                  standings[example_id].agreeing + standings[example_id].disagreeing)
                      for example_id, blob in recent)
        return CorrectionsSummary(statuses["pending"], statuses["accepted"], statuses["disputed"], votes, contributors,
                                  agreeing / votes if votes else None, views)

    def remove(self, example_id: int) -> bool:
        """Delete one example and its votes; False if there was none."""
        with self._transaction() as db:
            db.execute("DELETE FROM votes WHERE example_id = ?", (example_id,))
            removed = db.execute("DELETE FROM examples WHERE id = ?", (example_id,)).rowcount > 0
        if removed:
            self._backend.erase_deleted()
        return removed

    def purge(self, user_id: int) -> int:
        """An admin deletes everything a user contributed; returns the rows deleted."""
        return self._delete_user(user_id)

    def forget(self, user_id: int) -> int:
        """A member deletes everything they contributed (their votes, their pictures and the votes on them)."""
        return self._delete_user(user_id)

    def _delete_user(self, user_id: int) -> int:
        with self._transaction() as db:
            own = "SELECT id FROM examples WHERE author_id = ?"
            rows = db.execute(f"DELETE FROM votes WHERE voter_id = ? OR example_id IN ({own})", (user_id, user_id)).rowcount
            rows += db.execute("DELETE FROM examples WHERE author_id = ?", (user_id,)).rowcount
        if rows:
            self._backend.erase_deleted()
        return rows

    def adopt(self, examples: Sequence[tuple[Any, ...]], votes: Sequence[tuple[Any, ...]]) -> None:
        """Take another database's rows, ids kept, in one transaction (`copy_corrections`); refused when this one
        already holds corrections."""
        with self._transaction() as db:
            if db.execute("SELECT count(*) FROM examples").fetchone()[0]:
                raise CommunityError(f"The corrections database {self._backend.where} already holds corrections: "
                                     "nothing was copied.")
            for row in examples:
                db.execute(f"INSERT INTO examples ({EXAMPLE_COLUMNS}) VALUES ({', '.join('?' * len(row))})", row)
            for row in votes:
                db.execute(f"INSERT INTO votes ({VOTE_COLUMNS}) VALUES ({', '.join('?' * len(row))})", row)
            self._backend.after_adopting(db)

    def close(self) -> None:
        self._backend.close()


@contextlib.contextmanager
def _checked(backend: _Backend) -> Iterator[Executor]:
    with backend.transaction() as db:
        version = backend.schema_version(db)
        if version != SCHEMA_VERSION:  # another, newer bot migrated the database while this one runs
            raise CommunityError("The corrections database was upgraded by a newer version of the bot; this one "
                                 "cannot take corrections until it is updated too.")
        yield db


# -- SQLite: one file on one machine -----------------------------------------------------------------------------


def _sqlite_problem(where: Path, error: sqlite3.Error) -> str:
    """What is wrong with a SQLite file, in words (by SQLite's error code, not its message)."""
    code = getattr(error, "sqlite_errorname", "")
    cannot_write = where.exists() and not (os.access(where, os.W_OK) and os.access(where.parent, os.W_OK))
    if code.startswith("SQLITE_READONLY") or (code.startswith("SQLITE_CANTOPEN") and cannot_write):
        # (WAL mode needs to write beside the file, too: a read-only folder cannot even be opened)
        return f"The corrections database {where} is read-only: the bot must be able to write it and its folder."
    if code.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return (f"The corrections database {where} is locked by another program (for more than "
                f"{database.LOCK_TIMEOUT_MS / 1000:g} s).")
    if code.startswith(("SQLITE_NOTADB", "SQLITE_CORRUPT")):
        return f"The corrections database {where} cannot be used ({error}): is it a SQLite file?"
    if code.startswith(("SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_AUTH")):
        return f"The corrections database {where} cannot be opened ({error})."
    if code.startswith("SQLITE_FULL"):
        return f"The corrections database {where} cannot grow: the disk is full."
    return f"The corrections database {where} failed: {error}."


def _sqlite_vote_problem(error: sqlite3.Error) -> str:
    """The same, for a member whose vote it stopped (the operator finds the details in the log)."""
    code = getattr(error, "sqlite_errorname", "")
    if code.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return "The corrections database is busy (another program has held it for a while); try again in a minute."
    if code.startswith("SQLITE_READONLY"):
        return "The corrections database has become read-only; nothing was recorded. The bot's operator can fix it."
    if code.startswith("SQLITE_FULL"):
        return "The corrections database is out of disk space; nothing was recorded. The bot's operator can fix it."
    return "The corrections database failed; nothing was recorded. The details are in my log."


class _SqliteExecutor:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def execute(self, sql: str, parameters: Sequence[object] = ()) -> Cursor:
        return self.db.execute(sql, parameters)


class _Sqlite:
    """One connection behind a lock, WAL journal, `synchronous=FULL`, every write one BEGIN IMMEDIATE transaction."""

    def __init__(self, path: Path) -> None:
        self.path, self.where = path, str(path)
        self._lock = threading.Lock()
        self._erasing: threading.Thread | None = None
        self._closed = False
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None,
                                       timeout=database.LOCK_TIMEOUT_MS / 1000)
        except sqlite3.Error as error:
            raise CommunityError(_sqlite_problem(path, error)) from None
        except OSError as error:
            raise CommunityError(f"The corrections database {path} cannot be opened ({error}).") from None
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.execute("PRAGMA secure_delete=ON")  # deleted rows are overwritten, not left in free pages
            self._migrate()
        except sqlite3.Error as error:
            self._db.close()
            raise CommunityError(_sqlite_problem(path, error)) from None
        except CommunityError:
            self._db.close()
            raise

    def _migrate(self) -> None:
        with self._raw_transaction() as db:
            version = self.schema_version(db)
            if version > SCHEMA_VERSION:
                raise _newer(self.where, version)
            for migration in MIGRATIONS[version:]:
                for statement in migration:
                    db.execute(statement.format(**SQLITE_TYPES))
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def schema_version(self, db: Executor) -> int:
        return int(db.execute("PRAGMA user_version").fetchone()[0])

    def serialize_voter(self, db: Executor, voter_id: int) -> None:
        pass  # BEGIN IMMEDIATE already makes one writer at a time

    def after_adopting(self, db: Executor) -> None:
        pass  # new rows take the largest id + 1

    @contextlib.contextmanager
    def _raw_transaction(self) -> Iterator[Executor]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield _SqliteExecutor(self._db)
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Executor]:
        try:
            with self._raw_transaction() as db:
                yield db
        except sqlite3.Error as error:
            log.error("corrections database %s: %s", self.path, _sqlite_problem(self.path, error))
            raise CommunityError(_sqlite_vote_problem(error)) from None

    def erase_deleted(self) -> None:
        """Copy the WAL back and empty it, so that deleted rows leave no older page versions in the `-wal` file.

        A reader on an older snapshot (a `train.py --community` run) keeps the WAL from being emptied: then it is
        tried again every second, off the caller's thread, until it succeeds or the database is closed.
        """
        if not self._checkpoint():
            with self._lock:
                if self._erasing is None or not self._erasing.is_alive():
                    self._erasing = threading.Thread(target=self._keep_checkpointing, name="corrections-erase", daemon=True)
                    self._erasing.start()

    def _checkpoint(self) -> bool:
        """One TRUNCATE checkpoint that does not wait for readers; whether the WAL is now empty."""
        with self._lock:
            if self._closed:
                return True
            self._db.execute("PRAGMA busy_timeout = 0")
            try:
                busy, _, _ = self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            except sqlite3.Error:
                busy = 1
            finally:
                self._db.execute(f"PRAGMA busy_timeout = {int(database.LOCK_TIMEOUT_MS)}")
        return busy == 0

    def _keep_checkpointing(self) -> None:
        while not self._checkpoint():
            time.sleep(ERASE_RETRY_SECONDS)
        log.info("corrections database %s: the write-ahead log is emptied of deleted rows", self.path)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._db.close()


# -- PostgreSQL: one database for every process on every machine -------------------------------------------------


class _PostgresExecutor:
    def __init__(self, db: psycopg.Connection[tuple[Any, ...]]) -> None:
        self.db = db

    def execute(self, sql: str, parameters: Sequence[object] = ()) -> Cursor:
        return self.db.execute(sql.replace("?", "%s"), parameters)


def _postgres_schema_version(db: Executor) -> int:
    row = db.execute("SELECT version FROM digitbot_schema WHERE part = ?", (PART,)).fetchone()
    return 0 if row is None else int(row[0])


class _Postgres:
    """A pool of connections; each write one transaction at READ COMMITTED, a voter's rate check serialized by a
    transaction-level advisory lock on the voter (votes by different members run side by side)."""

    def __init__(self, url: str) -> None:
        self.url, self.where = url, redact(url)
        try:
            self._pool = open_pool(url, "corrections", max_size=POOL_SIZE)
        except DatabaseError as error:
            raise CommunityError(f"The corrections database cannot be used: {error}.") from None
        try:
            with self._pool.connection() as connection:
                migrate(connection, PART, [statements(*(s.format(**POSTGRESQL_TYPES) for s in m)) for m in MIGRATIONS],
                        lambda version: str(_newer(self.where, version)))
        except (DatabaseError, psycopg.Error) as error:
            self._pool.close()
            raise CommunityError(f"The corrections database {self.where} cannot be used: {error}".splitlines()[0]) from None

    def schema_version(self, db: Executor) -> int:
        return _postgres_schema_version(db)

    def serialize_voter(self, db: Executor, voter_id: int) -> None:
        db.execute("SELECT pg_advisory_xact_lock(?, ?)", (_VOTER_LOCK_SPACE, voter_id % 2**31))

    def after_adopting(self, db: Executor) -> None:
        for table in ("examples", "votes"):  # new rows' ids go on after the copied ones
            db.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT coalesce(max(id), 0) + 1 "
                       f"FROM {table}), false)")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Executor]:
        try:
            with transaction(self._pool, self.url) as connection:
                yield _PostgresExecutor(connection)
        except DatabaseError as error:
            log.error("corrections database: %s", error)
            raise CommunityError("The corrections database cannot be reached right now; nothing was recorded. "
                                 "Try again in a minute.") from None
        except psycopg.errors.LockNotAvailable:
            log.error("corrections database %s: a lock was held by another session for more than %d s", self.where,
                      database.LOCK_TIMEOUT_MS // 1000)
            raise CommunityError("The corrections database is busy (another program has held it for a while); "
                                 "try again in a minute.") from None
        except psycopg.Error as error:
            log.error("corrections database %s: %s", self.where, str(error).splitlines()[0] if str(error) else error)
            raise CommunityError("The corrections database failed; nothing was recorded. The details are in my log.") from None

    def erase_deleted(self) -> None:
        """Rewrite the two tables (VACUUM FULL), so that the deleted rows' bytes leave the table files at once.

        It needs the tables to itself for a moment: if a reader (a `train.py --community` run) holds them for more
        than ERASE_LOCK_MS, a plain VACUUM instead, which frees the rows' space without overwriting it. What no
        VACUUM changes: the write-ahead log keeps the bytes until its segments are recycled, and backups keep theirs.
        """
        try:
            with self._pool.connection() as connection:
                connection.autocommit = True
                connection.execute(f"SET lock_timeout = {ERASE_LOCK_MS}")
                try:
                    connection.execute("VACUUM FULL votes, examples")
                except psycopg.errors.LockNotAvailable:
                    log.info("corrections database %s: a reader holds the tables; a plain VACUUM after the deletion "
                             "(the rows' bytes stay in free space until it is reused)", self.where)
                    connection.execute("VACUUM votes, examples")
                finally:
                    connection.execute(f"SET lock_timeout = {int(database.LOCK_TIMEOUT_MS)}")
                    connection.autocommit = False
        except psycopg.Error as error:
            log.warning("corrections database %s: VACUUM after a deletion failed (autovacuum will do it): %s",
                        self.where, str(error).splitlines()[0] if str(error) else error)

    def close(self) -> None:
        self._pool.close()


def _pixels(image: np.ndarray) -> bytes:
    array = np.asarray(image, dtype=np.float32)
    if array.shape != (28, 28) or not np.all(np.isfinite(array)):
        raise CommunityError("That answer has no 28×28 picture to learn from.")
    return np.round(np.clip(array, 0.0, 1.0) * 255).astype(np.uint8).tobytes()


def _image(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=np.uint8).reshape(28, 28).astype(np.float32) / 255


def _ballots(db: Executor, example_id: int) -> list[Ballot]:
    rows = db.execute("SELECT label, admin FROM votes WHERE example_id = ? ORDER BY created, id", (example_id,))
    return [Ballot(label, bool(admin)) for label, admin in rows]


def _all_ballots(db: Executor) -> dict[int, list[Ballot]]:
    ballots: dict[int, list[Ballot]] = {}
    for example_id, label, admin in db.execute("SELECT example_id, label, admin FROM votes ORDER BY created, id"):
        ballots.setdefault(example_id, []).append(Ballot(label, bool(admin)))
    return ballots


def in_test_half(author_id: int) -> bool:
    """Whether this contributor's examples belong to the community test set (a fixed hash of the id)."""
    digest = hashlib.sha256(str(author_id).encode()).digest()
    return int.from_bytes(digest[:8], "big") % 100 < TEST_SHARE_PERCENT


def accepted_examples(location: Path | str, *, quorum: int = DEFAULT_QUORUM) -> CommunityData:
    """The accepted examples, split by contributor, read in one read-only transaction (the bot may be writing)."""
    votes, rows = _read(location, ("SELECT example_id, label, admin FROM votes ORDER BY created, id",
                                   "SELECT id, author_id, image FROM examples ORDER BY id"))
    ballots: dict[int, list[Ballot]] = {}
    for example_id, label, admin in votes:
        ballots.setdefault(example_id, []).append(Ballot(label, bool(admin)))
    halves: dict[bool, tuple[list[bytes], list[int]]] = {False: ([], []), True: ([], [])}
    for example_id, author_id, blob in rows:
        standing = trust(ballots.get(example_id, []), quorum)
        if standing.status == "accepted" and standing.label is not None:
            images, labels = halves[in_test_half(author_id)]
            images.append(bytes(blob))
            labels.append(standing.label)

    def arrays(images: list[bytes], labels: list[int]) -> tuple[np.ndarray, np.ndarray]:
        pixels = np.frombuffer(b"".join(images), dtype=np.uint8).reshape(-1, 28, 28)
        return pixels, np.array(labels, dtype=np.uint8)

    train_images, train_labels = arrays(*halves[False])
    test_images, test_labels = arrays(*halves[True])
    return CommunityData(train_images, train_labels, test_images, test_labels)


EXAMPLE_COLUMNS = "id, guild_id, channel_id, message_id, position, author_id, image, model_version, predicted, created"
VOTE_COLUMNS = "id, example_id, voter_id, label, admin, created"


def copy_corrections(source: Path | str, target: Path | str) -> tuple[int, int]:
    """Copy every example and vote (ids kept) from one corrections database into another that holds none yet, say
    a bot's SQLite file into the PostgreSQL of its cluster; returns (examples, votes). CommunityError, and nothing
    copied, if the target already holds corrections."""
    examples, votes = _read(source, (f"SELECT {EXAMPLE_COLUMNS} FROM examples ORDER BY id",
                                     f"SELECT {VOTE_COLUMNS} FROM votes ORDER BY id"))
    corrections = Corrections(target)
    try:
        corrections.adopt([tuple(bytes(v) if isinstance(v, memoryview) else v for v in row) for row in examples], votes)
    finally:
        corrections.close()
    return len(examples), len(votes)


def _not_migrated(where: str, version: int) -> CommunityError:
    return CommunityError(f"The corrections database {where} has schema version {version}, not {SCHEMA_VERSION}: "
                          f"{'start the bot once to migrate it' if version < SCHEMA_VERSION else 'update digitbot'}.")


def _read(location: Path | str, queries: Sequence[str]) -> list[list[Any]]:
    """The rows of each query, in one read-only transaction (one snapshot) of a database at this code's schema."""
    if isinstance(location, str) and is_database_url(location):
        return _read_postgres(location, queries)
    return _read_sqlite(Path(location), queries)


def _read_sqlite(path: Path, queries: Sequence[str]) -> list[list[Any]]:
    if not path.is_file():
        raise CommunityError(f"There is no corrections database at {path}.")
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=database.LOCK_TIMEOUT_MS / 1000)
    except sqlite3.Error as error:
        raise CommunityError(f"The corrections database {path} cannot be opened ({error}).") from None
    try:
        with db:  # one read transaction: a consistent snapshot of votes and examples
            db.execute("BEGIN")
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version != SCHEMA_VERSION:
                raise _not_migrated(str(path), version)
            return [db.execute(query).fetchall() for query in queries]
    except sqlite3.Error as error:
        raise CommunityError(_sqlite_problem(path, error)) from None
    finally:
        db.close()


def _read_postgres(url: str, queries: Sequence[str]) -> list[list[Any]]:
    where = redact(url)
    try:
        with connect(url, "trainer", autocommit=False) as connection:
            connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")  # one snapshot
            found = connection.execute("SELECT to_regclass('digitbot_schema') IS NOT NULL").fetchone()
            version = _postgres_schema_version(_PostgresExecutor(connection)) if found and found[0] else 0
            if version != SCHEMA_VERSION:
                raise _not_migrated(where, version)
            return [connection.execute(query).fetchall() for query in queries]
    except DatabaseError as error:
        raise CommunityError(f"The corrections database cannot be used: {error}.") from None
    except psycopg.Error as error:
        raise CommunityError(f"The corrections database {where} failed: {str(error).splitlines()[0]}.") from None


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m digits.community copy SRC DST`: the corrections of one database into another (a file or a URL)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m digits.community", description=copy_corrections.__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    copying = commands.add_parser("copy", help="copy every example and vote into a database that holds none yet")
    copying.add_argument("source", help="a SQLite file or a postgresql:// URL")
    copying.add_argument("target", help="a SQLite file or a postgresql:// URL")
    args = parser.parse_args(argv)
    try:
        examples, votes = copy_corrections(_location(args.source), _location(args.target))
    except CommunityError as error:
        print(f"python -m digits.community: error: {error}", file=sys.stderr)
        return 1
    print(f"copied {examples} examples and {votes} votes into {location_text(_location(args.target))}")
    return 0


def _location(text: str) -> Path | str:
    return text if is_database_url(text) else Path(text)


if __name__ == "__main__":
    sys.exit(main())
