"""The model store in PostgreSQL, for a bot on several machines: versions as rows, the served version one row.

    model_versions   version, weights (the Keras .weights.h5 file's bytes), card (model.json's text), saved
    model_serving    one row: the served version, the history before it, a generation counted up at each change
    model_notes      name, text: work in progress a start must resume (the first start's robust upgrade)

A version is one INSERT (whole or not at all: a trainer killed mid-save leaves nothing); versions are numbered under
a table lock, so concurrent savers get distinct numbers. Promotion and rollback are one transaction that also
NOTIFYs `digitbot_model_store`: every serving process LISTENs (`changes`) and follows at once, and polls as well,
so that a lost connection delays a switch by one interval at most and never freezes it. Loading checks the weights'
SHA-256 against the card and their shapes against the spec, as the folder store does.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import tempfile
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
from psycopg_pool import ConnectionPool

from model_store.database import (
    CONNECT_TIMEOUT,
    DatabaseError,
    application_name,
    describe,
    migrate,
    open_pool,
    redact,
    statements,
    transaction,
)
from model_store.locks import AdvisoryLock, Lock
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

CHANNEL = "digitbot_model_store"  # NOTIFY'd at every promotion and rollback; the payload is the served version

SCHEMA = (
    statements(
        """CREATE TABLE model_versions (
            version integer PRIMARY KEY CHECK (version >= 1),
            weights bytea NOT NULL,
            card text NOT NULL,
            saved timestamptz NOT NULL DEFAULT now())""",
        """CREATE TABLE model_serving (
            only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
            version integer NOT NULL REFERENCES model_versions (version),
            history integer[] NOT NULL,
            generation bigint NOT NULL,
            changed timestamptz NOT NULL DEFAULT now())""",
    ),
    statements("CREATE TABLE model_notes (name text PRIMARY KEY, text text NOT NULL)"),
)

Connection = psycopg.Connection[tuple[object, ...]]


class PostgresStore(ModelStore, database=True):
    """Integer versions as rows of a PostgreSQL database, one of them served. Thread-safe (a pool of connections)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.location = redact(url)
        self._pool: ConnectionPool | None = None
        self._guard = threading.Lock()

    # -- connections ---------------------------------------------------------------------------

    def _opened(self) -> ConnectionPool:
        with self._guard:
            if self._pool is None:
                try:
                    pool = open_pool(self.url, "model store")
                except DatabaseError as error:
                    raise StoreError(f"model store: {error}") from None
                try:
                    with pool.connection() as connection:
                        migrate(connection, "model_store", SCHEMA, self._newer)
                except (DatabaseError, psycopg.Error) as error:
                    pool.close()
                    raise StoreError(f"model store: {error}".splitlines()[0]) from None
                self._pool = pool
            return self._pool

    def _newer(self, version: int) -> str:
        return (f"the model store in {self.location} has schema version {version}, newer than this code's "
                f"{len(SCHEMA)}: update digitbot")

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Connection]:
        try:
            with transaction(self._opened(), self.url) as connection:
                yield connection
        except DatabaseError as error:
            raise StoreError(f"model store: {error}") from None

    def connect(self) -> None:
        self._opened()

    def close(self) -> None:
        with self._guard:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()

    # -- reading -------------------------------------------------------------------------------

    def versions(self) -> list[int]:
        with self._transaction() as db:
            return [int(v) for (v,) in db.execute("SELECT version FROM model_versions ORDER BY version")]  # type: ignore[call-overload]

    def card(self, version: int) -> ModelCard:
        with self._transaction() as db:
            row = db.execute("SELECT card FROM model_versions WHERE version = %s", (version,)).fetchone()
        if row is None:
            raise CorruptVersionError(f"version {version} does not exist")
        return _card(version, str(row[0]))

    def pointer(self) -> Pointer:
        with self._transaction() as db:
            row = db.execute("SELECT version, history FROM model_serving").fetchone()
        if row is None:
            return Pointer(None, ())
        version, history = row
        assert isinstance(version, int) and isinstance(history, list)
        return Pointer(version, tuple(history))

    def pointer_stamp(self) -> tuple[int, int] | None:
        with self._transaction() as db:
            row = db.execute("SELECT version, generation FROM model_serving").fetchone()
        return None if row is None else (int(row[0]), int(row[1]))  # type: ignore[call-overload]

    def load(self, version: int) -> LoadedModel:
        weights, card = self._verified(version)
        return LoadedModel(version, read_weights(weights, card.architecture, f"version {version}"), card)

    def weights_of(self, version: int) -> tuple[bytes, ModelCard]:
        weights, card = self._verified(version)
        read_weights(weights, card.architecture, f"version {version}")
        return weights, card

    def _verified(self, version: int) -> tuple[bytes, ModelCard]:
        with self._transaction() as db:
            row = db.execute("SELECT weights, card FROM model_versions WHERE version = %s", (version,)).fetchone()
        if row is None:
            raise CorruptVersionError(f"version {version} does not exist")
        weights, text = bytes(row[0]), str(row[1])  # type: ignore[call-overload]
        card = _card(version, text)
        if hashlib.sha256(weights).hexdigest() != card.weights_sha256:
            raise CorruptVersionError(f"version {version}: the weights do not match their SHA-256 (corrupted or truncated)")
        return weights, card

    # -- writing -------------------------------------------------------------------------------

    def check_writable(self) -> None:
        with self._transaction() as db:
            row = db.execute("SELECT current_user, has_table_privilege('model_versions', 'INSERT') "
                             "AND has_table_privilege('model_serving', 'INSERT, UPDATE')").fetchone()
        if row is None or not row[1]:
            raise StoreError(f"model store {self.location} is not writable (user {row[0] if row else '?'} may not write "
                             "its tables)")

    @contextlib.contextmanager
    def staging(self) -> Iterator[Path]:
        """A private folder on this machine (the versions themselves go to the database)."""
        with tempfile.TemporaryDirectory(prefix="digitbot-staging-") as folder:
            yield Path(folder)

    def save(self, weights_file: Path, card: ModelCard, promote: bool = True) -> int:
        try:
            weights = weights_file.read_bytes()
        except OSError as error:
            raise StoreError(f"cannot read {weights_file}: {error.strerror or error}") from None
        read_weights(weights, card.architecture, str(weights_file))  # refuse to store weights the spec cannot load
        card = card.with_weights_sha256(hashlib.sha256(weights).hexdigest())
        with self._transaction() as db:
            db.execute("LOCK TABLE model_versions IN SHARE ROW EXCLUSIVE MODE")  # one numbering at a time
            row = db.execute("SELECT coalesce(max(version), 0) + 1 FROM model_versions").fetchone()
            assert row is not None
            version = int(row[0])  # type: ignore[call-overload]
            db.execute("INSERT INTO model_versions (version, weights, card) VALUES (%s, %s, %s)",
                       (version, weights, _card_text(card)))
        log.info("model store %s: saved version %d", self.location, version)
        if promote:
            self.promote(version)
        return version

    def add(self, version: int, weights: bytes, card: ModelCard) -> None:
        read_weights(weights, card.architecture, f"version {version}")
        card = card.with_weights_sha256(hashlib.sha256(weights).hexdigest())
        try:
            with self._transaction() as db:
                db.execute("INSERT INTO model_versions (version, weights, card) VALUES (%s, %s, %s)",
                           (version, weights, _card_text(card)))
        except psycopg.errors.UniqueViolation:
            raise StoreError(f"version {version} already exists in {self.location}") from None

    @contextlib.contextmanager
    def _pointer_transaction(self) -> Iterator[tuple[Pointer, PointerWriter]]:
        with self._transaction() as db:
            db.execute("LOCK TABLE model_serving IN EXCLUSIVE MODE")  # readers go on; other switches wait
            row = db.execute("SELECT version, history FROM model_serving").fetchone()
            pointer = Pointer(None, ()) if row is None else Pointer(int(row[0]), tuple(row[1]))  # type: ignore[call-overload, arg-type]

            def write(version: int, history: list[int]) -> None:
                db.execute(
                    "INSERT INTO model_serving (version, history, generation) VALUES (%s, %s, 1) ON CONFLICT (only_row) "
                    "DO UPDATE SET version = excluded.version, history = excluded.history, "
                    "generation = model_serving.generation + 1, changed = now()", (version, history))
                db.execute("SELECT pg_notify(%s, %s)", (CHANNEL, str(version)))  # delivered at commit

            yield pointer, write

    def note(self, name: str) -> str | None:
        with self._transaction() as db:
            row = db.execute("SELECT text FROM model_notes WHERE name = %s", (name,)).fetchone()
        return None if row is None else str(row[0])

    def set_note(self, name: str, text: str | None) -> None:
        with self._transaction() as db:
            if text is None:
                db.execute("DELETE FROM model_notes WHERE name = %s", (name,))
            else:
                db.execute("INSERT INTO model_notes (name, text) VALUES (%s, %s) "
                           "ON CONFLICT (name) DO UPDATE SET text = excluded.text", (name, text))

    def lock(self, name: str) -> Lock:
        return AdvisoryLock(self.url, name)

    def handover(self) -> tuple[list[str], dict[str, str]]:
        return [], {"MODEL_STORE": self.url}

    # -- following -----------------------------------------------------------------------------

    async def changes(self, interval: float) -> AsyncIterator[None]:
        """LISTENs on a connection of its own and yields at each NOTIFY; polls the pointer every `interval` seconds
        too, so that nothing is missed while that connection is lost (it is made again, and the loss logged once)."""
        seen = await asyncio.to_thread(self._stamp_or_unknown)
        listener: psycopg.AsyncConnection[tuple[object, ...]] | None = None
        lost = False
        try:
            while True:
                if listener is None:
                    listener = await self._listen()
                    if listener is None and not lost:
                        log.warning("model store %s: cannot LISTEN for promotions; polling every %g s until it can",
                                    self.location, interval)
                    elif listener is not None and lost:
                        log.info("model store %s: listening for promotions again", self.location)
                    lost = listener is None
                if listener is None:
                    await asyncio.sleep(interval)
                else:
                    try:
                        async for _ in listener.notifies(timeout=interval, stop_after=1):
                            pass
                        await listener.execute("SELECT 1")  # a connection lost without a word shows here
                    except psycopg.Error as error:
                        log.warning("model store %s: lost the connection that listens for promotions (%s); polling "
                                    "every %g s until it is back", self.location, describe(error, self.url), interval)
                        await listener.close()
                        listener, lost = None, True
                stamp = await asyncio.to_thread(self._stamp_or_unknown)
                if stamp is not None and stamp != seen:
                    seen = stamp
                    yield
        finally:
            if listener is not None:
                await listener.close()

    async def _listen(self) -> psycopg.AsyncConnection[tuple[object, ...]] | None:
        try:
            listener = await psycopg.AsyncConnection.connect(
                self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT, application_name=application_name("listener"))
        except psycopg.Error:
            return None
        try:
            await listener.execute(f"LISTEN {CHANNEL}")
        except psycopg.Error:
            await listener.close()
            return None
        return listener

    def _stamp_or_unknown(self) -> object:
        """The pointer's stamp; None when the database cannot be asked (nothing is concluded from that)."""
        try:
            return ("stamp", self.pointer_stamp())
        except StoreError:
            return None


def _card(version: int, text: str) -> ModelCard:
    try:
        return ModelCard.from_json(json.loads(text))
    except CardError as error:
        raise CorruptVersionError(f"version {version}: its card is not a model card ({error})") from None
    except ValueError as error:
        raise CorruptVersionError(f"version {version}: unreadable card ({error})") from None


def _card_text(card: ModelCard) -> str:
    return json.dumps(card.to_json(), indent=2) + "\n"
