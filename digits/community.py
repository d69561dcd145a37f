"""Community corrections: members say what a digit really is; the votes are kept in SQLite for the next retrain.

Per correction the database keeps the 28×28 input the model saw (not the picture), the label, who (the voter and
the picture's author), where (guild, channel and message ids, the digit's position), the model version that
answered and what it answered, and when. Nothing else. Rows stay until removed (`remove`, `purge`, `forget`),
and removal deletes them.

`Corrections` is the bot's (writer's) handle: one connection behind a lock, WAL journal, `synchronous=FULL` so an
acknowledged vote survives a killed process, every write one transaction. The trainer reads with
`accepted_examples`, read-only, while the bot writes. TensorFlow-free.
"""

from __future__ import annotations

import hashlib
import math
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DEFAULT_QUORUM = 2
DEFAULT_DATABASE = Path("data/digitbot.sqlite3")
TEST_SHARE_PERCENT = 25  # contributors (by a hash of their id) whose examples form the community test set
RATE_WINDOW_SECONDS = 3600.0
VOTES_PER_HOUR = 30  # per member, within RATE_WINDOW_SECONDS (admins are not limited)
BUSY_TIMEOUT_MS = 10_000  # another process holding the write lock (a backup, a second bot) is waited for


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


def _create_v1(db: sqlite3.Connection) -> None:
    db.execute("""CREATE TABLE examples (
        id INTEGER PRIMARY KEY,
        guild_id INTEGER,
        channel_id INTEGER NOT NULL,
        message_id INTEGER NOT NULL,
        position INTEGER NOT NULL,
        author_id INTEGER NOT NULL,
        image BLOB NOT NULL CHECK (length(image) = 784),
        model_version INTEGER NOT NULL,
        predicted INTEGER NOT NULL,
        created REAL NOT NULL,
        UNIQUE (message_id, position))""")
    db.execute("""CREATE TABLE votes (
        id INTEGER PRIMARY KEY,
        example_id INTEGER NOT NULL REFERENCES examples (id) ON DELETE CASCADE,
        voter_id INTEGER NOT NULL,
        label INTEGER NOT NULL CHECK (label BETWEEN 0 AND 9),
        created REAL NOT NULL,
        UNIQUE (example_id, voter_id))""")
    db.execute("CREATE INDEX examples_author ON examples (author_id)")


def _v1_to_v2(db: sqlite3.Connection) -> None:
    # Version 2: admin votes confirm an example; the rate limit reads a voter's recent votes through an index.
    db.execute("ALTER TABLE votes ADD COLUMN admin INTEGER NOT NULL DEFAULT 0")
    db.execute("CREATE INDEX votes_voter ON votes (voter_id, created)")


# MIGRATIONS[n] takes a database from version n to n + 1 (version 0 is an empty file).
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_create_v1, _v1_to_v2)
SCHEMA_VERSION = len(MIGRATIONS)


def _not_a_database(path: Path, error: sqlite3.Error) -> CommunityError:
    return CommunityError(f"The corrections database {path} cannot be used ({error}): is it a SQLite file?")


class Corrections:
    """The bot's read-write handle on the corrections database; thread-safe, synchronous (call it off the loop)."""

    def __init__(self, path: Path, *, quorum: int = DEFAULT_QUORUM, votes_per_hour: int = VOTES_PER_HOUR) -> None:
        if quorum < 1 or votes_per_hour < 1:
            raise ValueError("quorum and votes_per_hour must be at least 1")
        self.path, self.quorum, self.votes_per_hour = path, quorum, votes_per_hour
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None,
                                       timeout=BUSY_TIMEOUT_MS / 1000)
        except (OSError, sqlite3.Error) as error:
            raise CommunityError(f"The corrections database {path} cannot be opened ({error}).") from None
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.execute("PRAGMA secure_delete=ON")  # deleted rows are overwritten, not left in free pages
            self._migrate()
        except sqlite3.DatabaseError as error:
            self._db.close()
            raise _not_a_database(path, error) from None
        except CommunityError:
            self._db.close()
            raise

    def _migrate(self) -> None:
        with self._transaction() as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise CommunityError(f"The corrections database {self.path} has schema version {version}, newer than "
                                     f"this bot's {SCHEMA_VERSION}: update the bot.")
            for migrate in MIGRATIONS[version:]:
                migrate(db)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db, self._lock)

    def vote(self, digit: AnsweredDigit, voter_id: int, label: int, *, admin: bool = False, now: float | None = None) -> VoteOutcome:
        """Record `voter_id`'s label for `digit` (replacing their earlier vote on it) and return where it stands."""
        if isinstance(label, bool) or not isinstance(label, int) or not 0 <= label <= 9:
            raise CommunityError("A correction is a digit from 0 to 9.")
        pixels = _pixels(digit.image)
        now = time.time() if now is None else now
        with self._transaction() as db:
            if not admin:
                self._check_rate(db, voter_id, now)
            db.execute(
                "INSERT INTO examples (guild_id, channel_id, message_id, position, author_id, image, model_version, "
                "predicted, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (message_id, position) DO NOTHING",
                (digit.guild_id, digit.channel_id, digit.message_id, digit.position, digit.author_id, pixels,
                 digit.model_version, digit.predicted, now))
            example_id = db.execute("SELECT id FROM examples WHERE message_id = ? AND position = ?",
                                    (digit.message_id, digit.position)).fetchone()[0]
            db.execute(
                "INSERT INTO votes (example_id, voter_id, label, admin, created) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (example_id, voter_id) DO UPDATE SET label = excluded.label, admin = excluded.admin, "
                "created = excluded.created",
                (example_id, voter_id, label, int(admin), now))
            standing = trust(_ballots(db, example_id), self.quorum)
        return VoteOutcome(example_id, label, standing.status, standing.agreeing, standing.disagreeing)

    def _check_rate(self, db: sqlite3.Connection, voter_id: int, now: float) -> None:
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
        # Older page versions in the WAL would still hold the rows: copy back and empty it (best effort: a
        # reader still on an older snapshot keeps the WAL until it finishes; the next checkpoint then empties it).
        with self._lock:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return rows

    def close(self) -> None:
        with self._lock:
            self._db.close()


class _Transaction:
    """`with`: hold the lock and run one write transaction (BEGIN IMMEDIATE … COMMIT, ROLLBACK on error)."""

    def __init__(self, db: sqlite3.Connection, lock: threading.Lock) -> None:
        self.db, self.lock = db, lock

    def __enter__(self) -> sqlite3.Connection:
        self.lock.acquire()
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except BaseException:
            self.lock.release()
            raise
        return self.db

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: object) -> None:
        try:
            self.db.execute("COMMIT" if kind is None else "ROLLBACK")
        finally:
            self.lock.release()


def _pixels(image: np.ndarray) -> bytes:
    array = np.asarray(image, dtype=np.float32)
    if array.shape != (28, 28) or not np.all(np.isfinite(array)):
        raise CommunityError("That answer has no 28×28 picture to learn from.")
    return np.round(np.clip(array, 0.0, 1.0) * 255).astype(np.uint8).tobytes()


def _image(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=np.uint8).reshape(28, 28).astype(np.float32) / 255


def _ballots(db: sqlite3.Connection, example_id: int) -> list[Ballot]:
    rows = db.execute("SELECT label, admin FROM votes WHERE example_id = ? ORDER BY created, id", (example_id,))
    return [Ballot(label, bool(admin)) for label, admin in rows]


def _all_ballots(db: sqlite3.Connection) -> dict[int, list[Ballot]]:
    ballots: dict[int, list[Ballot]] = {}
    for example_id, label, admin in db.execute("SELECT example_id, label, admin FROM votes ORDER BY created, id"):
        ballots.setdefault(example_id, []).append(Ballot(label, bool(admin)))
    return ballots


def in_test_half(author_id: int) -> bool:
    """Whether this contributor's examples belong to the community test set (a fixed hash of the id)."""
    digest = hashlib.sha256(str(author_id).encode()).digest()
    return int.from_bytes(digest[:8], "big") % 100 < TEST_SHARE_PERCENT


def accepted_examples(path: Path, *, quorum: int = DEFAULT_QUORUM) -> CommunityData:
    """The accepted examples, split by contributor, read through a read-only connection (the bot may be writing)."""
    if not path.is_file():
        raise CommunityError(f"There is no corrections database at {path}.")
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
    except sqlite3.Error as error:
        raise CommunityError(f"The corrections database {path} cannot be opened ({error}).") from None
    try:
        with db:  # one read transaction: a consistent snapshot of votes and examples
            db.execute("BEGIN")
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version != SCHEMA_VERSION:
                raise CommunityError(f"The corrections database {path} has schema version {version}, not "
                                     f"{SCHEMA_VERSION}: start the bot once to migrate it.")
            ballots = _all_ballots(db)
            rows = db.execute("SELECT id, author_id, image FROM examples ORDER BY id").fetchall()
    except sqlite3.DatabaseError as error:
        raise _not_a_database(path, error) from None
    finally:
        db.close()
    halves: dict[bool, tuple[list[bytes], list[int]]] = {False: ([], []), True: ([], [])}
    for example_id, author_id, blob in rows:
        standing = trust(ballots.get(example_id, []), quorum)
        if standing.status == "accepted" and standing.label is not None:
            images, labels = halves[in_test_half(author_id)]
            images.append(blob)
            labels.append(standing.label)

    def arrays(images: list[bytes], labels: list[int]) -> tuple[np.ndarray, np.ndarray]:
        pixels = np.frombuffer(b"".join(images), dtype=np.uint8).reshape(-1, 28, 28)
        return pixels, np.array(labels, dtype=np.uint8)

    train_images, train_labels = arrays(*halves[False])
    test_images, test_labels = arrays(*halves[True])
    return CommunityData(train_images, train_labels, test_images, test_labels)
