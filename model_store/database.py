"""PostgreSQL, for whatever of the project lives in a database: the model store, the corrections and the locks.

One place knows the `postgresql://` URLs (and hides their passwords), opens connections and pools (psycopg 3,
psycopg_pool), turns libpq's errors into one line an operator can act on, and keeps each part's schema version
(`digitbot_schema`) with the migrations that bring it up to date.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import socket
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:  # the driver is imported where a database is used: a store in a folder never loads it
    import psycopg
    from psycopg_pool import ConnectionPool

log = logging.getLogger(__name__)

SCHEMES = ("postgresql://", "postgres://")
CONNECT_TIMEOUT = 5  # seconds to reach the server before a connection attempt is given up
LOCK_TIMEOUT_MS = 10_000  # a lock held longer than this by another session or program (SQLite: its busy timeout) fails
POOL_TIMEOUT = 3.0  # seconds a caller waits for a pooled connection (the server down: an error after this long)
# One transaction-level advisory lock (two-int form) serialises migrations of every part, in every process.
_MIGRATION_LOCK = (0x64627400, 0)


class DatabaseError(RuntimeError):
    """The database cannot be used; the message says why in one line, without the password."""


def is_database_url(location: object) -> bool:
    """Whether a store or database location names PostgreSQL (`postgresql://…` or `postgres://…`)."""
    return isinstance(location, str) and location.startswith(SCHEMES)


def redact(url: str) -> str:
    """The URL without its password, for logs, messages and command lines."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}@{host}"))


def password_of(url: str) -> str | None:
    return urlsplit(url).password


def describe(error: BaseException, url: str) -> str:
    """One line for an error of connecting to (or using) the database at `url`."""
    import psycopg
    from psycopg_pool import PoolTimeout
    where = redact(url)
    text = str(error).strip()
    parts = urlsplit(url)
    if isinstance(error, PoolTimeout):
        return f"PostgreSQL at {where} did not answer within {POOL_TIMEOUT:g} s (is the server running?)"
    if "password authentication failed" in text or "no password supplied" in text:
        return f"PostgreSQL at {where} refused the password of user {parts.username or os.environ.get('PGUSER', '?')!r}"
    if "Connection refused" in text:
        return f"nothing answers at {where} (connection refused: is PostgreSQL running there?)"
    if "failed to resolve host" in text or "could not translate host name" in text:
        return f"cannot find the host of {where} ({parts.hostname})"
    if match := re.search(r'database "([^"]+)" does not exist', text):
        return f"PostgreSQL at {where} has no database {match.group(1)!r} (create it with: createdb {match.group(1)})"
    if "timeout expired" in text:
        return f"PostgreSQL at {where} did not answer within {CONNECT_TIMEOUT} s"
    if isinstance(error, psycopg.ProgrammingError) or "connection option" in text or "invalid URI" in text or "missing \"=\"" in text:
        return f"{where} is not a PostgreSQL URL one can connect with ({_first_line(text)})"
    if isinstance(error, psycopg.errors.InsufficientPrivilege):
        return f"PostgreSQL at {where} refused: {_first_line(text)}"
    return f"PostgreSQL at {where}: {_first_line(text)}"


def _first_line(text: str) -> str:
    """libpq's message without its prefixes and hints: `connection failed: connection to server … failed: FATAL:  x` → x."""
    line = text.strip().splitlines()[0] if text.strip() else "unknown error"
    line = re.sub(r"^(connection failed: |connection is bad: )", "", line)
    line = re.sub(r'^connection to server at "[^"]*"(, port \d+)? failed: ', "", line)
    return re.sub(r"^(FATAL|ERROR):\s+", "", line).rstrip()


def application_name(role: str) -> str:
    """What the server shows for our connections (pg_stat_activity): the role, the host and the process."""
    return f"digitbot {role} {socket.gethostname()}:{os.getpid()}"[:63]


def connect(url: str, role: str, *, autocommit: bool = True) -> psycopg.Connection[tuple[object, ...]]:
    """One connection of its own (for a listener or a lock); DatabaseError with one line if it cannot be had."""
    import psycopg
    try:
        return psycopg.connect(url, autocommit=autocommit, connect_timeout=CONNECT_TIMEOUT,
                               application_name=application_name(role))
    except psycopg.Error as error:
        raise DatabaseError(describe(error, url)) from None


def _configure(connection: psycopg.Connection[tuple[object, ...]]) -> None:
    # A transaction is acknowledged only once it is on the server's disk, whatever the server's default says; and a
    # lock another session holds too long is an error (LockNotAvailable), not a wait without end.
    connection.execute("SET synchronous_commit = on")
    connection.execute(f"SET lock_timeout = {int(LOCK_TIMEOUT_MS)}")
    connection.commit()


def open_pool(url: str, role: str, max_size: int = 4) -> ConnectionPool:
    """A pool of connections, checked before use (a server that went away and came back costs no failed call).

    The first connection is made now, so that a wrong URL or password is one clear DatabaseError at start.
    """
    from psycopg_pool import ConnectionPool
    connect(url, role).close()
    logging.getLogger("psycopg.pool").setLevel(logging.ERROR)  # its every reconnection attempt; ours say it in one line
    pool = ConnectionPool(url, min_size=1, max_size=max_size, open=False, timeout=POOL_TIMEOUT, name=role,
                          kwargs={"connect_timeout": CONNECT_TIMEOUT, "application_name": application_name(role)},
                          configure=_configure, check=ConnectionPool.check_connection, reconnect_timeout=24 * 3600)
    pool.open(wait=False)
    return pool


@contextlib.contextmanager
def transaction(pool: ConnectionPool, url: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """A pooled connection inside one transaction (committed at the end of the block, rolled back on error).

    A connection that fails (the server gone) is a DatabaseError with one line; SQL errors are left to the caller.
    """
    import psycopg
    from psycopg_pool import PoolTimeout
    try:
        with pool.connection() as connection, connection.transaction():
            yield connection
    except (psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout) as error:
        if not is_connection_error(error):
            raise
        if isinstance(error, PoolTimeout):
            connect(url, "probe").close()  # why no connection could be had, in libpq's words (DatabaseError)
        raise DatabaseError(describe(error, url)) from None


def is_connection_error(error: BaseException) -> bool:
    """Whether an error means the server could not be reached or went away (not that the SQL was refused)."""
    import psycopg
    from psycopg_pool import PoolTimeout
    if isinstance(error, PoolTimeout | psycopg.InterfaceError):
        return True
    state = getattr(error, "sqlstate", None)
    return isinstance(error, psycopg.OperationalError) and (state is None or state.startswith(("08", "57P")))


# -- schema versions -------------------------------------------------------------------------------------------

Migration: TypeAlias = Callable[["psycopg.Connection[tuple[object, ...]]"], None]


def statements(*texts: str) -> Migration:
    """A migration made of SQL statements run in order."""
    def run(connection: psycopg.Connection[tuple[object, ...]]) -> None:
        from psycopg import sql

        for text in texts:
            connection.execute(sql.SQL(text))  # type: ignore[arg-type]  # our own constant SQL

    return run


def schema_version(connection: psycopg.Connection[tuple[object, ...]], part: str) -> int:
    """The schema version of one part of the database (0 when it has none yet)."""
    found = connection.execute("SELECT to_regclass('digitbot_schema') IS NOT NULL").fetchone()
    if not found or not found[0]:
        return 0
    row = connection.execute("SELECT version FROM digitbot_schema WHERE part = %s", (part,)).fetchone()
    return 0 if row is None else int(row[0])  # type: ignore[call-overload]


def migrate(connection: psycopg.Connection[tuple[object, ...]], part: str, migrations: Sequence[Migration],
            newer: Callable[[int], str]) -> None:
    """Bring `part` up to `len(migrations)` in one transaction (every process may try at once: one does it).

    `migrations[n]` takes the part from version n to n + 1. A database at a newer version than the code raises
    DatabaseError with `newer(found_version)`.
    """
    with connection.transaction():
        connection.execute("SELECT pg_advisory_xact_lock(%s, %s)", _MIGRATION_LOCK)
        connection.execute("CREATE TABLE IF NOT EXISTS digitbot_schema (part text PRIMARY KEY, version integer NOT NULL)")
        version = schema_version(connection, part)
        if version > len(migrations):
            raise DatabaseError(newer(version))
        for step in migrations[version:]:
            step(connection)
        if version < len(migrations):
            connection.execute("INSERT INTO digitbot_schema (part, version) VALUES (%s, %s) ON CONFLICT (part) "
                               "DO UPDATE SET version = excluded.version", (part, len(migrations)))
            log.info("database: the %s schema from version %d to %d", part, version, len(migrations))


def location_text(location: str | Path) -> str:
    """A store or database location as people are shown it: a path, or a URL without its password."""
    return redact(location) if isinstance(location, str) and is_database_url(location) else str(location)
