"""Community corrections (issues 14, 23): votes, trust, rate limit, deletion, migrations, the trainer's read.

The tests about what the database promises take `db_path` and run on both backends (a SQLite file, a PostgreSQL
database); those about SQLite's own file take `sqlite_path`.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psycopg
import pytest

from digits.community import (
    MIGRATIONS,
    POSTGRESQL_TYPES,
    SCHEMA_VERSION,
    AnsweredDigit,
    Ballot,
    CommunityError,
    Corrections,
    RateLimited,
    accepted_examples,
    in_test_half,
    trust,
)
from model_store import redact
from tests.fixtures.mnist import REPO

NOW = 1_700_000_000.0


def answer(message_id: int, author_id: int = 100, position: int = 0, predicted: int = 1, shade: float = 0.5) -> AnsweredDigit:
    image = np.zeros((28, 28), dtype=np.float32)
    image[4:24, 12:16] = shade
    return AnsweredDigit(guild_id=7, channel_id=8, message_id=message_id, position=position, author_id=author_id,
                  image=image, model_version=3, predicted=predicted)


@pytest.fixture
def db_path(database_location: Path | str) -> Path | str:
    """A new corrections database on each backend: a SQLite file (its folder not made yet), a PostgreSQL database."""
    return database_location


@pytest.fixture
def sqlite_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "digitbot.sqlite3"


@pytest.fixture
def corrections(db_path: Path | str) -> Iterator[Corrections]:
    opened = Corrections(db_path, quorum=2)
    yield opened
    opened.close()


def rows(location: Path | str, sql: str) -> list[tuple]:
    """What a query returns, asked straight of the database (SQLite's or PostgreSQL's)."""
    if isinstance(location, str):
        with psycopg.connect(location) as db:
            return [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row) for row in db.execute(sql).fetchall()]
    with sqlite3.connect(location) as db:
        return db.execute(sql).fetchall()


def table_file(url: str, table: str) -> bytes:
    """A PostgreSQL table's file as it is on disk (after a checkpoint), read beside the server (the test's own)."""
    with psycopg.connect(url, autocommit=True) as db:
        db.execute("CHECKPOINT")
        [(path,)] = db.execute(f"SELECT current_setting('data_directory') || '/' || pg_relation_filepath('{table}')")
    return Path(path).read_bytes()


def columns(location: Path | str, table: str) -> set[str]:
    if isinstance(location, str):
        return {name for (name,) in rows(location, f"SELECT column_name FROM information_schema.columns WHERE table_name = '{table}'")}
    return {r[1] for r in rows(location, f"PRAGMA table_info({table})")}


def schema_version(location: Path | str) -> int:
    if isinstance(location, str):
        return rows(location, "SELECT version FROM digitbot_schema WHERE part = 'corrections'")[0][0]
    return rows(location, "PRAGMA user_version")[0][0]


def set_schema_version(location: Path | str, version: int) -> None:
    if isinstance(location, str):
        with psycopg.connect(location) as db:
            db.execute("CREATE TABLE IF NOT EXISTS digitbot_schema (part text PRIMARY KEY, version integer NOT NULL)")
            db.execute("INSERT INTO digitbot_schema VALUES ('corrections', %s) ON CONFLICT (part) DO UPDATE "
                       "SET version = excluded.version", (version,))
    else:
        location.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(location) as db:
            db.execute(f"PRAGMA user_version = {version}")


# The trust rule as a plain function.

def test_trust_rule() -> None:
    b = Ballot
    assert trust([], 2).status == "pending"
    assert trust([b(7, False)], 2) == trust([b(7, False)], 2) and trust([b(7, False)], 2).status == "pending"
    assert trust([b(7, False), b(7, False)], 2).status == "accepted"
    assert trust([b(7, False), b(7, False)], 3).status == "pending"
    assert trust([b(7, False), b(1, False)], 2).status == "disputed"
    tie = trust([b(7, False), b(7, False), b(1, False), b(1, False)], 2)
    assert (tie.status, tie.agreeing, tie.disagreeing) == ("disputed", 2, 2)
    majority = trust([b(7, False), b(7, False), b(7, False), b(1, False)], 2)
    assert (majority.status, majority.label, majority.agreeing, majority.disagreeing) == ("accepted", 7, 3, 1)
    confirmed = trust([b(7, False), b(7, False), b(1, True)], 2)
    assert (confirmed.status, confirmed.label, confirmed.agreeing, confirmed.disagreeing) == ("accepted", 1, 1, 2)
    assert trust([b(1, True), b(4, True)], 2).label == 4  # the last admin vote wins


# Votes through the database.

def test_database_is_wal_with_schema_version(sqlite_path: Path) -> None:
    Corrections(sqlite_path).close()
    assert sqlite_path.is_file()
    assert rows(sqlite_path, "PRAGMA journal_mode") == [("wal",)]
    assert rows(sqlite_path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]


def test_vote_stores_what_the_issue_lists_and_nothing_else(corrections: Corrections, db_path: Path) -> None:
    outcome = corrections.vote(answer(11, author_id=100, predicted=1), voter_id=200, label=7, now=NOW)
    assert (outcome.label, outcome.status, outcome.agreeing, outcome.disagreeing) == (7, "pending", 1, 0)
    [example] = rows(db_path, "SELECT guild_id, channel_id, message_id, position, author_id, model_version, predicted, "
                              "created, length(image) FROM examples")
    assert example == (7, 8, 11, 0, 100, 3, 1, NOW, 784)
    assert rows(db_path, "SELECT example_id, voter_id, label, admin, created FROM votes") == [(outcome.example_id, 200, 7, 0, NOW)]
    assert columns(db_path, "examples") == {
        "id", "guild_id", "channel_id", "message_id", "position", "author_id", "image", "model_version", "predicted", "created"}
    assert schema_version(db_path) == SCHEMA_VERSION
    snowflake = 1_234_567_890_123_456_789  # Discord's ids need 64 bits
    corrections.vote(AnsweredDigit(snowflake, snowflake, snowflake, 0, snowflake, np.zeros((28, 28), np.float32), 3, 1),
                     voter_id=snowflake, label=2, now=NOW)
    assert rows(db_path, f"SELECT author_id FROM examples WHERE message_id = {snowflake}") == [(snowflake,)]


def test_a_later_vote_replaces_the_earlier_one(corrections: Corrections, db_path: Path) -> None:
    corrections.vote(answer(11), voter_id=200, label=7, now=NOW)
    outcome = corrections.vote(answer(11), voter_id=200, label=9, now=NOW + 1)
    assert (outcome.label, outcome.agreeing, outcome.disagreeing) == (9, 1, 0)
    assert rows(db_path, "SELECT voter_id, label FROM votes") == [(200, 9)]


def test_quorum_and_disputes(corrections: Corrections) -> None:
    corrections.vote(answer(11), voter_id=200, label=7, now=NOW)
    assert corrections.vote(answer(11), voter_id=201, label=7, now=NOW).status == "accepted"
    corrections.vote(answer(12), voter_id=200, label=7, now=NOW)
    disputed = corrections.vote(answer(12), voter_id=201, label=1, now=NOW)
    assert (disputed.status, disputed.agreeing, disputed.disagreeing) == ("disputed", 1, 1)
    assert corrections.vote(answer(12), voter_id=202, label=7, now=NOW).status == "accepted"  # 2 against 1
    summary = corrections.summary()
    assert (summary.pending, summary.accepted, summary.disputed, summary.votes, summary.contributors) == (0, 2, 0, 5, 3)
    assert summary.agreement == pytest.approx(4 / 5)
    assert [view.id for view in summary.latest] == [2, 1] and summary.latest[0].label == 7
    assert summary.latest[0].image.shape == (28, 28) and summary.latest[0].image.max() == pytest.approx(0.5, abs=1 / 255)


def test_admin_vote_confirms(corrections: Corrections, db_path: Path) -> None:
    corrections.vote(answer(11), voter_id=200, label=7, now=NOW)
    outcome = corrections.vote(answer(11), voter_id=1, label=1, admin=True, now=NOW)
    assert (outcome.status, outcome.label) == ("accepted", 1)
    data = accepted_examples(db_path)
    assert list(data.train_labels) + list(data.test_labels) == [1]


def test_bad_votes_are_refused_and_change_nothing(corrections: Corrections, db_path: Path) -> None:
    for label in (-1, 10, True):
        with pytest.raises(CommunityError, match="0 to 9"):
            corrections.vote(answer(11), voter_id=200, label=label, now=NOW)  # type: ignore[arg-type]
    bad = AnsweredDigit(7, 8, 11, 0, 100, np.zeros((27, 28), np.float32), 3, 1)
    with pytest.raises(CommunityError, match="28×28"):
        corrections.vote(bad, voter_id=200, label=1, now=NOW)
    assert rows(db_path, "SELECT count(*) FROM examples") == [(0,)] == rows(db_path, "SELECT count(*) FROM votes")


def test_rate_limit_per_voter(db_path: Path | str) -> None:
    corrections = Corrections(db_path, votes_per_hour=3)
    for message_id in range(3):
        corrections.vote(answer(message_id), voter_id=200, label=7, now=NOW + message_id * 60)
    with pytest.raises(RateLimited, match="try again in 57 minutes"):
        corrections.vote(answer(3), voter_id=200, label=7, now=NOW + 180)
    corrections.vote(answer(3), voter_id=201, label=7, now=NOW + 180)  # someone else may
    corrections.vote(answer(4), voter_id=1, label=7, admin=True, now=NOW + 180)  # admins confirm without a limit
    corrections.vote(answer(3), voter_id=200, label=7, now=NOW + 3601)  # an hour after the first
    assert rows(db_path, "SELECT count(*) FROM votes WHERE voter_id = 200") == [(4,)]
    corrections.close()


def test_remove_purge_and_forget_delete_the_rows(corrections: Corrections, db_path: Path | str) -> None:
    corrections.vote(answer(11, author_id=100, shade=0.9), voter_id=200, label=7, now=NOW)  # 100's picture, 200's vote
    corrections.vote(answer(11, author_id=100), voter_id=201, label=7, now=NOW)
    corrections.vote(answer(12, author_id=300), voter_id=100, label=3, now=NOW)  # 100's vote on 300's
    corrections.vote(answer(12, author_id=300), voter_id=201, label=3, now=NOW)
    corrections.vote(answer(13, author_id=301), voter_id=201, label=4, now=NOW)
    if isinstance(db_path, Path):
        content = db_path.read_bytes() + db_path.with_name(db_path.name + "-wal").read_bytes()
    else:
        content = table_file(db_path, "examples")
    assert bytes([round(0.9 * 255)]) * 4 in content  # (the check below can fail)
    assert corrections.forget(100) == 2 + 1 + 1  # the picture, both votes on it, the vote on 300's picture
    assert rows(db_path, "SELECT author_id FROM examples ORDER BY id") == [(300,), (301,)]
    assert rows(db_path, "SELECT voter_id FROM votes ORDER BY id") == [(201,), (201,)]
    assert corrections.forget(100) == 0
    assert corrections.remove(3) is True and corrections.remove(3) is False
    assert corrections.purge(201) == 1
    assert rows(db_path, "SELECT count(*) FROM votes") == [(0,)]
    if isinstance(db_path, str):  # the tables rewritten: the bytes are gone from their files (not from the WAL)
        assert bytes([round(0.9 * 255)]) * 4 not in table_file(db_path, "examples")
        return
    corrections.close()
    # Deleted, not flagged: the rows' bytes are gone from the file (secure_delete, WAL checkpointed).
    content = db_path.read_bytes() + (db_path.with_name(db_path.name + "-wal").read_bytes()
                                      if db_path.with_name(db_path.name + "-wal").exists() else b"")
    assert bytes([round(0.9 * 255)]) * 4 not in content


def test_survives_reopening(db_path: Path | str) -> None:
    first = Corrections(db_path)
    first.vote(answer(11), voter_id=200, label=7, now=NOW)
    first.close()
    second = Corrections(db_path)
    assert second.vote(answer(11), voter_id=201, label=7, now=NOW).status == "accepted"
    second.close()


# Migrations, the trainer's read-only view, damaged files.

def test_migrates_a_version_1_database(db_path: Path | str) -> None:
    if isinstance(db_path, str):
        with psycopg.connect(db_path) as db:  # version 1, by the same migration as a bot of then
            for statement in MIGRATIONS[0]:
                db.execute(statement.format(**POSTGRESQL_TYPES))
            db.execute("INSERT INTO examples (guild_id, channel_id, message_id, position, author_id, image, "
                       "model_version, predicted, created) VALUES (7, 8, 11, 0, 100, %s, 3, 1, %s)", (bytes(784), NOW))
            db.execute("INSERT INTO votes (example_id, voter_id, label, created) SELECT id, 200, 7, %s FROM examples",
                       (NOW,))
        set_schema_version(db_path, 1)
    else:
        write_a_version_1_sqlite_file(db_path)
    with pytest.raises(CommunityError, match="start the bot once"):
        accepted_examples(db_path)
    corrections = Corrections(db_path)
    assert schema_version(db_path) == SCHEMA_VERSION
    assert rows(db_path, "SELECT voter_id, label, admin FROM votes") == [(200, 7, 0)]
    assert corrections.vote(answer(11), voter_id=201, label=7, now=NOW).status == "accepted"  # the old vote counts
    corrections.close()


def write_a_version_1_sqlite_file(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    with sqlite3.connect(db_path) as db:  # version 1, as it was: no admin column, no voter index
        db.executescript("""
            CREATE TABLE examples (id INTEGER PRIMARY KEY, guild_id INTEGER, channel_id INTEGER NOT NULL,
                message_id INTEGER NOT NULL, position INTEGER NOT NULL, author_id INTEGER NOT NULL,
                image BLOB NOT NULL CHECK (length(image) = 784), model_version INTEGER NOT NULL,
                predicted INTEGER NOT NULL, created REAL NOT NULL, UNIQUE (message_id, position));
            CREATE TABLE votes (id INTEGER PRIMARY KEY,
                example_id INTEGER NOT NULL REFERENCES examples (id) ON DELETE CASCADE, voter_id INTEGER NOT NULL,
                label INTEGER NOT NULL CHECK (label BETWEEN 0 AND 9), created REAL NOT NULL, UNIQUE (example_id, voter_id));
            CREATE INDEX examples_author ON examples (author_id);
            PRAGMA user_version = 1;""")
        db.execute("INSERT INTO examples VALUES (1, 7, 8, 11, 0, 100, ?, 3, 1, ?)", (bytes(784), NOW))
        db.execute("INSERT INTO votes VALUES (1, 1, 200, 7, ?)", (NOW,))


def test_a_newer_schema_is_refused_at_start_and_at_a_vote(db_path: Path | str) -> None:
    running = Corrections(db_path)
    set_schema_version(db_path, SCHEMA_VERSION + 1)  # a newer bot migrated it meanwhile
    with pytest.raises(CommunityError, match="upgraded by a newer version of the bot"):
        running.vote(answer(11), voter_id=200, label=7, now=NOW)
    running.close()
    with pytest.raises(CommunityError, match="newer than this bot's"):
        Corrections(db_path)
    with pytest.raises(CommunityError, match="update digitbot"):
        accepted_examples(db_path)


def test_not_a_sqlite_file(sqlite_path: Path) -> None:
    db_path = sqlite_path
    db_path.parent.mkdir(parents=True)
    db_path.write_bytes(b"these are not the votes you are looking for" * 100)
    with pytest.raises(CommunityError, match="is it a SQLite file"):
        Corrections(db_path)
    with pytest.raises(CommunityError, match="is it a SQLite file"):
        accepted_examples(db_path)


def test_no_database(tmp_path: Path) -> None:
    with pytest.raises(CommunityError, match="no corrections database"):
        accepted_examples(tmp_path / "missing.sqlite3")


def test_read_only_while_a_writer_holds_a_transaction(sqlite_path: Path) -> None:
    db_path, corrections = sqlite_path, Corrections(sqlite_path)
    corrections.vote(answer(11), voter_id=200, label=7, now=NOW)
    corrections.vote(answer(11), voter_id=201, label=7, now=NOW)
    writer = sqlite3.connect(db_path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO votes (example_id, voter_id, label, created) VALUES (1, 202, 7, ?)", (NOW,))
    data = accepted_examples(db_path)  # neither blocked nor sees the uncommitted vote
    assert len(data.train_labels) + len(data.test_labels) == 1
    writer.execute("ROLLBACK")
    writer.close()
    before = db_path.stat().st_mtime_ns
    accepted_examples(db_path)
    assert db_path.stat().st_mtime_ns == before  # the reader writes nothing


def test_read_only_after_the_bot_closed(corrections: Corrections, db_path: Path | str) -> None:
    corrections.vote(answer(11), voter_id=200, label=7, now=NOW)
    corrections.vote(answer(11), voter_id=201, label=7, now=NOW)
    corrections.close()
    data = accepted_examples(db_path)
    assert len(data.train_labels) + len(data.test_labels) == 1


def test_split_by_contributor(corrections: Corrections, db_path: Path | str) -> None:
    authors = range(1000, 1040)
    for author in authors:
        for k in range(3):
            message_id = author * 10 + k
            corrections.vote(answer(message_id, author_id=author, shade=(author % 200 + 40) / 255), voter_id=1,
                             label=author % 10, admin=True, now=NOW)
    corrections.vote(answer(99, author_id=1000), voter_id=200, label=5, now=NOW)  # pending: not used
    data = accepted_examples(db_path)
    assert data.train_images.dtype == np.uint8 and data.train_images.shape[1:] == (28, 28)
    assert data.test_labels.dtype == np.uint8 and len(data.train_labels) + len(data.test_labels) == 120
    assert 0 < len(data.test_labels) < len(data.train_labels)

    def authors_in(images: np.ndarray) -> set[int]:
        return {int(image.max()) for image in images}  # each author's pictures have their own shade

    test_shades, train_shades = authors_in(data.test_images), authors_in(data.train_images)
    assert not test_shades & train_shades
    assert test_shades == {round((a % 200 + 40) / 255 * 255) for a in authors if in_test_half(a)}
    again = accepted_examples(db_path)
    assert np.array_equal(again.test_images, data.test_images) and np.array_equal(again.train_labels, data.train_labels)


# Faults (issue 25, items 9 and 10), and many writers at once.

def hold_the_write_lock(location: Path | str):
    """Another program holding the database's write lock, until `.close()`."""
    if isinstance(location, str):
        holder = psycopg.connect(location)
        holder.execute("LOCK TABLE votes IN EXCLUSIVE MODE")
        return holder
    holder = sqlite3.connect(location, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    return holder


def test_a_database_locked_too_long_is_said_so(db_path: Path | str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("model_store.database.LOCK_TIMEOUT_MS", 300)  # instead of 10 s
    corrections = Corrections(db_path)
    corrections.vote(answer(11), voter_id=200, label=7, now=NOW)
    holder = hold_the_write_lock(db_path)
    try:
        with pytest.raises(CommunityError, match="busy .*try again in a minute"):
            corrections.vote(answer(11), voter_id=201, label=7, now=NOW)
        if isinstance(db_path, Path):  # at start, too: what is wrong, not "is it a SQLite file?"
            with pytest.raises(CommunityError, match=r"is locked by another program \(for more than 0.3 s\)"):
                Corrections(db_path)
    finally:
        holder.close()
    assert corrections.vote(answer(11), voter_id=201, label=7, now=NOW).status == "accepted"  # and it goes on
    corrections.close()


READ_ONLY_START = """
import sys
from pathlib import Path
from digits.community import CommunityError, Corrections
try:
    Corrections(Path(sys.argv[1]))
except CommunityError as error:
    print(error)
"""


def test_a_read_only_database_at_start_is_said_so(sqlite_path: Path) -> None:
    Corrections(sqlite_path).close()
    command = [sys.executable, "-c", READ_ONLY_START, str(sqlite_path)]
    folder = sqlite_path.parent
    if os.geteuid() == 0:  # permissions do not bind root: the folder mounted read-only in a private namespace
        remount = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"'
        command = ["unshare", "--mount", "--propagation", "private", "sh", "-c", remount, str(folder), *command]
    else:
        for path in (folder, *folder.iterdir()):
            path.chmod(path.stat().st_mode & ~0o222)
    try:
        result = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=60,
                                env={**os.environ, "PYTHONPATH": str(REPO)})
    finally:
        folder.chmod(0o755)
    assert result.stdout.strip() == (f"The corrections database {sqlite_path} is read-only: the bot must be able to "
                                     "write it and its folder."), result


def test_forget_while_a_reader_holds_a_snapshot_empties_the_wal_once_it_is_gone(sqlite_path: Path) -> None:
    corrections = Corrections(sqlite_path)
    corrections.vote(answer(11, author_id=100, shade=0.9), voter_id=200, label=7, now=NOW)
    wal = sqlite_path.with_name(sqlite_path.name + "-wal")
    marker = bytes([round(0.9 * 255)]) * 4
    reader = sqlite3.connect(f"{sqlite_path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM examples").fetchall()  # a snapshot from before the deletion (a train.py run)
    started = time.monotonic()
    assert corrections.forget(100) == 2
    assert time.monotonic() - started < 1  # the deletion does not wait for the reader
    assert marker in wal.read_bytes()  # the reader still needs the older pages
    reader.execute("COMMIT")
    reader.close()
    deadline = time.monotonic() + 10
    while wal.exists() and wal.stat().st_size and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not wal.exists() or wal.stat().st_size == 0  # emptied while the bot runs, not at its exit
    assert marker not in sqlite_path.read_bytes()
    assert corrections.vote(answer(12), voter_id=200, label=3, now=NOW).status == "pending"
    corrections.close()


def test_many_writers_at_once_keep_every_vote_and_the_rate_limit(db_path: Path | str) -> None:
    """Four handles (as four bot processes would have) vote at once; the same member's 40 votes from all of them
    keep the hourly limit exactly."""
    Corrections(db_path).close()
    handles = [Corrections(db_path, votes_per_hour=30) for _ in range(4)]
    limited, errors = [], []

    def vote(handle: Corrections, first: int) -> None:
        for message_id in range(first, first + 10):
            try:
                handle.vote(answer(message_id), voter_id=200, label=7, now=NOW)
                handle.vote(answer(message_id), voter_id=1000 + message_id, label=7, now=NOW)
            except RateLimited:
                limited.append(message_id)
            except Exception as error:  # noqa: BLE001 - reported below
                errors.append(error)

    threads = [threading.Thread(target=vote, args=(handle, 100 * k)) for k, handle in enumerate(handles)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == [] and len(limited) == 10
    assert rows(db_path, "SELECT count(*) FROM votes WHERE voter_id = 200") == [(30,)]
    assert rows(db_path, "SELECT count(*) FROM votes WHERE voter_id != 200") == [(30,)]
    for handle in handles:
        handle.close()


def test_copy_a_bots_sqlite_corrections_into_postgresql(sqlite_path: Path, postgres_url: str) -> None:
    corrections = Corrections(sqlite_path)
    for message_id, author in ((11, 100), (12, 101), (13, 102)):
        corrections.vote(answer(message_id, author_id=author), voter_id=200, label=7, now=NOW)
        corrections.vote(answer(message_id, author_id=author), voter_id=1, label=3, admin=True, now=NOW + 1)
    corrections.forget(101)  # ids with a gap, as a real database has
    corrections.close()
    copied = subprocess.run([sys.executable, "-m", "digits.community", "copy", str(sqlite_path), postgres_url],
                            capture_output=True, text=True, cwd=REPO, timeout=60)
    assert copied.returncode == 0, copied.stderr
    assert copied.stdout == f"copied 2 examples and 4 votes into {redact(postgres_url)}\n"  # no password shown
    assert rows(postgres_url, "SELECT id, message_id, author_id, image FROM examples ORDER BY id") == rows(
        sqlite_path, "SELECT id, message_id, author_id, image FROM examples ORDER BY id")
    before, after = accepted_examples(sqlite_path), accepted_examples(postgres_url)
    assert np.array_equal(before.train_images, after.train_images) and np.array_equal(before.test_labels, after.test_labels)
    target = Corrections(postgres_url)
    assert target.vote(answer(14), voter_id=200, label=1, now=NOW).example_id == 4  # new ids after the copied ones
    target.close()
    again = subprocess.run([sys.executable, "-m", "digits.community", "copy", str(sqlite_path), postgres_url],
                           capture_output=True, text=True, cwd=REPO, timeout=60)
    assert again.returncode == 1 and again.stderr.startswith("python -m digits.community: error: ")
    assert "already holds corrections: nothing was copied." in again.stderr and len(again.stderr.splitlines()) == 1
