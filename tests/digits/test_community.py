"""Community corrections in SQLite (issue 14): votes, trust, rate limit, deletion, migrations, the trainer's read."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from digits.community import (
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

NOW = 1_700_000_000.0


def answer(message_id: int, author_id: int = 100, position: int = 0, predicted: int = 1, shade: float = 0.5) -> AnsweredDigit:
    image = np.zeros((28, 28), dtype=np.float32)
    image[4:24, 12:16] = shade
    return AnsweredDigit(guild_id=7, channel_id=8, message_id=message_id, position=position, author_id=author_id,
                  image=image, model_version=3, predicted=predicted)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "digitbot.sqlite3"


@pytest.fixture
def corrections(db_path: Path) -> Iterator[Corrections]:
    opened = Corrections(db_path, quorum=2)
    yield opened
    opened.close()


def rows(path: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(path) as db:
        return db.execute(sql).fetchall()


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

def test_database_is_wal_with_schema_version(corrections: Corrections, db_path: Path) -> None:
    assert db_path.is_file()
    assert rows(db_path, "PRAGMA journal_mode") == [("wal",)]
    assert rows(db_path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]


def test_vote_stores_what_the_issue_lists_and_nothing_else(corrections: Corrections, db_path: Path) -> None:
    outcome = corrections.vote(answer(11, author_id=100, predicted=1), voter_id=200, label=7, now=NOW)
    assert (outcome.label, outcome.status, outcome.agreeing, outcome.disagreeing) == (7, "pending", 1, 0)
    [example] = rows(db_path, "SELECT guild_id, channel_id, message_id, position, author_id, model_version, predicted, "
                              "created, length(image) FROM examples")
    assert example == (7, 8, 11, 0, 100, 3, 1, NOW, 784)
    assert rows(db_path, "SELECT example_id, voter_id, label, admin, created FROM votes") == [(outcome.example_id, 200, 7, 0, NOW)]
    assert {r[1] for r in rows(db_path, "PRAGMA table_info(examples)")} == {
        "id", "guild_id", "channel_id", "message_id", "position", "author_id", "image", "model_version", "predicted", "created"}


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


def test_rate_limit_per_voter(db_path: Path) -> None:
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


def test_remove_purge_and_forget_delete_the_rows(corrections: Corrections, db_path: Path) -> None:
    corrections.vote(answer(11, author_id=100, shade=0.9), voter_id=200, label=7, now=NOW)  # 100's picture, 200's vote
    corrections.vote(answer(11, author_id=100), voter_id=201, label=7, now=NOW)
    corrections.vote(answer(12, author_id=300), voter_id=100, label=3, now=NOW)  # 100's vote on 300's
    corrections.vote(answer(12, author_id=300), voter_id=201, label=3, now=NOW)
    corrections.vote(answer(13, author_id=301), voter_id=201, label=4, now=NOW)
    content = db_path.read_bytes() + db_path.with_name(db_path.name + "-wal").read_bytes()
    assert bytes([round(0.9 * 255)]) * 4 in content  # (the check below can fail)
    assert corrections.forget(100) == 2 + 1 + 1  # the picture, both votes on it, the vote on 300's picture
    assert rows(db_path, "SELECT author_id FROM examples ORDER BY id") == [(300,), (301,)]
    assert rows(db_path, "SELECT voter_id FROM votes ORDER BY id") == [(201,), (201,)]
    assert corrections.forget(100) == 0
    assert corrections.remove(3) is True and corrections.remove(3) is False
    assert corrections.purge(201) == 1
    assert rows(db_path, "SELECT count(*) FROM votes") == [(0,)]
    corrections.close()
    # Deleted, not flagged: the rows' bytes are gone from the file (secure_delete, WAL checkpointed).
    content = db_path.read_bytes() + (db_path.with_name(db_path.name + "-wal").read_bytes()
                                      if db_path.with_name(db_path.name + "-wal").exists() else b"")
    assert bytes([round(0.9 * 255)]) * 4 not in content


def test_survives_reopening(db_path: Path) -> None:
    first = Corrections(db_path)
    first.vote(answer(11), voter_id=200, label=7, now=NOW)
    first.close()
    second = Corrections(db_path)
    assert second.vote(answer(11), voter_id=201, label=7, now=NOW).status == "accepted"
    second.close()


# Migrations, the trainer's read-only view, damaged files.

def test_migrates_a_version_1_database(db_path: Path) -> None:
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
    with pytest.raises(CommunityError, match="start the bot once"):
        accepted_examples(db_path)
    corrections = Corrections(db_path)
    assert rows(db_path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert rows(db_path, "SELECT voter_id, label, admin FROM votes") == [(200, 7, 0)]
    assert corrections.vote(answer(11), voter_id=201, label=7, now=NOW).status == "accepted"  # the old vote counts
    corrections.close()


def test_a_newer_schema_is_refused(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    with sqlite3.connect(db_path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(CommunityError, match="newer than this bot's"):
        Corrections(db_path)


def test_not_a_sqlite_file(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    db_path.write_bytes(b"these are not the votes you are looking for" * 100)
    with pytest.raises(CommunityError, match="is it a SQLite file"):
        Corrections(db_path)
    with pytest.raises(CommunityError, match="is it a SQLite file"):
        accepted_examples(db_path)


def test_no_database(tmp_path: Path) -> None:
    with pytest.raises(CommunityError, match="no corrections database"):
        accepted_examples(tmp_path / "missing.sqlite3")


def test_read_only_while_a_writer_holds_a_transaction(corrections: Corrections, db_path: Path) -> None:
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


def test_read_only_after_the_bot_closed(corrections: Corrections, db_path: Path) -> None:
    corrections.vote(answer(11), voter_id=200, label=7, now=NOW)
    corrections.vote(answer(11), voter_id=201, label=7, now=NOW)
    corrections.close()
    data = accepted_examples(db_path)
    assert len(data.train_labels) + len(data.test_labels) == 1


def test_split_by_contributor(corrections: Corrections, db_path: Path) -> None:
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
