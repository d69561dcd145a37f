"""A store (and its locks) in PostgreSQL (issue 23): following promotions, faults and bad input in one line each,
`python -m model_store copy`, and the locks every process sees, on a real server and real processes."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from model_store import FolderStore, LockBusy, ModelStore, StoreError, open_lock
from model_store.postgres import PostgresStore
from model_store.database import migrate
from model_store.files import sha256_file
from model_store.postgres import SCHEMA
from model_store.store import opened
from tests.fixtures.mnist import REPO
from tests.fixtures.models import TINY_SPEC, model_card, write_weights
from tests.fixtures.postgres import Relay, Server

FOLLOW_WITHIN = 0.5  # seconds: the promise for a PostgreSQL store


@pytest.fixture
def weights(tmp_path: Path) -> Path:
    return write_weights(tmp_path / "source.weights.h5")


@pytest.fixture
def database(postgres_url: str) -> Iterator[PostgresStore]:
    store = ModelStore(postgres_url)
    assert isinstance(store, PostgresStore)
    yield store
    store.close()


def model_store_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "MODEL_STORE"}
    return subprocess.run([sys.executable, "-m", "model_store", *args], capture_output=True, text=True, cwd=REPO,
                          env=env, timeout=60)


async def next_change(changes, timeout: float) -> float:
    """Seconds until `changes` yields (TimeoutError after `timeout`)."""
    started = time.perf_counter()
    await asyncio.wait_for(anext(changes), timeout)
    return time.perf_counter() - started


def listeners(admin: psycopg.Connection[tuple[object, ...]], name: str) -> int:
    """How many of the store's listening connections to database `name` have sent their LISTEN."""
    row = admin.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND application_name LIKE "
                        "'digitbot listener%%' AND query <> ''", (name,)).fetchone()
    return int(row[0]) if row else 0


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait until `condition()` holds (AssertionError after `timeout` seconds)."""
    deadline = time.perf_counter() + timeout
    while not condition():
        assert time.perf_counter() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_a_promotion_from_another_process_is_followed_at_once(
        database: PostgresStore, weights: Path, postgres_admin: psycopg.Connection[tuple[object, ...]]) -> None:
    for accuracy in (0.9, 0.91, 0.92):
        database.save(weights, model_card(TINY_SPEC, accuracy), promote=False)
    database.promote(1)
    changes = database.changes(interval=30.0)  # polling alone would take 30 s: only the NOTIFY can be this quick
    waiting = asyncio.create_task(next_change(changes, FOLLOW_WITHIN + 10))
    await until(lambda: listeners(postgres_admin, database.url.rsplit("/", 1)[1]) == 1)
    promoted = await asyncio.to_thread(model_store_cli, "--store", database.url, "promote", "3")
    assert promoted.returncode == 0, promoted.stderr
    await waiting
    assert database.current() == 3
    await changes.aclose()


async def test_a_lost_listening_connection_neither_freezes_nor_stops_following(
        database: PostgresStore, weights: Path, postgres_admin: psycopg.Connection, caplog: pytest.LogCaptureFixture) -> None:
    name = database.url.rsplit("/", 1)[1]
    for _ in range(3):
        database.save(weights, model_card(TINY_SPEC), promote=False)
    database.promote(1)
    changes = database.changes(interval=0.2)
    first = asyncio.create_task(next_change(changes, 10))
    await until(lambda: listeners(postgres_admin, name) == 1)
    dropped = postgres_admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name "
                                     "LIKE 'digitbot listener%%' AND datname = %s", (name,)).fetchall()
    assert dropped == [(True,)]  # the server dropped the listening connection
    await until(lambda: "lost the connection that listens for promotions" in caplog.text)
    database.promote(2)
    await first  # polling saw it
    await asyncio.to_thread(database.promote, 3)
    await next_change(changes, 10)
    await changes.aclose()
    assert "lost the connection that listens for promotions" in caplog.text


async def test_a_server_that_goes_away_and_comes_back(relay: Relay, postgres_url: str, weights: Path,
                                                      postgres_admin: psycopg.Connection[tuple[object, ...]]) -> None:
    """Through a relay that can be cut like a server that went away: one line while it is away, the served
    version still followed once it is back."""
    name = postgres_url.rsplit("/", 1)[1]
    store = ModelStore(relay.url(name))
    for _ in range(2):
        store.save(weights, model_card(TINY_SPEC), promote=False)
    store.promote(1)
    changes = store.changes(interval=0.2)
    waiting = asyncio.create_task(next_change(changes, 15))
    await until(lambda: listeners(postgres_admin, name) == 1)
    relay.cut()
    with pytest.raises(StoreError) as away:
        await asyncio.to_thread(store.current)
    assert len(str(away.value).splitlines()) == 1 and "connection refused" in str(away.value)
    assert relay.server.password not in str(away.value)
    await asyncio.sleep(0.5)
    relay.restore()
    with opened(postgres_url) as other:
        other.promote(2)
    await waiting
    assert await asyncio.to_thread(store.current) == 2
    await changes.aclose()
    store.close()


def test_a_store_at_an_older_schema_is_brought_up_to_date_keeping_its_versions(postgres_url: str, weights: Path) -> None:
    """A database made by the first schema (versions and the pointer, no notes yet) is migrated when opened."""
    with psycopg.connect(postgres_url) as db:
        migrate(db, "model_store", SCHEMA[:1], str)
        db.execute("INSERT INTO model_versions (version, weights, card) VALUES (1, %s, %s)",
                   (weights.read_bytes(), json.dumps(model_card(TINY_SPEC).with_weights_sha256(sha256_file(weights)).to_json())))
        db.execute("INSERT INTO model_serving (version, history, generation) VALUES (1, '{}', 1)")
    with opened(postgres_url) as store:
        assert store.versions() == [1] and store.load_served().version == 1
        store.set_note(".first-start-upgrade", "resumed\n")
        assert store.note(".first-start-upgrade") == "resumed\n"
    with psycopg.connect(postgres_url) as db:
        assert db.execute("SELECT version FROM digitbot_schema WHERE part = 'model_store'").fetchone() == (len(SCHEMA),)


def test_bad_urls_and_faults_are_one_line(postgres_server: Server, postgres_url: str, database: PostgresStore,
                                          weights: Path) -> None:
    name = postgres_url.rsplit("/", 1)[1]
    wrong_password = postgres_server.url(name, password="not-the-password")
    cases = {
        wrong_password: "refused the password of user 'digitbot'",
        f"postgresql://digitbot:pw@127.0.0.1:{postgres_server.port + 1 if postgres_server.port < 65535 else 1}/x":
            "connection refused",
        postgres_server.url("no_such_database"): "has no database 'no_such_database'",
        "postgresql://digitbot@127.0.0.1:5432/x?nonsense=1": "is not a PostgreSQL URL",
        "mysql://digitbot:pw@127.0.0.1/x": "neither a folder nor a postgresql:// URL",
    }
    for url, message in cases.items():
        result = model_store_cli("--store", url, "list")
        assert result.returncode == 1 and result.stdout == "", (url, result)
        assert len(result.stderr.splitlines()) == 1 and message in result.stderr, (url, result.stderr)
        assert "not-the-password" not in result.stderr and ":pw@" not in result.stderr

    database.save(weights, model_card(TINY_SPEC))
    with psycopg.connect(postgres_url, autocommit=True) as db:
        db.execute("UPDATE digitbot_schema SET version = %s WHERE part = 'model_store'", (len(SCHEMA) + 1,))
    newer = model_store_cli("--store", postgres_url, "list")
    assert newer.returncode == 1 and newer.stderr.splitlines() == [
        f"python -m model_store: error: model store: the model store in {database.location} "
        f"has schema version {len(SCHEMA) + 1}, newer than this code's {len(SCHEMA)}: update digitbot"]


def test_copy_moves_a_folder_store_to_postgresql_and_back(tmp_path: Path, database: PostgresStore, weights: Path) -> None:
    folder = FolderStore(tmp_path / "models")
    for accuracy in (0.9, 0.91, 0.92):
        folder.save(weights, model_card(TINY_SPEC, accuracy))
    folder.rollback()  # serving 2, history [1]
    (folder.root / "3" / "model.weights.h5").write_bytes(b"damaged")

    copied = model_store_cli("copy", str(folder.root), database.url)
    assert copied.returncode == 0, copied.stderr
    assert copied.stdout.splitlines() == [
        "skipped version 3: version 3: model.weights.h5 does not match its SHA-256 (corrupted or truncated)",
        "copied version 1", "copied version 2", f"{database.location} serves version 2, as {folder.location} does"]
    assert database.versions() == [1, 2] and database.pointer().version == 2 and database.pointer().history == (1,)
    for version in (1, 2):
        assert database.weights_of(version) == folder.weights_of(version)

    again = model_store_cli("copy", str(folder.root), database.url)  # once more: only what is missing
    assert again.returncode == 0 and "copied" not in again.stdout and "version 1 is already there" in again.stdout

    back = tmp_path / "back"
    returned = model_store_cli("copy", database.url, str(back))
    assert returned.returncode == 0, returned.stderr
    assert FolderStore(back).versions() == [1, 2] and FolderStore(back).current() == 2

    other = FolderStore(tmp_path / "other")
    other.save(write_weights(tmp_path / "other.h5", seed=7), model_card(TINY_SPEC))
    clash = model_store_cli("copy", str(other.root), database.url)
    assert clash.returncode == 1 and clash.stderr.splitlines() == [
        f"python -m model_store: error: version 1 exists in {database.location} with other weights: nothing copied"]
    assert database.versions() == [1, 2]


# -- the locks: a file lock in a folder, an advisory lock in PostgreSQL ------------------------------------------

HOLD = """
import sys, time
from model_store import open_lock
location = sys.argv[1] if "://" in sys.argv[1] else __import__("pathlib").Path(sys.argv[1])
lock = open_lock(location, "trainer")
lock.acquire("carol's retrain")
print("held", flush=True)
time.sleep(600)
"""


def test_one_holder_at_a_time_and_a_killed_holder_lets_go(store_location: Path | str) -> None:
    mine = open_lock(store_location, "trainer")
    assert mine.holder() is None
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(store_location)], stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert not mine.try_acquire("dave")
        held = mine.holder()
        assert held is not None and held.who == "carol's retrain" and held.process.endswith(f":{holder.pid}")
        with pytest.raises(LockBusy, match=f"carol's retrain, since .* UTC, on process .*:{holder.pid}"):
            mine.acquire("dave", timeout=0.1)
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
        mine.acquire("dave", timeout=10)  # the server (or the kernel) let go of the dead holder's lock
        assert mine.holder().who == "dave"
        other = open_lock(store_location, "trainer")
        assert not other.try_acquire("erin")
        assert open_lock(store_location, "identify-0").try_acquire("shard 0")  # another name, another lock
        mine.release()
        assert mine.holder() is None and other.try_acquire("erin")
        other.release()
    finally:
        holder.kill()
        holder.wait(timeout=10)
        holder.stdout.close()


async def test_waiting_for_a_lock_in_an_event_loop(store_location: Path | str) -> None:
    first, second = open_lock(store_location, "identify-1"), open_lock(store_location, "identify-1")
    await first.acquire_async("shard 1")
    waiting = asyncio.create_task(second.acquire_async("shard 3", timeout=10))
    await asyncio.sleep(0.2)
    assert not waiting.done()
    await asyncio.to_thread(first.release)
    await waiting
    assert (await asyncio.to_thread(second.holder)).who == "shard 3"
    with pytest.raises(LockBusy):
        await first.acquire_async("shard 1", timeout=0.1)
    second.release()
